import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CLIENT_SETTINGS, RESTART_SETTINGS, SECTION, SERVER_SETTINGS, serverSettings } from '../src/settings';

const manifest = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8'));
const contributed: Record<string, { default?: unknown; scope?: string; description?: string; markdownDescription?: string }> =
  manifest.contributes.configuration.properties;

/** The defaults of the server's EditorSettings (server/switchboard/lsp/settings.py). */
const SERVER_DEFAULTS: Record<string, unknown> = {
  'hover.enabled': true,
  'hover.cacheOnly': false,
  'hover.delayMs': 250,
  'hover.maxPerMinute': 30,
  'completion.enabled': true,
  'completion.debounceMs': 75,
  'completion.maxPerMinute': 60,
  'completion.items': null,
  'review.onSave': false,
  'codeActions.selection': true,
  'checks.background': true,
  'checks.checkers': [],
  'checks.publish': false,
  logLevel: 'info',
  routes: {},
  tasks: {},
  actions: {},
  'privacy.exclude': [],
  budget: {},
};

describe('settings', () => {
  it('package.json contributes exactly the server\'s settings and the client\'s own', () => {
    const names = Object.keys(contributed).map((key) => key.slice(`${SECTION}.`.length));
    assert.deepEqual(new Set(names), new Set([...SERVER_SETTINGS, ...CLIENT_SETTINGS]));
    for (const key of Object.keys(contributed)) {
      assert.ok(contributed[key].description || contributed[key].markdownDescription, `${key} has a description`);
    }
  });

  it('contributes the server\'s defaults', () => {
    for (const key of SERVER_SETTINGS) {
      assert.deepEqual(contributed[`${SECTION}.${key}`].default, SERVER_DEFAULTS[key], key);
    }
  });

  it('keeps the settings that choose the program and config out of workspace reach', () => {
    for (const key of RESTART_SETTINGS) {
      assert.equal(contributed[`${SECTION}.${key}`].scope, 'machine', key);
    }
  });

  it('nests dotted names and leaves the client-only settings out', () => {
    const values: Record<string, unknown> = {
      'hover.enabled': true,
      'hover.cacheOnly': false,
      'hover.delayMs': 0,
      'hover.maxPerMinute': 30,
      'review.onSave': true,
      'codeActions.selection': false,
      logLevel: 'debug',
      routes: { fix: ['fast', 'strong'] },
      tasks: { explain: { deadlineS: 5, hedge: false } },
      actions: { types: { title: 'Add type hints', prompt: 'Add type hints.' } },
      'privacy.exclude': ['secrets/**'],
      serverPath: '/usr/bin/switchboard',
      'trace.server': 'verbose',
    };
    assert.deepEqual(serverSettings((key) => values[key]), {
      hover: { enabled: true, cacheOnly: false, delayMs: 0, maxPerMinute: 30 },
      review: { onSave: true },
      codeActions: { selection: false },
      logLevel: 'debug',
      routes: { fix: ['fast', 'strong'] },
      tasks: { explain: { deadlineS: 5, hedge: false } },
      actions: { types: { title: 'Add type hints', prompt: 'Add type hints.' } },
      privacy: { exclude: ['secrets/**'] },
    });
  });

  it('omits unset values so the server keeps its defaults, and copies the rest', () => {
    const routes = Object.freeze({ fix: Object.freeze(['fast']) });
    const result = serverSettings((key) => (key === 'routes' ? routes : undefined));
    assert.deepEqual(result, { routes: { fix: ['fast'] } });
    assert.notEqual(result.routes, routes);
  });
});
