// What the status bar says about the gateway, from the server's `switchboard/status`
// notifications (server/switchboard/lsp/notify.py) and the client's own lifecycle.

export const STATUS_NOTIFICATION = 'switchboard/status';

export type GatewayState = 'working' | 'idle' | 'fellBack' | 'cached' | 'stale' | 'failing';

/** The params of `switchboard/status`. */
export interface StatusParams {
  state: GatewayState;
  task?: string | null;
  model?: string | null;
  provider?: string | null;
  cache?: string | null;
  detail?: string | null;
  /** Where spend stands against the budgets: 'ok', 'near' or 'reached'. */
  budget?: 'ok' | 'near' | 'reached' | null;
  /** Today's and this month's spend in USD, after the answer. */
  spend?: { today_usd: number; month_usd: number } | null;
}

/** The client's own states, before and around the server. */
export type ClientState = 'starting' | 'stopped' | 'notFound';

/** How the status bar item should look; `tone` picks the item's warning/error colours. */
export interface StatusView {
  text: string;
  tooltip: string;
  tone: 'normal' | 'warning' | 'error';
}

const NAME = 'Switchboard';
const CLICK = 'Click for routing stats.';

function who(model?: string | null, provider?: string | null): string {
  if (!model) return 'a model';
  return provider ? `${model} (${provider})` : model;
}

function forTask(task?: string | null): string {
  return task ? ` for ${task}` : '';
}

function lines(...parts: (string | null | undefined | false)[]): string {
  return parts.filter(Boolean).join('\n');
}

function money(usd: number): string {
  return usd === 0 ? '$0' : usd < 0.01 ? `$${usd.toFixed(4)}` : `$${usd.toFixed(2)}`;
}

/** The view of one `switchboard/status` notification; a spent budget is always visible, and
 * the tooltip says what was spent today and this month. */
export function renderStatus(params: StatusParams): StatusView {
  const view = withSpend(renderGateway(params), params.spend);
  if (params.budget !== 'reached') return view;
  return {
    text: `${view.text} (budget reached)`,
    tooltip: lines(
      'Budget reached: only free models and the cache answer until it resets.',
      view.tooltip,
    ),
    tone: view.tone === 'error' ? 'error' : 'warning',
  };
}

function withSpend(view: StatusView, spend: StatusParams['spend']): StatusView {
  if (!spend) return view;
  const spent = `Spent ${money(spend.today_usd)} today, ${money(spend.month_usd)} this month.`;
  return { ...view, tooltip: lines(view.tooltip, spent) };
}

function renderGateway(params: StatusParams): StatusView {
  const { state, task, model, provider, detail } = params;
  switch (state) {
    case 'working':
      return {
        text: `$(sync~spin) ${NAME}: ${model ?? task ?? 'working'}…`,
        tooltip: lines(`Asking ${who(model, provider)}${forTask(task)}.`, CLICK),
        tone: 'normal',
      };
    case 'fellBack':
      return {
        text: `$(arrow-swap) ${NAME}: fell back to ${model ?? 'another model'}`,
        tooltip: lines(
          `Answered by ${who(model, provider)}${forTask(task)} after the first choice failed.`,
          detail && `Attempts: ${detail}`,
          CLICK,
        ),
        tone: 'warning',
      };
    case 'cached':
      return {
        text: `$(database) ${NAME}: cached${model ? ` (${model})` : ''}`,
        tooltip: lines(`Served from the cache${forTask(task)}: an earlier answer by ${who(model, provider)}.`, CLICK),
        tone: 'normal',
      };
    case 'stale':
      return {
        text: `$(database) ${NAME}: stale cache`,
        tooltip: lines(
          `No model could answer${forTask(task)}: served an older cached answer by ${who(model, provider)}.`,
          detail && `Attempts: ${detail}`,
          CLICK,
        ),
        tone: 'warning',
      };
    case 'failing':
      return {
        text: `$(error) ${NAME}: all providers failing`,
        tooltip: lines(
          `No model could answer${forTask(task)} and nothing was cached.`,
          detail && `Attempts: ${detail}`,
          CLICK,
        ),
        tone: 'error',
      };
    case 'idle':
    default:
      return {
        text: model ? `$(radio-tower) ${NAME}: ${model}` : `$(radio-tower) ${NAME}`,
        tooltip: lines(
          model ? `Last answer${forTask(task)}: ${who(model, provider)}.` : 'Idle.',
          CLICK,
        ),
        tone: 'normal',
      };
  }
}

/** The view while the client itself starts, stops or cannot find its server. */
export function renderClientState(state: ClientState, detail?: string): StatusView {
  switch (state) {
    case 'starting':
      return { text: `$(loading~spin) ${NAME}`, tooltip: 'Starting the Switchboard server…', tone: 'normal' };
    case 'notFound':
      return {
        text: `$(warning) ${NAME}: no server`,
        tooltip: lines(detail ?? 'The Switchboard server was not found.', 'Click for what to do.'),
        tone: 'error',
      };
    case 'stopped':
    default:
      return {
        text: `$(circle-slash) ${NAME}: stopped`,
        tooltip: lines(detail ?? 'The Switchboard server is not running.', 'Click for what to do.'),
        tone: 'error',
      };
  }
}
