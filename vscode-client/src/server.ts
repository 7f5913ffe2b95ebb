// The server's lifecycle: find it, start it over stdio, keep it from crash-looping, say what
// went wrong once, and restart it when the settings that choose it change.

import { spawn, type ChildProcess } from 'node:child_process';
import { constants as fsConstants, promises as fs } from 'node:fs';
import * as vscode from 'vscode';
import {
  CloseAction,
  ErrorAction,
  LanguageClient,
  State,
  type LanguageClientOptions,
  type ServerOptions,
} from 'vscode-languageclient/node';
import { advise, lastLine } from './diagnosis';
import {
  discoverServer,
  hasSwitchboard,
  interpreterChangeNeedsRestart,
  searchPath,
  type LaunchSettings,
  type Probe,
  type ServerCommand,
} from './discovery';
import { SECTION, serverSettings } from './settings';
import { STATUS_NOTIFICATION, type StatusParams } from './status';
import type { StatusBar } from './statusBar';

/** At most this many restarts after crashes within RESTART_WINDOW_MS, then stop and say so. */
const MAX_RESTARTS = 3;
const RESTART_WINDOW_MS = 3 * 60_000;
const STDERR_TAIL_CHARS = 4000;

/** A LanguageClient whose own error notifications can be held back while we report instead. */
class SwitchboardClient extends LanguageClient {
  quiet = false;

  override error(message: string, data?: unknown, showNotification: boolean | 'force' = true): void {
    super.error(message, data, this.quiet ? false : showNotification);
  }
}

export function launchSettings(): LaunchSettings {
  const config = vscode.workspace.getConfiguration(SECTION);
  return {
    serverPath: machineSetting(config, 'serverPath'),
    pythonPath: machineSetting(config, 'pythonPath'),
    configPath: machineSetting(config, 'configPath'),
  };
}

/**
 * A machine-scoped string setting. VS Code already ignores workspace values of machine-scoped
 * settings; reading only the user/remote value here keeps a workspace from choosing the
 * program or config even in an editor that did not.
 */
function machineSetting(config: vscode.WorkspaceConfiguration, key: string): string {
  const inspected = config.inspect<string>(key);
  const value = inspected?.globalValue ?? inspected?.defaultValue ?? '';
  return typeof value === 'string' ? value : '';
}

function realProbe(): Probe {
  const { path, suffixes } = searchPath(process.env, process.platform);
  return {
    path,
    suffixes,
    async isExecutable(file) {
      try {
        const stat = await fs.stat(file);
        if (!stat.isFile()) return false;
        await fs.access(file, process.platform === 'win32' ? fsConstants.F_OK : fsConstants.X_OK);
        return true;
      } catch {
        return false;
      }
    },
    hasSwitchboard: (python) => hasSwitchboard(python),
    selectedPython,
  };
}

/** The interpreter selected in ms-python.python, when that extension is installed (optional). */
async function selectedPython(): Promise<string | undefined> {
  // Only a trusted workspace may pick the interpreter we run: its settings choose it.
  if (!vscode.workspace.isTrusted) return undefined;
  const extension = vscode.extensions.getExtension('ms-python.python');
  if (!extension) return undefined;
  try {
    const lookup = (async () => {
      const api = extension.isActive ? extension.exports : await extension.activate();
      const resource = vscode.workspace.workspaceFolders?.[0]?.uri;
      const environments = api?.environments;
      if (environments?.getActiveEnvironmentPath) {
        const active = environments.getActiveEnvironmentPath(resource);
        const resolved = await environments.resolveEnvironment?.(active);
        const executable = resolved?.executable?.uri?.fsPath ?? active?.path;
        if (typeof executable === 'string' && executable) return executable;
      }
      const details = api?.settings?.getExecutionDetails?.(resource);
      const command = details?.execCommand?.[0];
      return typeof command === 'string' && command ? command : undefined;
    })();
    const timeout = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 10_000));
    return await Promise.race([lookup, timeout]);
  } catch {
    return undefined;
  }
}

/**
 * Calls `listener` when the Python extension's active environment changes, when that extension
 * is installed and offers the event (its `environments` API); undefined otherwise.
 */
export async function watchPythonInterpreter(
  listener: (changedFor: vscode.Uri | undefined) => void,
): Promise<vscode.Disposable | undefined> {
  const extension = vscode.extensions.getExtension('ms-python.python');
  if (!extension) return undefined;
  try {
    const api = extension.isActive ? extension.exports : await extension.activate();
    const event = api?.environments?.onDidChangeActiveEnvironmentPath;
    if (typeof event !== 'function') return undefined;
    // `resource` is a WorkspaceFolder, or in some versions a Uri.
    return event((change: { resource?: vscode.WorkspaceFolder | vscode.Uri }) => {
      const resource = change?.resource;
      listener(resource instanceof vscode.Uri ? resource : resource?.uri);
    });
  } catch {
    return undefined;
  }
}

export class ServerController implements vscode.Disposable {
  private client: SwitchboardClient | undefined;
  private process: ChildProcess | undefined;
  private server: ServerCommand | undefined;
  /** The Python extension's interpreter the last discovery saw. */
  private interpreter: string | undefined;
  private interpreterCheck: Promise<void> = Promise.resolve();
  private problem: string | undefined;
  private stderrTail = '';
  /** The last server stopped while starting (false: it crashed after running). */
  private stoppedAtStart = true;
  private restarts: number[] = [];
  private starting: Promise<void> | undefined;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly output: vscode.LogOutputChannel,
    private readonly status: StatusBar,
  ) {}

  /** The running client, or undefined after telling the user why there is none. */
  async running(): Promise<LanguageClient | undefined> {
    if (this.starting) await this.starting;
    if (this.client?.isRunning()) return this.client;
    void this.explain();
    return undefined;
  }

  start(): Promise<void> {
    this.starting ??= this.doStart().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  async restart(): Promise<void> {
    if (this.starting) await this.starting;
    await this.stop();
    this.restarts = [];
    await this.start();
  }

  async stop(): Promise<void> {
    const client = this.client;
    const child = this.process;
    this.client = undefined;
    this.process = undefined;
    if (client) {
      try {
        await client.stop(5000);
      } catch (error) {
        this.output.appendLine(`Stopping the server: ${String(error)}`);
      }
      await client.dispose().catch(() => undefined);
    }
    if (child && child.exitCode === null && child.signalCode === null) child.kill();
    this.status.client('stopped', 'Stopped.');
  }

  dispose(): void {
    void this.stop();
  }

  /** The selected Python interpreter may have changed: restart if that changes the server. */
  interpreterChanged(changedFor?: vscode.Uri): Promise<void> {
    // One check at a time: the event and a settings change often come together.
    this.interpreterCheck = this.interpreterCheck.then(() => this.checkInterpreter(changedFor)).catch((error) => {
      this.output.appendLine(`Checking the Python interpreter: ${String(error)}`);
    });
    return this.interpreterCheck;
  }

  private async checkInterpreter(changedFor?: vscode.Uri): Promise<void> {
    if (this.starting) await this.starting;
    const selected = await selectedPython();
    const restart = interpreterChangeNeedsRestart({
      settings: launchSettings(),
      consulted: this.interpreter,
      selected,
      folder: vscode.workspace.workspaceFolders?.[0]?.uri.toString(),
      changedFor: changedFor?.toString(),
    });
    if (!restart) return;
    this.output.appendLine(`The selected Python interpreter is now ${selected ?? 'none'}: restarting the server.`);
    await this.restart();
  }

  private async doStart(): Promise<void> {
    this.problem = undefined;
    this.stoppedAtStart = true;
    this.status.client('starting');
    const discovery = await discoverServer(launchSettings(), realProbe());
    this.interpreter = discovery.interpreter;
    for (const note of discovery.notes) this.output.appendLine(note);
    if (!discovery.ok) {
      this.problem = discovery.problem;
      this.status.client('notFound', discovery.problem);
      this.output.appendLine(discovery.problem);
      void this.explain();
      return;
    }
    this.server = discovery.server;
    this.output.appendLine(
      `Starting ${[discovery.server.command, ...discovery.server.args].join(' ')} (from ${discovery.server.origin})`,
    );
    const client = new SwitchboardClient(SECTION, 'Switchboard', this.serverOptions(discovery.server), this.clientOptions());
    client.onNotification(STATUS_NOTIFICATION, (params: StatusParams) => this.status.gateway(params));
    // After a crash the client restarts the server by itself (closed() shows "starting"), and
    // doStart does not run again: idle once it is running again.
    client.onDidChangeState(({ newState }) => {
      if (newState === State.Running && this.client === client) this.status.ready();
    });
    this.client = client;
    client.quiet = true; // a failed start is reported once, below, with the server's own words
    let failure: unknown;
    try {
      await client.start();
    } catch (error) {
      failure = error;
    }
    if (this.client !== client) return; // stopped meanwhile
    // start() can resolve although the server died during initialize (the client forgets its
    // start promise when the connection closes): trust the state, not the promise.
    if (failure === undefined && client.isRunning()) {
      client.quiet = false;
      this.status.ready();
      return;
    }
    this.client = undefined;
    void client.dispose().catch(() => undefined);
    await this.exited();
    this.problem = this.exitDescription() ?? `The server did not start: ${String(failure ?? 'it stopped during initialization')}`;
    this.output.appendLine(this.problem);
    this.status.client('stopped', this.problem);
    void this.explain();
  }

  private serverOptions(server: ServerCommand): ServerOptions {
    return () =>
      new Promise<ChildProcess>((resolve, reject) => {
        this.stderrTail = '';
        const child = spawn(server.command, server.args, {
          env: process.env,
          cwd: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath,
          stdio: 'pipe',
        });
        this.process = child;
        child.stderr.setEncoding('utf8');
        child.stderr.on('data', (chunk: string) => {
          this.stderrTail = (this.stderrTail + chunk).slice(-STDERR_TAIL_CHARS);
        });
        child.once('spawn', () => resolve(child));
        child.once('error', (error) => reject(error));
      });
  }

  private clientOptions(): LanguageClientOptions {
    return {
      documentSelector: [{ scheme: 'file' }, { scheme: 'untitled' }],
      outputChannel: this.output,
      initializationOptions: currentServerSettings(),
      synchronize: { configurationSection: SECTION },
      middleware: {
        workspace: {
          // The server pulls its section: give it exactly the server's settings, per scope.
          configuration: async (params, token, next) => {
            const defaults = await next(params, token);
            if (!Array.isArray(defaults)) return defaults;
            return params.items.map((item, i) =>
              item.section === SECTION ? currentServerSettings(item.scopeUri) : defaults[i],
            );
          },
        },
      },
      // A failed initialize is reported once by doStart, in the server's own words.
      initializationFailedHandler: () => false,
      errorHandler: {
        error: () => ({ action: ErrorAction.Continue, handled: true }),
        closed: () => this.closed(),
      },
    };
  }

  /** The connection closed: restart a server that crashed while working, within limits. */
  private closed(): { action: CloseAction; handled: boolean } {
    const client = this.client;
    if (!client?.isRunning()) {
      // It never got going. Restarting would only loop: say why, once.
      if (client && !this.starting) {
        // A restart the client made after a crash failed (doStart reports its own failures).
        client.quiet = true;
        this.stoppedAtStart = true;
        void this.exited().then(() => {
          this.problem = this.exitDescription() ?? 'The server stopped and could not be restarted.';
          this.status.client('stopped', this.problem);
          return this.explain();
        });
      }
      return { action: CloseAction.DoNotRestart, handled: true };
    }
    const now = Date.now();
    this.restarts = this.restarts.filter((t) => now - t < RESTART_WINDOW_MS);
    if (this.restarts.length < MAX_RESTARTS) {
      this.restarts.push(now);
      this.output.appendLine(`The server stopped unexpectedly${this.exitSuffix()}; restarting it.`);
      this.status.client('starting');
      return { action: CloseAction.Restart, handled: true };
    }
    this.problem = `The server stopped ${MAX_RESTARTS + 1} times in 3 minutes${this.exitSuffix()}; it was not restarted.`;
    this.stoppedAtStart = false;
    this.status.client('stopped', this.problem);
    void this.exited().then(() => this.explain());
    return { action: CloseAction.DoNotRestart, handled: true };
  }

  /** Wait (briefly) for the server process to exit, so its exit code can be read. */
  private exited(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, 2000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private exitSuffix(): string {
    const last = lastLine(this.stderrTail);
    return last ? ` (${last})` : '';
  }

  private exitDescription(): string | undefined {
    // The CLI's errors are one sentence, "switchboard: ...": quote the sentence, not the name.
    const last = lastLine(this.stderrTail).replace(/^switchboard:\s*/, '');
    const code = this.process?.exitCode;
    if (!last && code == null) return undefined;
    const origin = this.server ? ` (${this.server.command}, from ${this.server.origin})` : '';
    return `The server${origin} exited at start${code != null ? ` with code ${code}` : ''}${last ? `: ${sentence(last)}` : '.'}`;
  }

  /** The packaged README (vsce stores it as readme.md), or the source one in development. */
  private async readme(): Promise<vscode.Uri> {
    for (const name of ['readme.md', 'README.md', 'vscode-client/README.md']) {
      const uri = vscode.Uri.joinPath(this.context.extensionUri, name);
      if (await fs.stat(uri.fsPath).then(() => true, () => false)) return uri;
    }
    return vscode.Uri.joinPath(this.context.extensionUri, 'README.md');
  }

  /** One message saying what is wrong and offering what to do about it. */
  private async explain(): Promise<void> {
    const problem = this.problem ?? 'The Switchboard server is not running.';
    const { hint, actions } = advise({
      code: this.process?.exitCode,
      stderr: this.stderrTail,
      origin: this.server?.origin,
      atStart: this.stoppedAtStart,
    });
    const choice = await vscode.window.showErrorMessage(`Switchboard: ${problem}${hint}`, ...actions);
    if (choice === 'Open Settings') {
      await vscode.commands.executeCommand('workbench.action.openSettings', `@ext:${this.context.extension.id}`);
    } else if (choice === 'Open README') {
      await vscode.commands.executeCommand('markdown.showPreview', await this.readme());
    } else if (choice === 'Show Log') {
      this.output.show(true);
    } else if (choice === 'Open Config') {
      await vscode.commands.executeCommand('switchboard.openConfig');
    }
  }
}

/** The server's settings for a scope, as the server reads them. */
export function currentServerSettings(scopeUri?: string): ReturnType<typeof serverSettings> {
  const scope = scopeUri ? vscode.Uri.parse(scopeUri) : undefined;
  const config = vscode.workspace.getConfiguration(SECTION, scope);
  return serverSettings((key) => config.get(key));
}

/** `text` ending with a full stop, so another sentence can follow. */
function sentence(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}
