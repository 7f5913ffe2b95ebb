import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderClientState, renderStatus } from '../src/status';

describe('status bar rendering', () => {
  it('names the model while working', () => {
    const view = renderStatus({ state: 'working', task: 'fix', model: 'fast' });
    assert.equal(view.text, '$(sync~spin) Switchboard: fast…');
    assert.match(view.tooltip, /Asking fast for fix/);
    assert.equal(view.tone, 'normal');
  });

  it('shows a fallback as a warning, with the attempts', () => {
    const view = renderStatus({
      state: 'fellBack',
      task: 'fix',
      model: 'backup',
      provider: 'q',
      cache: 'miss',
      detail: 'fast: rate-limited',
    });
    assert.equal(view.text, '$(arrow-swap) Switchboard: fell back to backup');
    assert.match(view.tooltip, /Answered by backup \(q\) for fix/);
    assert.match(view.tooltip, /Attempts: fast: rate-limited/);
    assert.equal(view.tone, 'warning');
  });

  it('says when an answer came from the cache, fresh or stale', () => {
    assert.equal(renderStatus({ state: 'cached', task: 'explain', model: 'fast' }).text, '$(database) Switchboard: cached (fast)');
    const stale = renderStatus({ state: 'stale', task: 'explain', model: 'fast', detail: 'fast: server error' });
    assert.equal(stale.text, '$(database) Switchboard: stale cache');
    assert.equal(stale.tone, 'warning');
    assert.match(stale.tooltip, /No model could answer for explain/);
  });

  it('shows an outage as an error', () => {
    const view = renderStatus({ state: 'failing', task: 'review', model: null, detail: 'strong: timeout; fast: timeout' });
    assert.equal(view.text, '$(error) Switchboard: all providers failing');
    assert.equal(view.tone, 'error');
    assert.match(view.tooltip, /strong: timeout; fast: timeout/);
  });

  it('is quiet when idle, naming the last model if there was one', () => {
    assert.equal(renderStatus({ state: 'idle', task: null, model: null }).text, '$(radio-tower) Switchboard');
    assert.equal(renderStatus({ state: 'idle', task: 'fix', model: 'fast', provider: 'p' }).text, '$(radio-tower) Switchboard: fast');
    assert.equal(renderStatus({ state: 'idle', model: 'fast' }).tone, 'normal');
  });

  it('returns to idle on a bare {"state": "idle"}, as the server sends after a cancelled hover', () => {
    // The server said "working", then the request was cancelled: no answer, only idle.
    const working = renderStatus({ state: 'working', task: 'explain', model: 'fast' });
    const idle = renderStatus(JSON.parse('{"state":"idle"}'));
    assert.notEqual(idle.text, working.text);
    assert.doesNotMatch(idle.text, /~spin/);
    assert.equal(idle.text, '$(radio-tower) Switchboard');
    assert.equal(idle.tone, 'normal');
    assert.match(idle.tooltip, /^Idle\./);
  });

  it('treats an unknown state as idle rather than failing', () => {
    const view = renderStatus({ state: 'someday' as never, model: 'fast' });
    assert.equal(view.text, '$(radio-tower) Switchboard: fast');
  });

  it('shows the client\'s own states', () => {
    assert.equal(renderClientState('notFound', 'not on PATH').tone, 'error');
    assert.match(renderClientState('notFound', 'not on PATH').tooltip, /not on PATH/);
    assert.match(renderClientState('starting').text, /loading~spin/);
    assert.match(renderClientState('stopped').text, /stopped/);
  });
  it('says in the tooltip what was spent today and this month', () => {
    const view = renderStatus({
      state: 'idle',
      task: 'fix',
      model: 'fast',
      spend: { today_usd: 0.0123, month_usd: 1.5 },
    });
    assert.match(view.tooltip, /Spent \$0\.01 today, \$1\.50 this month\./);
    assert.doesNotMatch(renderStatus({ state: 'idle' }).tooltip, /Spent/);
  });
});
