// The status bar item: the gateway's state from `switchboard/status`, or the client's own.

import * as vscode from 'vscode';
import { renderClientState, renderStatus, type ClientState, type StatusParams, type StatusView } from './status';

const TONE_COLOURS: Record<StatusView['tone'], string | undefined> = {
  normal: undefined,
  warning: 'statusBarItem.warningBackground',
  error: 'statusBarItem.errorBackground',
};

export class StatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;

  constructor() {
    this.item = vscode.window.createStatusBarItem('switchboard.status', vscode.StatusBarAlignment.Right, 100);
    this.item.name = 'Switchboard';
    this.item.command = 'switchboard.showStats';
    this.client('starting');
    this.item.show();
  }

  /** The server is up and nothing has happened yet. */
  ready(): void {
    this.show(renderStatus({ state: 'idle' }));
  }

  gateway(params: StatusParams): void {
    this.show(renderStatus(params));
  }

  client(state: ClientState, detail?: string): void {
    this.show(renderClientState(state, detail));
  }

  private show(view: StatusView): void {
    this.item.text = view.text;
    this.item.tooltip = view.tooltip;
    const colour = TONE_COLOURS[view.tone];
    this.item.backgroundColor = colour ? new vscode.ThemeColor(colour) : undefined;
  }

  dispose(): void {
    this.item.dispose();
  }
}
