-- Shared by the scenarios in this folder: load the shipped neovim/ config as a user would, drive
-- Neovim's own LSP client, and hand the observations back to pytest as JSON.
--
-- Run as `nvim --headless -u NONE -l <scenario>.lua PARAMS.json` (or -S, see H.insert); PARAMS
-- holds neovim_dir, cmd (the switchboard command line), workspace and out (the JSON result).
local H = {}

local function read(path)
  local file = assert(io.open(path, 'r'))
  local text = file:read('*a')
  file:close()
  return text
end

local function write(path, text)
  local file = assert(io.open(path, 'w'))
  file:write(text)
  file:close()
end

-- `nvim -l scenario.lua PARAMS.json`, or `nvim -S scenario.lua` with $SWITCHBOARD_SCENARIO_PARAMS
-- (for a scenario that types in Insert mode: see H.insert).
local params_path = (_G.arg and _G.arg[1]) or vim.env.SWITCHBOARD_SCENARIO_PARAMS
H.params = vim.json.decode(read(assert(params_path, 'usage: nvim -l scenario.lua PARAMS.json')))
H.result = { messages = {}, notifications = {}, progress = {}, statuses = {} }
H.timeout_ms = 15000

vim.opt.runtimepath:prepend(H.params.neovim_dir)
vim.o.swapfile = false

-- What the server tells the user, and what Neovim would show.
local show_message = vim.lsp.handlers['window/showMessage']
vim.lsp.handlers['window/showMessage'] = function(err, params, ctx)
  table.insert(H.result.messages, { type = params.type, message = params.message })
  return show_message(err, params, ctx)
end
vim.notify = function(message, level)
  table.insert(H.result.notifications, { message = message, level = level })
end
vim.api.nvim_create_autocmd('LspProgress', {
  callback = function(args)
    local value = args.data.params.value
    table.insert(H.result.progress, { kind = value.kind, title = value.title, message = value.message })
  end,
})
vim.api.nvim_create_autocmd('User', {
  pattern = 'SwitchboardStatus',
  callback = function(args)
    table.insert(H.result.statuses, args.data.status)
  end,
})

--- require('switchboard').setup() the way the README shows, with the test's server command.
function H.setup(opts)
  local defaults = {
    cmd = H.params.cmd,
    settings = { switchboard = { hover = { delayMs = 0 } } },
  }
  require('switchboard').setup(vim.tbl_deep_extend('force', defaults, opts or {}))
end

--- Wait for `predicate`, failing the scenario with `what` when it never holds.
function H.wait(what, predicate, ms)
  if not vim.wait(ms or H.timeout_ms, predicate, 20) then
    error('timed out waiting for ' .. what, 2)
  end
end

--- Write `text` to the workspace, edit it, set its filetype (with -u NONE there is no filetype
--- detection; the FileType event is what starts the client) and wait for the client.
---@return integer bufnr, vim.lsp.Client client
function H.open(name, text, filetype)
  local path = H.params.workspace .. '/' .. name
  write(path, text)
  vim.cmd.edit(vim.fn.fnameescape(path))
  local bufnr = vim.api.nvim_get_current_buf()
  vim.bo[bufnr].filetype = filetype or 'python'
  local client
  H.wait('the switchboard client to attach', function()
    client = vim.lsp.get_clients({ name = 'switchboard', bufnr = bufnr })[1]
    return client ~= nil and client.initialized == true
  end)
  return bufnr, client
end

--- A handshake with pytest for what only it can see (the fake provider): files beside `out`.
function H.signal(name)
  write(H.params.out .. '.' .. name, '')
end

function H.signalled(name)
  return vim.uv.fs_stat(H.params.out .. '.' .. name) ~= nil
end

function H.text(bufnr)
  return table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), '\n') .. '\n'
end

--- The lines of every floating window (hover previews, the stats table).
function H.floats()
  local floats = {}
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_config(win).relative ~= '' then
      local buf = vim.api.nvim_win_get_buf(win)
      table.insert(floats, {
        filetype = vim.bo[buf].filetype,
        lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false),
      })
    end
  end
  return floats
end

--- The model's `suggestions` entry ({shown, accepted, …}) in `switchboard.stats`, or nil.
function H.suggestions(client, bufnr, model)
  local answer = client:request_sync('workspace/executeCommand', {
    command = 'switchboard.stats', arguments = {},
  }, 5000, bufnr)
  for _, m in ipairs(answer and answer.result and answer.result.models or {}) do
    if m.model == model and type(m.suggestions) == 'table' then
      return m.suggestions
    end
  end
end

--- Wait until the server has counted one accepted suggestion by `model`; returns its entry.
function H.wait_accepted(client, bufnr, model)
  local suggestions
  H.wait('the acceptance to be counted', function()
    suggestions = H.suggestions(client, bufnr, model)
    return suggestions ~= nil and suggestions.accepted == 1
  end)
  return suggestions
end

-- Insert mode, driven as a user would: `H.insert(keys, steps)` feeds `keys` (e.g. 'A') and
-- stays in Insert mode, where Neovim's own loop handles what is typed, its autocmds and the
-- server's answers; meanwhile `steps` runs as a coroutine, resumed every 20 ms, typing with
-- H.type() and waiting with H.await(). When it returns (or fails), <Esc> ends Insert mode and
-- H.insert returns (or raises its error). Neovim 0.12's `nvim -l` exits as soon as a script
-- waits in Insert mode, so such a scenario runs with `nvim -S` (tests/test_neovim.py: typing).
local tick_ms = 20

--- Type `keys` (<>-notation) as if from the keyboard: mappings apply.
function H.type(keys)
  vim.api.nvim_input(keys)
  coroutine.yield()
end

--- Inside H.insert's steps: yield until `predicate` holds, failing after H.timeout_ms.
function H.await(what, predicate, ms)
  local deadline = vim.uv.now() + (ms or H.timeout_ms)
  while not predicate() do
    if vim.uv.now() > deadline then
      error('timed out waiting for ' .. what, 2)
    end
    coroutine.yield()
  end
end

function H.insert(keys, steps)
  local co = coroutine.create(steps)
  local failure
  local timer = assert(vim.uv.new_timer())
  timer:start(tick_ms, tick_ms, vim.schedule_wrap(function()
    if coroutine.status(co) == 'dead' then
      return
    end
    local ok, err = coroutine.resume(co)
    if not ok then
      failure = debug.traceback(co, err)
    end
    if coroutine.status(co) == 'dead' then
      timer:stop()
      vim.api.nvim_input('<Esc>')
    end
  end))
  -- 'x!': execute the keys and do not end Insert mode; this returns once <Esc> has.
  vim.api.nvim_feedkeys(vim.keycode(keys), 'tx!', false)
  if not timer:is_closing() then
    timer:close()
  end
  if failure then
    error(failure, 0)
  end
  if coroutine.status(co) ~= 'dead' then
    error('Insert mode ended before the steps did (keys: ' .. keys .. ')', 2)
  end
end

--- Run the scenario, write the result (with `error` set if it failed), stop the server
--- cleanly and exit with 0 or 1.
function H.run(scenario)
  local ok, err = xpcall(scenario, debug.traceback)
  if not ok then
    H.result.error = err
  end
  local clients = vim.lsp.get_clients({ name = 'switchboard' })
  for _, client in ipairs(clients) do
    client:stop()
  end
  vim.wait(5000, function()
    return #vim.lsp.get_clients({ name = 'switchboard' }) == 0
  end, 20)
  write(H.params.out, vim.json.encode(H.result))
  os.exit(ok and 0 or 1)
end

return H
