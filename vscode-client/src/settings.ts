// The `switchboard` settings section, as the server reads it (server/switchboard/lsp/settings.py,
// and what a workspace may set: WORKSPACE_SETTINGS in server/switchboard/config/workspace.py).
// package.json contributes these keys name for name; a unit test keeps the two in step.

/** Settings the server reads, by their dotted name under `switchboard.`. */
export const SERVER_SETTINGS = [
  'hover.enabled',
  'hover.cacheOnly',
  'hover.delayMs',
  'hover.maxPerMinute',
  'completion.enabled',
  'completion.debounceMs',
  'completion.maxPerMinute',
  'completion.items',
  'review.onSave',
  'codeActions.selection',
  'checks.background',
  'checks.checkers',
  'checks.publish',
  'logLevel',
  'routes',
  'tasks',
  'actions',
  'privacy.exclude',
  'budget',
] as const;

/** Settings only the extension uses: how to start the server, and tracing. */
export const CLIENT_SETTINGS = ['serverPath', 'pythonPath', 'configPath', 'trace.server'] as const;

/** Changing one of these means a different server process: restart it. */
export const RESTART_SETTINGS = ['serverPath', 'pythonPath', 'configPath'] as const;

export const SECTION = 'switchboard';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * The object the server gets (initializationOptions and `workspace/configuration`): the
 * server's settings nested by their dots (`hover.delayMs` -> `{hover: {delayMs}}`), without the
 * client-only ones. Unset values (undefined) are left out, so the server keeps its defaults.
 */
export function serverSettings(get: (key: string) => unknown): { [key: string]: Json } {
  const result: { [key: string]: Json } = {};
  for (const key of SERVER_SETTINGS) {
    const value = get(key);
    if (value === undefined) continue;
    const parts = key.split('.');
    let target = result;
    for (const part of parts.slice(0, -1)) {
      const next = target[part];
      if (typeof next !== 'object' || next === null || Array.isArray(next)) target[part] = {};
      target = target[part] as { [key: string]: Json };
    }
    target[parts[parts.length - 1]] = plain(value);
  }
  return result;
}

/** A JSON copy: VS Code hands out frozen proxies that must not travel as they are. */
function plain(value: unknown): Json {
  return JSON.parse(JSON.stringify(value)) as Json;
}
