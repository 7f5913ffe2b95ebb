import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { advise, isConfigError } from '../src/diagnosis';

const CONFIG_ERROR = 'switchboard: /home/me/sb.toml: models.fast.context_window: expected an integer, got a string\n';
/** What `switchboard.serverPath = /usr/bin/python3` gets: `python3 lsp`. */
const PYTHON_AS_SERVER = "/usr/bin/python3: can't open file '/work/lsp': [Errno 2] No such file or directory\n";

describe('diagnosing a server that is not running', () => {
  it('blames the config only for the server\'s own config error', () => {
    assert.ok(isConfigError({ code: 2, stderr: CONFIG_ERROR, atStart: true }));
    assert.ok(isConfigError({ code: 2, stderr: `INFO starting\n${CONFIG_ERROR}\n`, atStart: true }));
    assert.ok(!isConfigError({ code: 2, stderr: PYTHON_AS_SERVER, atStart: true }));
    assert.ok(!isConfigError({ code: 2, stderr: '', atStart: true }));
    assert.ok(!isConfigError({ code: 1, stderr: CONFIG_ERROR, atStart: true }));
  });

  it('sends a config error to the config file', () => {
    const advice = advise({ code: 2, stderr: CONFIG_ERROR, origin: 'PATH', atStart: true });
    assert.match(advice.hint, /Fix the config file/);
    assert.equal(advice.actions[0], 'Open Config');
  });

  it('says a serverPath that is a Python interpreter is the wrong program, not a config error', () => {
    const advice = advise({ code: 2, stderr: PYTHON_AS_SERVER, origin: 'switchboard.serverPath', atStart: true });
    assert.doesNotMatch(advice.hint, /config file/);
    assert.ok(!advice.actions.includes('Open Config'));
    assert.match(advice.hint, /switchboard\.serverPath is the `switchboard` executable/);
    assert.match(advice.hint, /switchboard\.pythonPath/);
    assert.equal(advice.actions[0], 'Open Settings');
  });

  it('says how to install the server when none was found', () => {
    const advice = advise({ code: undefined, stderr: '', atStart: true });
    assert.match(advice.hint, /uv tool install \/path\/to\/switchboard/);
    assert.doesNotMatch(advice.hint, /install switchboard\b/);
    assert.equal(advice.actions[0], 'Open Settings');
  });

  it('points to the log when a running server kept crashing', () => {
    const advice = advise({ code: null, stderr: 'Traceback...\nMemoryError\n', origin: 'PATH', atStart: false });
    assert.match(advice.hint, /log says why/);
    assert.equal(advice.actions[0], 'Show Log');
  });
});
