import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Ajv2020 from 'ajv/dist/2020';
import {
  budgetLines,
  escapeHtml,
  formatCost,
  formatEdits,
  formatKinds,
  formatMs,
  formatPercent,
  formatPrice,
  formatSuggestions,
  modelRows,
  statsHtml,
  type Stats,
} from '../src/stats';

// As `switchboard stats --json` printed it after a fix that fell back from fast to backup.
const STATS: Stats = {
  models: [
    {
      model: 'backup',
      provider: 'q',
      requests: 1,
      ok: 1,
      failures: 0,
      failures_by_kind: {},
      skipped_by_kind: {},
      availability: 1.0,
      p50_ms: 2.5,
      p95_ms: 2.5,
      prompt_tokens: 40,
      completion_tokens: 9,
      cost_usd: 0.0,
      price_per_mtok: { input: 0, output: 0, source: 'config' },
      cache_hits: { fresh: 0, stale: 0 },
      edits: { verified: 1, rejected: 0, not_verified: 0 },
    },
    {
      model: 'fast',
      provider: 'p',
      requests: 3,
      ok: 1,
      failures: 2,
      failures_by_kind: { rate_limited: 2 },
      skipped_by_kind: { skipped_open_breaker: 1 },
      availability: 1 / 3,
      p50_ms: null,
      p95_ms: null,
      prompt_tokens: 0,
      completion_tokens: 0,
      cost_usd: 0.0123,
      price_per_mtok: { input: 0.15, output: 0.6, source: 'provider listing' },
      cache_hits: { fresh: 4, stale: 1 },
      edits: { verified: 0, rejected: 0, not_verified: 0 },
    },
  ],
  providers: { p: { state: 'cooling_down', consecutive_failures: 2, cooling_for_s: 29.5, disabled_reason: null } },
  cache: { memory_entries: 0, memory_bytes: 0, entries: 1, bytes: 148 },
};

// The schema the server's report follows (server/switchboard/gateway/report.py); the Python
// and Neovim tests check the server's real answers against it. This file is bundled into
// out/test/, two levels below the repository's root.
const SCHEMA = JSON.parse(
  readFileSync(join(__dirname, '..', '..', 'server', 'switchboard', 'schemas', 'stats.schema.json'), 'utf8'),
);

// What a server that has answered nothing yet reports.
const EMPTY: Stats = { models: [], providers: {}, cache: { memory_entries: 0, memory_bytes: 0, entries: 0, bytes: 0 } };

describe('routing stats page', () => {
  it('renders fixtures that follow the server stats schema', () => {
    const validate = new Ajv2020({ allErrors: true, strict: true }).compile(SCHEMA);
    for (const stats of [STATS, EMPTY]) {
      assert.ok(validate(stats), JSON.stringify(validate.errors, null, 2));
    }
  });

  it('has a row per model with latency, failures, cost, price and cache hits', () => {
    const [backup, fast] = modelRows(STATS);
    assert.deepEqual(backup, [
      'backup', 'q', '1', '1', '0', '0', '100%', '3 ms', '3 ms', '40 / 9', '$0', '0 / 0 (config)', '0 / 0',
      '1 / 0 / 0', '–',
    ]);
    assert.deepEqual(fast, [
      'fast',
      'p',
      '3',
      '1',
      '2 (rate limited 2)',
      '1 (skipped open breaker 1)',
      '33.3%',
      '–',
      '–',
      '0 / 0',
      '$0.01',
      '0.15 / 0.6 (provider listing)',
      '4 / 1',
      '0 / 0 / 0',
      '–',
    ]);
  });

  it('renders a page with the tables, provider health and cache size', () => {
    const html = statsHtml(STATS, 'vscode-resource:', new Date(0));
    assert.match(html, /<th[^>]*>p95<\/th>/);
    assert.match(html, /<td>fast<\/td>/);
    assert.match(html, /cooling_down/);
    assert.match(html, /29\.5 s/);
    assert.match(html, /bytes: 148 B/);
    assert.match(html, /default-src 'none'/);
    assert.doesNotMatch(html, /<script/);
  });

  it('escapes whatever a config named its models', () => {
    const evil: Stats = { models: [{ ...STATS.models![0], model: '<img src=x onerror=alert(1)>' }] };
    const html = statsHtml(evil, 'x', new Date(0));
    assert.doesNotMatch(html, /<img/);
    assert.match(html, /&lt;img src=x onerror=alert\(1\)&gt;/);
    assert.equal(escapeHtml(`"'&`), '&quot;&#39;&amp;');
  });

  it('says what to do when nothing has been recorded yet', () => {
    const html = statsHtml(EMPTY, 'x', new Date(0));
    assert.match(html, /No requests yet/);
    assert.match(html, /Every provider is healthy/);
  });

  it('formats numbers for reading', () => {
    assert.equal(formatMs(1234.4), '1234 ms');
    assert.equal(formatMs(null), '–');
    assert.equal(formatCost(0), '$0');
    assert.equal(formatCost(0.00042), '$0.0004');
    assert.equal(formatCost(1.5), '$1.50');
    assert.equal(formatPercent(0.9876), '98.8%');
    assert.equal(formatPrice({ input: 0.15, output: 0.6 }), '0.15 / 0.6');
    assert.equal(formatPrice({ input: null, output: null, source: 'unknown' }), '– (unknown)');
    assert.equal(formatPrice(null), '–');
    assert.equal(formatEdits({ verified: 3, rejected: 1 }), '3 / 1 / 0');
    assert.equal(formatSuggestions({ shown: 12, accepted: 5, acceptance_rate: 0.4167 }), '12 shown, 5 accepted (41.7%)');
  });

  it('shows the spend against each limit, and when the budget is reached', () => {
    const budget = {
      today_usd: 0.5,
      month_usd: 3.25,
      limits: [{ scope: 'overall', period: 'daily', spent_usd: 0.5, limit_usd: 0.5 }],
      state: 'reached',
    };
    assert.deepEqual(budgetLines(budget), [
      'Spent $0.50 today, $3.25 this month.',
      'daily limit: $0.50 of $0.50',
      'Budget reached: only free models and the cache answer until it resets.',
    ]);
    assert.match(statsHtml({ ...STATS, budget }, 'x', new Date(0)), /<h2>Spend<\/h2>/);
    assert.equal(formatKinds(3, { timeout: 1, rate_limited: 2, ok: 0 }), '3 (timeout 1, rate limited 2)');
  });
});
