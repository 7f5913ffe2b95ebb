import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  discoverServer,
  findOnPath,
  hasSwitchboard,
  INSTALL_HINT,
  interpreterChangeNeedsRestart,
  isSwitchboardVersion,
  launchArgs,
  searchPath,
  type Probe,
} from '../src/discovery';

/** A machine with these executables, these Pythons that have Switchboard, this selection. */
function machine(options: {
  executables?: string[];
  withSwitchboard?: string[];
  selected?: string;
  path?: string[];
}): Probe & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    path: options.path ?? ['/usr/local/bin', '/usr/bin'],
    suffixes: [''],
    async isExecutable(file) {
      return (options.executables ?? []).includes(file);
    },
    async hasSwitchboard(python) {
      asked.push(python);
      return (options.withSwitchboard ?? []).includes(python);
    },
    async selectedPython() {
      return options.selected;
    },
  };
}

const none = { serverPath: '', pythonPath: '', configPath: '' };

describe('server discovery', () => {
  it('uses switchboard.serverPath first, with --config when configPath is set', async () => {
    const probe = machine({ executables: ['/opt/sb/bin/switchboard', '/usr/bin/switchboard'] });
    const found = await discoverServer(
      { serverPath: '/opt/sb/bin/switchboard', pythonPath: '/usr/bin/python3', configPath: '/home/me/sb.toml' },
      probe,
    );
    assert.deepEqual(found, {
      ok: true,
      server: {
        command: '/opt/sb/bin/switchboard',
        args: ['lsp', '--config', '/home/me/sb.toml'],
        origin: 'switchboard.serverPath',
      },
      notes: [],
    });
  });

  it('reports a serverPath that points nowhere instead of running another server', async () => {
    const found = await discoverServer(
      { ...none, serverPath: '/nope/switchboard' },
      machine({ executables: ['/usr/bin/switchboard'] }),
    );
    assert.equal(found.ok, false);
    assert.match(!found.ok ? found.problem : '', /switchboard\.serverPath .*"\/nope\/switchboard".*not an executable/);
  });

  it('runs `python -m switchboard lsp` for switchboard.pythonPath', async () => {
    const found = await discoverServer(
      { ...none, pythonPath: '/venv/bin/python' },
      machine({ executables: ['/venv/bin/python'], withSwitchboard: ['/venv/bin/python'] }),
    );
    assert.ok(found.ok);
    assert.deepEqual(found.server.args, ['-m', 'switchboard', 'lsp']);
    assert.equal(found.server.command, '/venv/bin/python');
    assert.equal(found.server.origin, 'switchboard.pythonPath');
  });

  it('says so when the pythonPath interpreter lacks Switchboard', async () => {
    const found = await discoverServer(
      { ...none, pythonPath: '/venv/bin/python' },
      machine({ executables: ['/venv/bin/python', '/usr/bin/switchboard'] }),
    );
    assert.equal(found.ok, false);
    const problem = !found.ok ? found.problem : '';
    assert.match(problem, /not installed in it/);
    // `pip install switchboard` would install an unrelated PyPI package of that name.
    assert.doesNotMatch(problem, /install switchboard\b/);
    assert.match(problem, /pip install \/path\/to\/switchboard/);
  });

  it('uses the Python extension\'s interpreter when it has Switchboard', async () => {
    const found = await discoverServer(
      none,
      machine({ selected: '/proj/.venv/bin/python', withSwitchboard: ['/proj/.venv/bin/python'], executables: ['/usr/bin/switchboard'] }),
    );
    assert.ok(found.ok);
    assert.equal(found.server.command, '/proj/.venv/bin/python');
    assert.deepEqual(found.server.args, ['-m', 'switchboard', 'lsp']);
  });

  it('falls back to PATH when the selected interpreter has no Switchboard, and notes why', async () => {
    const found = await discoverServer(
      { ...none, configPath: ' /c.toml ' },
      machine({ selected: '/proj/.venv/bin/python', executables: ['/usr/bin/switchboard'] }),
    );
    assert.ok(found.ok);
    assert.deepEqual(found.server, { command: '/usr/bin/switchboard', args: ['lsp', '--config', '/c.toml'], origin: 'PATH' });
    assert.match(found.notes[0], /\/proj\/\.venv\/bin\/python.*no Switchboard/);
  });

  it('fails with one clear problem when nothing is found', async () => {
    const found = await discoverServer(none, machine({}));
    assert.deepEqual(found.ok, false);
    assert.match(!found.ok ? found.problem : '', /not found/);
  });

  it('searches PATH in order and honours Windows suffixes', async () => {
    const probe = { ...machine({ executables: ['/b/switchboard', '/c/switchboard'] }), path: ['/a', '', '/b', '/c'] };
    assert.equal(await findOnPath('switchboard', probe), '/b/switchboard');
    const win = searchPath({ Path: 'C:\\a;C:\\b', PATHEXT: '.COM;.EXE' }, 'win32');
    assert.deepEqual(win, { path: ['C:\\a', 'C:\\b'], suffixes: ['.com', '.exe'] });
    assert.deepEqual(searchPath({ PATH: '/x:/y' }, 'linux'), { path: ['/x', '/y'], suffixes: [''] });
  });

  it('passes --config only when set', () => {
    assert.deepEqual(launchArgs(''), ['lsp']);
    assert.deepEqual(launchArgs('  '), ['lsp']);
    assert.deepEqual(launchArgs('/c.toml'), ['lsp', '--config', '/c.toml']);
  });

  it('expands ~ in configPath, as Open Config does (no shell runs the server)', async () => {
    assert.deepEqual(launchArgs('~/sb.toml', '/home/me'), ['lsp', '--config', '/home/me/sb.toml']);
    assert.deepEqual(launchArgs(' ~ ', '/home/me'), ['lsp', '--config', '/home/me']);
    assert.deepEqual(launchArgs('~other/sb.toml', '/home/me'), ['lsp', '--config', '~other/sb.toml']);
    const found = await discoverServer(
      { ...none, configPath: '~/.config/sb.toml' },
      machine({ executables: ['/usr/bin/switchboard'] }),
    );
    assert.ok(found.ok);
    assert.deepEqual(found.server.args, ['lsp', '--config', join(homedir(), '.config/sb.toml')]);
  });
});

describe('how to install the server', () => {
  it('installs from a clone, never the unrelated `switchboard` on PyPI', () => {
    assert.doesNotMatch(INSTALL_HINT, /install switchboard\b/);
    assert.match(INSTALL_HINT, /uv tool install \/path\/to\/switchboard/);
    assert.match(INSTALL_HINT, /pipx install \/path\/to\/switchboard/);
  });
});

/** A python3 to build fake interpreters around, or undefined (those tests are skipped). */
const python3 = ['python3', 'python'].find((name) => spawnSync(name, ['-c', 'pass']).status === 0);

describe('probing an interpreter for Switchboard', () => {
  const root = mkdtempSync(join(tmpdir(), 'switchboard-probe-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  /** An interpreter (a wrapper around python3) that sees only this `switchboard` package. */
  function interpreter(name: string, files: Record<string, string>): string {
    const site = join(root, name, 'site');
    mkdirSync(join(site, 'switchboard'), { recursive: true });
    for (const [file, text] of Object.entries(files)) writeFileSync(join(site, 'switchboard', file), text);
    const bin = join(root, name, 'python');
    writeFileSync(bin, `#!/bin/sh\nPYTHONPATH='${site}' exec '${python3}' "$@"\n`);
    chmodSync(bin, 0o755);
    return bin;
  }

  it('recognises only our version line', () => {
    assert.ok(isSwitchboardVersion('switchboard 0.1.0\n'));
    assert.ok(!isSwitchboardVersion(''));
    assert.ok(!isSwitchboardVersion('switchboard-admin 1.6.10'));
    assert.ok(!isSwitchboardVersion('Python 3.11.7'));
  });

  it('does not mistake the unrelated PyPI `switchboard` (a Pyramid feature flipper) for ours', { skip: !python3 }, async () => {
    // Like switchboard 1.6.10 from PyPI: a package that imports, with no command line.
    const impostor = interpreter('impostor', { '__init__.py': 'from .manager import *  # noqa\n', 'manager.py': '' });
    assert.equal(spawnSync(impostor, ['-c', 'import switchboard']).status, 0, 'the impostor imports');
    assert.equal(await hasSwitchboard(impostor), false);
  });

  it('accepts an interpreter whose `python -m switchboard --version` is ours', { skip: !python3 }, async () => {
    const ours = interpreter('ours', {
      '__init__.py': '__version__ = "0.1.0"\n',
      '__main__.py': 'import sys\nif "--version" in sys.argv:\n    print("switchboard 0.1.0")\n',
    });
    assert.equal(await hasSwitchboard(ours), true);
    assert.equal(await hasSwitchboard(join(root, 'no-such-python')), false);
  });
});

describe('restarting when the Python extension\'s interpreter changes', () => {
  const venv = '/proj/.venv/bin/python';
  const other = '/proj/.venv2/bin/python';
  const folder = 'file:///proj';

  it('reports the interpreter discovery consulted, whichever server it chose', async () => {
    const fromInterpreter = await discoverServer(none, machine({ selected: venv, withSwitchboard: [venv] }));
    assert.equal(fromInterpreter.interpreter, venv);
    const fromPath = await discoverServer(none, machine({ selected: venv, executables: ['/usr/bin/switchboard'] }));
    assert.equal(fromPath.ok && fromPath.server.origin, 'PATH');
    assert.equal(fromPath.interpreter, venv);
    const explicit = await discoverServer(
      { ...none, serverPath: '/usr/bin/switchboard' },
      machine({ selected: venv, executables: ['/usr/bin/switchboard'] }),
    );
    assert.equal(explicit.interpreter, undefined);
  });

  it('restarts a server that came from the interpreter when another one is selected', () => {
    assert.ok(interpreterChangeNeedsRestart({ settings: none, consulted: venv, selected: other, folder, changedFor: folder }));
    assert.ok(interpreterChangeNeedsRestart({ settings: none, consulted: venv, selected: undefined }));
  });

  it('restarts when discovery passed over the interpreter and another one is selected now', () => {
    // The old one had no Switchboard (PATH served) or there was none: the new one may have it.
    assert.ok(interpreterChangeNeedsRestart({ settings: none, consulted: undefined, selected: venv }));
  });

  it('leaves the server alone when the selection did not really change', () => {
    assert.ok(!interpreterChangeNeedsRestart({ settings: none, consulted: venv, selected: venv, folder, changedFor: folder }));
    assert.ok(!interpreterChangeNeedsRestart({ settings: none, consulted: undefined, selected: undefined }));
  });

  it('leaves it alone when serverPath or pythonPath chose the server', () => {
    const change = { consulted: undefined, selected: other };
    assert.ok(!interpreterChangeNeedsRestart({ ...change, settings: { ...none, serverPath: '/usr/bin/switchboard' } }));
    assert.ok(!interpreterChangeNeedsRestart({ ...change, settings: { ...none, pythonPath: venv } }));
  });

  it('ignores a change in another workspace folder', () => {
    assert.ok(
      !interpreterChangeNeedsRestart({ settings: none, consulted: venv, selected: other, folder, changedFor: 'file:///elsewhere' }),
    );
  });
});
