// "Switchboard: Show Routing Stats": the server's `switchboard.stats` result as a readable page.

export interface ModelStats {
  model: string;
  provider: string;
  requests: number;
  ok: number;
  failures: number;
  failures_by_kind?: Record<string, number>;
  skipped_by_kind?: Record<string, number>;
  availability?: number | null;
  p50_ms?: number | null;
  p95_ms?: number | null;
  prompt_tokens?: number;
  completion_tokens?: number;
  cost_usd?: number;
  price_per_mtok?: Price | null;
  cache_hits?: { fresh?: number; stale?: number };
  edits?: { verified?: number; rejected?: number; not_verified?: number };
  suggestions?: { shown?: number; accepted?: number; acceptance_rate?: number | null };
}

/** USD per million tokens, and where it came from (config, provider listing, price table). */
export interface Price {
  input: number | null;
  output: number | null;
  source?: string;
}

export interface BudgetLimit {
  scope: string;
  period: string;
  spent_usd: number;
  limit_usd: number;
}

export interface Budget {
  today_usd: number;
  month_usd: number;
  limits?: BudgetLimit[];
  state?: string;
}

export interface Stats {
  models?: ModelStats[];
  providers?: Record<string, Record<string, unknown>>;
  cache?: Record<string, unknown>;
  budget?: Budget;
}

export function escapeHtml(value: unknown): string {
  return String(value)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const DASH = '–';

export function formatMs(ms: number | null | undefined): string {
  return typeof ms === 'number' ? `${Math.round(ms)} ms` : DASH;
}

export function formatCost(usd: number | undefined): string {
  if (typeof usd !== 'number') return DASH;
  return usd === 0 ? '$0' : usd < 0.01 ? `$${usd.toFixed(4)}` : `$${usd.toFixed(2)}`;
}

/** "0.15 / 0.6 (config)": USD per million tokens in and out, and where that came from. */
export function formatPrice(price: Price | null | undefined): string {
  if (!price) return DASH;
  const where = price.source ? ` (${price.source})` : '';
  if (typeof price.input !== 'number' || typeof price.output !== 'number') return `${DASH}${where}`;
  return `${price.input} / ${price.output}${where}`;
}

/** "3 / 1 / 0": edits the diagnostic's checker verified, rejected, or could not verify. */
export function formatEdits(edits: ModelStats['edits']): string {
  return `${edits?.verified ?? 0} / ${edits?.rejected ?? 0} / ${edits?.not_verified ?? 0}`;
}

/** "12 shown, 5 accepted (41.7%)": inline suggestions, where the model made any. */
export function formatSuggestions(suggestions: ModelStats['suggestions']): string {
  if (!suggestions || !suggestions.shown) return DASH;
  return `${suggestions.shown} shown, ${suggestions.accepted ?? 0} accepted (${formatPercent(suggestions.acceptance_rate)})`;
}

/** Today's and this month's spend, against each limit. */
export function budgetLines(budget: Budget | undefined): string[] {
  if (!budget) return [];
  const lines = [`Spent ${formatCost(budget.today_usd)} today, ${formatCost(budget.month_usd)} this month.`];
  for (const limit of budget.limits ?? []) {
    const scope = limit.scope === 'overall' ? '' : ` (${limit.scope})`;
    lines.push(`${limit.period} limit${scope}: ${formatCost(limit.spent_usd)} of ${formatCost(limit.limit_usd)}`);
  }
  if (budget.state === 'reached') lines.push('Budget reached: only free models and the cache answer until it resets.');
  else if (budget.state === 'near') lines.push('Near a budget limit.');
  return lines;
}

export function formatPercent(ratio: number | null | undefined): string {
  return typeof ratio === 'number' ? `${Math.round(ratio * 1000) / 10}%` : DASH;
}

export function formatBytes(bytes: unknown): string {
  if (typeof bytes !== 'number') return DASH;
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** "2 (rate_limited 1, timeout 1)": a count with its breakdown by kind. */
export function formatKinds(total: number, kinds: Record<string, number> | undefined): string {
  const parts = Object.entries(kinds ?? {})
    .filter(([, n]) => n > 0)
    .map(([kind, n]) => `${kind.replace(/_/g, ' ')} ${n}`);
  return parts.length ? `${total} (${parts.join(', ')})` : String(total);
}

function sum(kinds: Record<string, number> | undefined): number {
  return Object.values(kinds ?? {}).reduce((a, b) => a + b, 0);
}

const MODEL_COLUMNS = [
  'Model',
  'Provider',
  'Requests',
  'OK',
  'Failures',
  'Skipped',
  'Availability',
  'p50',
  'p95',
  'Tokens in / out',
  'Cost',
  'Price $/Mtok in / out',
  'Cache hits fresh / stale',
  'Edits verified / rejected / not verified',
  'Inline suggestions',
];

/** One table row of cells (already escaped) per model, in the columns above. */
export function modelRows(stats: Stats): string[][] {
  return (stats.models ?? []).map((m) => [
    m.model,
    m.provider,
    String(m.requests),
    String(m.ok),
    formatKinds(m.failures, m.failures_by_kind),
    formatKinds(sum(m.skipped_by_kind), m.skipped_by_kind),
    formatPercent(m.availability),
    formatMs(m.p50_ms),
    formatMs(m.p95_ms),
    `${m.prompt_tokens ?? 0} / ${m.completion_tokens ?? 0}`,
    formatCost(m.cost_usd),
    formatPrice(m.price_per_mtok),
    `${m.cache_hits?.fresh ?? 0} / ${m.cache_hits?.stale ?? 0}`,
    formatEdits(m.edits),
    formatSuggestions(m.suggestions),
  ].map(escapeHtml));
}

function table(columns: string[], rows: string[][], numericFrom: number): string {
  const head = columns.map((c, i) => `<th${i >= numericFrom ? ' class="num"' : ''}>${escapeHtml(c)}</th>`).join('');
  const body = rows
    .map((row) => `<tr>${row.map((cell, i) => `<td${i >= numericFrom ? ' class="num"' : ''}>${cell}</td>`).join('')}</tr>`)
    .join('\n');
  return `<div class="wide"><table>\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table></div>`;
}

function providerRows(stats: Stats): string[][] {
  return Object.entries(stats.providers ?? {}).map(([name, health]) => [
    name,
    String(health.state ?? DASH),
    String(health.consecutive_failures ?? 0),
    typeof health.cooling_for_s === 'number' && health.cooling_for_s > 0 ? `${health.cooling_for_s} s` : DASH,
    health.disabled_reason ? String(health.disabled_reason) : DASH,
  ].map(escapeHtml));
}

function cacheSummary(cache: Record<string, unknown> | undefined): string {
  if (!cache) return '<p>No cache information.</p>';
  const items = Object.entries(cache).map(([key, value]) => {
    const shown = key.endsWith('bytes') ? formatBytes(value) : String(value);
    return `<li>${escapeHtml(key.replace(/_/g, ' '))}: ${escapeHtml(shown)}</li>`;
  });
  return `<ul>${items.join('')}</ul>`;
}

/**
 * The whole page. No scripts: `cspSource` (the webview's) may only style it, and the one link
 * is a command URI that re-runs this command.
 */
export function statsHtml(stats: Stats, cspSource: string, generatedAt: Date): string {
  const models = stats.models ?? [];
  const modelSection = models.length
    ? table(MODEL_COLUMNS, modelRows(stats), 2)
    : '<p>No requests yet: use a quick fix, a hover or a review, then refresh.</p>';
  const providers = providerRows(stats);
  const providerSection = providers.length
    ? table(['Provider', 'State', 'Failures in a row', 'Cooling for', 'Disabled because'], providers, 2)
    : '<p>Every provider is healthy (none has failed yet).</p>';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${cspSource} 'unsafe-inline';">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>Switchboard: Routing Stats</title>
<style>
  body { font-family: var(--vscode-font-family); color: var(--vscode-foreground); padding: 0 1em; }
  table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
  th, td { padding: 0.3em 0.8em; border-bottom: 1px solid var(--vscode-panel-border, #8884); text-align: left; white-space: nowrap; }
  th { font-weight: 600; white-space: normal; vertical-align: bottom; }
  .wide { overflow-x: auto; }
  .num { text-align: right; font-variant-numeric: tabular-nums; }
  .muted { color: var(--vscode-descriptionForeground); }
</style>
</head>
<body>
<h1>Switchboard: Routing Stats</h1>
<p class="muted">Per model, since usage was first recorded. ${escapeHtml(generatedAt.toLocaleString())} · <a href="command:switchboard.showStats">Refresh</a></p>
<h2>Models</h2>
${modelSection}
<h2>Providers</h2>
${providerSection}
<h2>Cache</h2>
${cacheSummary(stats.cache)}
${stats.budget ? `<h2>Spend</h2>\n<ul>${budgetLines(stats.budget).map((line) => `<li>${escapeHtml(line)}</li>`).join('')}</ul>` : ''}
</body>
</html>
`;
}
