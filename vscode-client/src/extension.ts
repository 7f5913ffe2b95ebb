// Switchboard for VS Code: starts `switchboard lsp` and adds a few commands around it.
// The language features (quick fixes, hover, review) are the server's; vscode-languageclient
// also registers the server's own commands (switchboard.review, .stats, .clearCache).

import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ExecuteCommandRequest, type LanguageClient } from 'vscode-languageclient/node';
import { launchSettings, ServerController, watchPythonInterpreter } from './server';
import { RESTART_SETTINGS, SECTION } from './settings';
import { statsHtml, type Stats } from './stats';
import { StatusBar } from './statusBar';
import { CONFIG_TEMPLATE, userConfigPath } from './userConfig';

let controller: ServerController | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel('Switchboard', { log: true });
  const status = new StatusBar();
  controller = new ServerController(context, output, status);
  const server = controller;
  const stats = new StatsView();
  context.subscriptions.push(output, status, server, stats);

  const register = (id: string, run: (...args: unknown[]) => unknown) =>
    context.subscriptions.push(vscode.commands.registerCommand(id, run));
  register('switchboard.reviewActiveFile', () => reviewActiveFile(server));
  register('switchboard.showStats', async () => {
    const client = await server.running();
    if (client) stats.show((await serverCommand(client, 'switchboard.stats')) as Stats);
  });
  register('switchboard.clearResponseCache', async () => {
    const client = await server.running();
    if (!client) return;
    const result = (await serverCommand(client, 'switchboard.clearCache')) as { cleared?: boolean } | null;
    if (result?.cleared) void vscode.window.showInformationMessage('Switchboard: the response cache is cleared.');
    else void vscode.window.showWarningMessage('Switchboard: the cache could not be cleared (see the log).');
  });
  register('switchboard.restartServer', () => server.restart());
  register('switchboard.openConfig', openConfig);
  register('switchboard.showLog', () => output.show(true));

  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((event) => {
      // Another program or config file: only a new server process can take it.
      if (RESTART_SETTINGS.some((key) => event.affectsConfiguration(`${SECTION}.${key}`))) {
        void server.restart();
      } else if (event.affectsConfiguration('python.defaultInterpreterPath')) {
        void server.interpreterChanged();
      }
    }),
    // Trust lets discovery use the selected interpreter (selectedPython), which may change it.
    vscode.workspace.onDidGrantWorkspaceTrust(() => {
      void watchInterpreter(context, server).then(() => server.interpreterChanged());
    }),
  );

  await server.start();
  void watchInterpreter(context, server);
}

let watchingInterpreter = false;

/** Restart the server when the Python extension's selected interpreter changes (trusted only). */
async function watchInterpreter(context: vscode.ExtensionContext, server: ServerController): Promise<void> {
  if (watchingInterpreter || !vscode.workspace.isTrusted) return;
  const watch = await watchPythonInterpreter((changedFor) => void server.interpreterChanged(changedFor));
  if (!watch) return;
  watchingInterpreter = true;
  context.subscriptions.push(watch);
}

export async function deactivate(): Promise<void> {
  await controller?.stop();
  controller = undefined;
  watchingInterpreter = false;
}

async function serverCommand(client: LanguageClient, command: string, ...args: unknown[]): Promise<unknown> {
  return client.sendRequest(ExecuteCommandRequest.type, { command, arguments: args });
}

interface ReviewResult {
  findings?: number;
  error?: string;
  served_by?: { model: string; provider: string } | null;
  cache?: string;
}

async function reviewActiveFile(server: ServerController): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor) {
    void vscode.window.showInformationMessage('Switchboard: open a file to review it.');
    return;
  }
  const client = await server.running();
  if (!client) return;
  // The server shows progress itself (window/workDoneProgress) and publishes the findings.
  const uri = editor.document.uri.toString();
  const result = (await serverCommand(client, 'switchboard.review', uri)) as ReviewResult | null;
  if (!result) return;
  if (result.error) {
    void vscode.window.showWarningMessage(`Switchboard: the review did not complete: ${result.error}`);
    return;
  }
  const n = result.findings ?? 0;
  const by = result.served_by ? ` (${result.served_by.model}${result.cache && result.cache !== 'miss' ? `, ${result.cache} cache` : ''})` : '';
  const message = `Switchboard: ${n === 0 ? 'no findings' : n === 1 ? '1 finding' : `${n} findings`} in ${path.basename(editor.document.fileName)}${by}.`;
  if (n === 0) {
    void vscode.window.showInformationMessage(message);
    return;
  }
  const choice = await vscode.window.showInformationMessage(message, 'Show Problems');
  if (choice === 'Show Problems') await vscode.commands.executeCommand('workbench.actions.view.problems');
}

async function openConfig(): Promise<void> {
  const file = userConfigPath(launchSettings().configPath, process.env, process.platform, os.homedir());
  let created = false;
  try {
    await fs.access(file);
  } catch {
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, CONFIG_TEMPLATE, { flag: 'wx' }).then(
      () => (created = true),
      (error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error;
      },
    );
  }
  await vscode.window.showTextDocument(vscode.Uri.file(file));
  if (created) {
    void vscode.window.showInformationMessage(
      `Switchboard: created ${file} from a commented template. After editing, run "Switchboard: Restart Server".`,
    );
  }
}

/** The routing stats page: one webview, refreshed in place. */
class StatsView implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;

  show(stats: Stats): void {
    if (!this.panel) {
      this.panel = vscode.window.createWebviewPanel(
        'switchboard.stats',
        'Switchboard: Routing Stats',
        vscode.ViewColumn.Active,
        { enableScripts: false, enableCommandUris: ['switchboard.showStats'] },
      );
      this.panel.onDidDispose(() => (this.panel = undefined));
    } else {
      this.panel.reveal();
    }
    this.panel.webview.html = statsHtml(stats ?? {}, this.panel.webview.cspSource, new Date());
  }

  dispose(): void {
    this.panel?.dispose();
  }
}
