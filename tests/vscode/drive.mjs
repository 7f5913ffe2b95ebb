// Drives a real VS Code (code-server in headless Chromium) through the Switchboard extension,
// with the keyboard and mouse as a user would, for tests/test_vscode.py.
//
//   node tests/vscode/drive.mjs '{"url": ..., "file": "calc.py", "artifacts": DIR, "chromium": PATH}'
//
// Prints one JSON object (what was seen at each step) as its last line of stdout; progress goes
// to stderr. On failure it saves artifacts/vscode-failure.png and exits 1.
// What the selectors and waits below rely on is in ../../../shared/ENVIRONMENT.md (VS Code).

import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import puppeteer from 'puppeteer-core';

const options = JSON.parse(process.argv[2]);
const STATUS_ITEM = '[id="switchboard.switchboard.switchboard.status"]';
const started = Date.now();
const seen = { steps: {} };

function log(message) {
  process.stderr.write(`[drive ${((Date.now() - started) / 1000).toFixed(1)}s] ${message}\n`);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Poll `probe` until it returns something truthy; the error names what was awaited. */
async function until(what, probe, timeoutMs = 20_000, everyMs = 100) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await probe();
      if (last) return last;
    } catch (error) {
      last = error;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${String(last)})`);
}

async function step(name, run) {
  const t0 = Date.now();
  log(`${name}…`);
  const result = await run();
  seen.steps[name] = { ms: Date.now() - t0 };
  log(`${name} done in ${Date.now() - t0} ms`);
  return result;
}

/** Text as the editor renders it (U+00A0 for spaces), made plain. */
const plain = (text) => (text ?? '').replace(/\u00a0/g, ' ');

async function statusBarText(page) {
  return page.$eval(STATUS_ITEM, (el) => el.textContent.trim()).catch(() => '');
}

async function statusBarIcon(page) {
  return page.$eval(STATUS_ITEM, (el) => el.querySelector('.codicon')?.className ?? '').catch(() => '');
}

/** Lines of the active editor that are rendered, top to bottom. */
async function editorLines(page) {
  return page.$$eval('.editor-group-container.active .monaco-editor .view-lines .view-line', (lines) =>
    lines
      .map((line) => ({ top: line.getBoundingClientRect().top, text: line.textContent }))
      .sort((a, b) => a.top - b.top)
      .map((line) => line.text),
  ).then((lines) => lines.map(plain));
}

/** Type into the palette or Quick Open and press Enter only once the focused row is `label`. */
async function pick(page, opener, query, label) {
  await opener();
  await page.waitForSelector('.quick-input-widget', { visible: true });
  await page.keyboard.type(query, { delay: 10 });
  await until(`"${label}" focused in the quick pick`, () =>
    page.$eval('.quick-input-widget .monaco-list-row.focused .label-name', (el) => el.textContent.trim())
      .then((text) => plain(text) === label),
  );
  await page.keyboard.press('Enter');
  await until('the quick pick to close', () =>
    page.$eval('.quick-input-widget', (el) => getComputedStyle(el).display === 'none').catch(() => true),
  );
}

async function chord(page, ...keys) {
  for (const key of keys.slice(0, -1)) await page.keyboard.down(key);
  await page.keyboard.press(keys[keys.length - 1]);
  for (const key of keys.slice(0, -1).reverse()) await page.keyboard.up(key);
}

/** Ctrl+G "LINE:COLUMN": the cursor goes there (the input has no rows to wait for). */
async function goToLine(page, where) {
  await chord(page, 'Control', 'g');
  await page.waitForSelector('.quick-input-widget', { visible: true });
  await page.keyboard.type(where, { delay: 10 });
  await sleep(200);
  await page.keyboard.press('Enter');
  await until('the go-to-line input to close', () =>
    page.$eval('.quick-input-widget', (el) => getComputedStyle(el).display === 'none').catch(() => true),
  );
}

async function palette(page, command) {
  await pick(page, () => page.keyboard.press('F1'), command, command);
}

async function problemsRows(page) {
  return page.$$eval('.markers-panel .monaco-list-row', (rows) =>
    rows.map((row) => ({
      message: row.querySelector('.marker-message')?.textContent?.trim() ?? '',
      source: row.querySelector('.marker-source')?.textContent?.trim() ?? '',
      line: row.querySelector('.marker-line')?.textContent?.trim() ?? '',
      text: row.textContent.trim(),
    })),
  ).then((rows) => rows.filter((row) => row.message));
}

/** Pids of the Switchboard servers whose command line holds `marker` (the test's config path). */
function serverPids(marker) {
  const pids = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (argv.includes('lsp') && argv.includes(marker)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

async function notifications(page) {
  return page.$$eval('.notification-list-item-message', (items) => items.map((el) => el.textContent.trim()));
}

async function main() {
  mkdirSync(options.artifacts, { recursive: true });
  const browser = await puppeteer.launch({
    executablePath: options.chromium,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', `--user-data-dir=${options.profile}`],
    defaultViewport: { width: 1400, height: 900 },
  });
  const page = await browser.newPage();
  page.setDefaultTimeout(30_000);
  try {
    const scenarios = { broken: runBroken, complete: runComplete };
    await (scenarios[options.scenario] ?? run)(page);
  } catch (error) {
    seen.error = String(error?.stack ?? error);
    await page.screenshot({ path: join(options.artifacts, 'vscode-failure.png') }).catch(() => undefined);
    seen.failureScreenshot = join(options.artifacts, 'vscode-failure.png');
    seen.statusBar = await statusBarText(page);
    seen.notificationsAtFailure = await notifications(page).catch(() => []);
    throw error;
  } finally {
    await browser.close();
    process.stdout.write(`${JSON.stringify(seen)}\n`);
  }
}

/** The workbench with the server up (the status bar idle), then `options.file` in the editor. */
async function openFile(page, firstLine) {
  await step('load workbench', async () => {
    await page.goto(`${options.url}/?folder=${encodeURIComponent(options.workspace)}`);
    await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
    // The server is up once the status bar item leaves its "starting" spinner.
    await until('the Switchboard status bar item to show the idle server', async () =>
      (await statusBarIcon(page)).includes('codicon-radio-tower'), 60_000);
    seen.statusAtStart = await statusBarText(page);
  });

  // Keyboard focus into the page, then the mouse out of the way: any move over code would
  // ask for a hover before the test means to.
  await page.mouse.click(700, 450);
  await page.mouse.move(5, 600);

  await step('open the file', async () => {
    await pick(page, () => chord(page, 'Control', 'p'), options.file, options.file);
    await until('the file in the editor', async () => (await editorLines(page)).some((line) => line.startsWith(firstLine)));
  });
}

/** Save (Ctrl+S) and wait for the tab to lose its dirty mark: the test reads the file. */
async function save(page) {
  await chord(page, 'Control', 's');
  await until('the file saved', async () => !(await page.$('.tab.active.dirty')));
}

/** The routing stats page, opened from the status bar item: its text. */
async function statsPage(page) {
  await page.click(STATUS_ITEM);
  return until('the stats webview', async () => {
    for (const frame of page.frames()) {
      const text = await frame.evaluate(() => document.body?.innerText ?? '').catch(() => '');
      if (text.includes('Routing Stats') && text.includes('Models')) return text;
    }
    return undefined;
  }, 20_000, 250);
}

async function run(page) {
  await openFile(page, 'def add');

  await step('review the file', async () => {
    await palette(page, 'Switchboard: Review File');
    await until('the review message', async () => {
      const found = (await notifications(page)).find((m) => m.startsWith('Switchboard:') && m.includes('finding'));
      if (found) seen.reviewMessage = found;
      return found;
    }, 30_000);
    await chord(page, 'Control', 'Shift', 'KeyM');
    seen.problemsAfterReview = await until('review findings in the Problems panel', async () => {
      const rows = await problemsRows(page);
      return rows.length >= options.expectFindings ? rows : undefined;
    });
    await page.screenshot({ path: join(options.artifacts, 'vscode-review.png') });
  });

  await step('quick fix through the code action menu', async () => {
    // Back to the editor (focus stays in the Problems panel), onto the finding's line.
    await chord(page, 'Control', 'Digit1');
    await goToLine(page, options.fixAt);
    await chord(page, 'Control', 'Period');
    const labels = await until('the code action menu', async () => {
      const rows = await page.$$eval('.action-widget .monaco-list-row.action', (els) => els.map((el) => el.getAttribute('aria-label') ?? ''));
      return rows.length ? rows : undefined;
    });
    seen.codeActions = labels;
    const target = labels.find((label) => label.startsWith(options.fixTitlePrefix));
    if (!target) throw new Error(`no "${options.fixTitlePrefix}…" action among ${JSON.stringify(labels)}`);
    // The menu wraps around: move until the focused row is the target, then apply it.
    for (let i = 0; i <= labels.length; i++) {
      const focused = await page.$eval('.action-widget .monaco-list-row.action.focused', (el) => el.getAttribute('aria-label')).catch(() => null);
      if (focused === target) break;
      await page.keyboard.press('ArrowDown');
      await sleep(50);
    }
    seen.appliedAction = target;
    await page.keyboard.press('Enter');
    await until('the fix in the editor', async () => (await editorLines(page)).some((line) => line.includes(options.fixedLine)), 30_000);
    seen.statusAfterFix = await until('the status bar to show the fallback', async () => {
      const text = await statusBarText(page);
      return text.includes('fell back') ? text : undefined;
    });
    seen.statusToneAfterFix = await page.$eval(STATUS_ITEM, (el) => getComputedStyle(el).backgroundColor);
    // Save, so the test reads the buffer from disk (the DOM holds only the visible lines).
    await save(page);
    seen.problemsAfterFix = await until('the Problems panel to drop the fixed finding', async () => {
      const rows = await problemsRows(page);
      return rows.length < options.expectFindings ? rows : undefined;
    });
    await page.mouse.move(5, 600);
    await sleep(300);
    await page.screenshot({ path: join(options.artifacts, 'vscode-workbench.png') });
  });

  await step('hover', async () => {
    const target = await until('the word to hover', () =>
      page.evaluate((word) => {
        const lines = [...document.querySelectorAll('.editor-group-container.active .monaco-editor .view-lines .view-line')]
          .sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top);
        for (const line of lines) {
          for (const span of line.querySelectorAll('span span')) {
            if (span.textContent === word) {
              const r = span.getBoundingClientRect();
              return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
            }
          }
        }
        return null;
      }, options.hoverWord),
    );
    // The hover reacts to real mouse movement only: come in from the side, in steps.
    await page.mouse.move(target.x + 150, target.y + 120);
    await page.mouse.move(target.x, target.y, { steps: 12 });
    let previous = '';
    seen.hover = await until('a stable hover with the Switchboard footer', async () => {
      const text = await page.$$eval('.monaco-resizable-hover > .monaco-hover .hover-row', (rows) =>
        rows.map((row) => row.textContent.trim()).filter(Boolean).join('\n'),
      ).catch(() => '');
      const stable = text && text === previous && text.includes('switchboard ·');
      previous = text;
      return stable ? text : undefined;
    }, 30_000, 250);
    await page.screenshot({ path: join(options.artifacts, 'vscode-hover.png') });
    await page.mouse.move(5, 600);
  });

  await step('routing stats from the status bar', async () => {
    seen.stats = await statsPage(page);
    await page.screenshot({ path: join(options.artifacts, 'vscode-stats.png') });
  });

  await step('the server crashes: restarted, the status bar idle again', async () => {
    const [pid] = await until('the server process', () => serverPids(options.serverMarker)[0] ? serverPids(options.serverMarker) : undefined);
    process.kill(pid, 'SIGKILL');
    await until('the restarted server process', () => serverPids(options.serverMarker).some((p) => p !== pid));
    seen.statusAfterCrash = await until('the status bar to leave "starting"', async () => {
      const text = await statusBarText(page);
      return (await statusBarIcon(page)).includes('codicon-radio-tower') ? text : undefined;
    }, 20_000).catch(async (error) => {
      seen.statusStuckAfterCrash = `${await statusBarIcon(page)} ${await statusBarText(page)}`;
      throw error;
    });
  });

  await step('restart the server, then clear the cache through it', async () => {
    await palette(page, 'Switchboard: Restart Server');
    await until('the restarted server', async () => {
      const text = await statusBarText(page);
      return (await statusBarIcon(page)).includes('codicon-radio-tower') && text === 'Switchboard';
    });
    await palette(page, 'Switchboard: Clear Cache');
    seen.clearCacheMessage = await until('the cache-cleared message', async () =>
      (await notifications(page)).find((m) => m.includes('cache is cleared')));
    seen.errorsAfterRestart = await page.$$eval('.notification-list-item .codicon-error', (icons) =>
      icons.map((icon) => icon.closest('.notification-list-item').textContent.trim()));
  });

  seen.totalMs = Date.now() - started;
}

/** Ghost text in the active editor: what VS Code draws after the cursor, made plain. */
async function ghostText(page) {
  return page.$$eval(
    '.editor-group-container.active .monaco-editor .ghost-text-decoration, .editor-group-container.active .monaco-editor .ghost-text',
    (els) => els.map((el) => el.textContent).join(''),  // one span per token
  ).then(plain);
}

/** Inline completion as a user meets it: type at the cursor, see the suggestion as ghost
 * text, take it with Tab, and find the acceptance in the routing stats. */
async function runComplete(page) {
  await openFile(page, options.firstLine);
  await step('type: the suggestion appears as ghost text', async () => {
    await goToLine(page, options.typeAt);
    await page.keyboard.type(options.typed, { delay: 40 });
    seen.ghostText = await until('ghost text after the cursor', async () => {
      const text = await ghostText(page);
      return text.trim() ? text : undefined;
    }, 30_000);
    // Shown inline, not (as well) as a completion-menu item.
    seen.suggestWidget = await page.$$eval('.editor-group-container.active .suggest-widget.visible', (els) => els.length);
    await page.screenshot({ path: join(options.artifacts, 'vscode-ghost-text.png') });
  });
  await step('Tab accepts it', async () => {
    await page.keyboard.press('Tab');
    await until('the suggestion in the buffer', async () => (await editorLines(page)).some((line) => line.includes(options.acceptedLine)));
    await page.keyboard.press('Escape');  // whatever VS Code suggests next stays out of the file
    await save(page);
  });
  await step('the acceptance in the routing stats', async () => {
    seen.stats = await until('the stats to count the acceptance', async () => {
      const text = await statsPage(page);
      return text.includes('1 accepted') ? text : undefined;  // each click refreshes the page
    }, 30_000, 500);
  });
  seen.totalMs = Date.now() - started;
}

/** Switchboard's notifications: message and buttons. */
async function switchboardNotifications(page) {
  return page.$$eval('.notification-list-item', (items) =>
    items.map((item) => ({
      message: item.querySelector('.notification-list-item-message')?.textContent.trim() ?? '',
      buttons: [...item.querySelectorAll('.notification-list-item-buttons-container .monaco-button')].map((b) => b.textContent.trim()),
    })),
  ).then((items) => items.filter((item) => item.message.startsWith('Switchboard:')));
}

/** The remote's (machine) settings, written whole. */
function writeSettings(settings) {
  const partial = `${options.machineSettingsFile}.partial`;
  writeFileSync(partial, JSON.stringify(settings, null, 2));
  renameSync(partial, options.machineSettingsFile);
}

/** A server that cannot start: one message, no restart loop; then serverPaths that are wrong. */
async function runBroken(page) {
  await step('load workbench', async () => {
    await page.goto(`${options.url}/?folder=${encodeURIComponent(options.workspace)}`);
    await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
  });
  await step('a server that exits at start', async () => {
    seen.startFailure = await until('the message about the server exiting', async () => {
      const found = await switchboardNotifications(page);
      return found.length ? found : undefined;
    }, 30_000);
    await until('the status bar to show the stopped server', async () => (await statusBarIcon(page)).includes('codicon-circle-slash'));
    seen.statusAfterStartFailure = await statusBarText(page);
    // Time a restart loop would need to show itself.
    await sleep(3000);
    seen.notificationsAfterWait = await switchboardNotifications(page);
    await page.screenshot({ path: join(options.artifacts, 'vscode-server-failed.png') });
  });
  await step('a serverPath that points nowhere', async () => {
    // The user points serverPath somewhere wrong in the remote's settings (where a remote
    // window keeps machine-scoped ones): the extension restarts, finds nothing, says so.
    // Written whole, as an editor saving elsewhere would: saving from VS Code's own JSON
    // editor here sometimes lets the workbench read the file half-written and keep that
    // (code-server 4.100.3), which is not what this test is about.
    writeSettings(options.brokenSettings);
    seen.notFound = await until('the message about serverPath', async () => {
      const found = (await switchboardNotifications(page)).filter((n) => n.message.includes('not an executable'));
      return found.length ? found : undefined;
    }, 30_000);
    await until('the status bar to show no server', async () => (await statusBarIcon(page)).includes('codicon-warning'));
    seen.statusWhenNotFound = await statusBarText(page);
  });
  await step('a serverPath that is a Python interpreter', async () => {
    // `python3 lsp` exits 2 as a config error does: the message must not blame the config.
    writeSettings(options.pythonAsServerSettings);
    seen.pythonAsServer = await until('the message about the Python serverPath', async () => {
      const found = (await switchboardNotifications(page)).filter((n) => n.message.includes("can't open file"));
      return found.length ? found : undefined;
    }, 30_000);
  });
  seen.totalMs = Date.now() - started;
}

main().catch((error) => {
  log(`FAILED: ${error?.stack ?? error}`);
  process.exitCode = 1;
});
