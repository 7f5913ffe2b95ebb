--- Switchboard for Neovim 0.11+: the language server through vim.lsp.config, plus helpers.
--- On 0.12+ suggestions show as ghost text (vim.lsp.inline_completion), <Tab> takes them.
---
---   require('switchboard').setup({ keymaps = { fix = '<leader>af' } })
---
--- The server does the work (routing, cache, fallback); this module only starts it, passes the
--- `switchboard` settings, shows its `switchboard/status` notifications and wraps its commands.
local M = {}

M.NAME = 'switchboard'

-- Languages where linters and compilers produce diagnostics worth fixing. Any filetype works:
-- pass your own list to setup().
M.FILETYPES = {
  'bash', 'c', 'cpp', 'cs', 'css', 'dart', 'elixir', 'go', 'haskell', 'html', 'java',
  'javascript', 'javascriptreact', 'json', 'kotlin', 'lua', 'ocaml', 'php', 'python', 'r',
  'ruby', 'rust', 'scala', 'sh', 'sql', 'swift', 'terraform', 'toml', 'typescript',
  'typescriptreact', 'vue', 'yaml', 'zig',
}

-- Options that belong to this module, not to vim.lsp.config.
local OWN_OPTIONS = { keymaps = true, commands = true, status_format = true, inline_completion = true }

-- The insert-mode key that takes the inline suggestion (Neovim 0.12+), as Neovim's own docs
-- suggest for vim.lsp.inline_completion.get(); with no suggestion shown it does what it did
-- before (Neovim's default <Tab> jumps in a snippet, else types a Tab).
M.ACCEPT_KEY = '<Tab>'

-- The latest `switchboard/status` params per client id.
local statuses = {}

local function notify(message, level)
  vim.notify('Switchboard: ' .. message, level or vim.log.levels.INFO)
end

--- The `switchboard/status` handler: remembers the state and tells statuslines to redraw.
---@param result {state: string, task?: string, model?: string, provider?: string, cache?: string, detail?: string}
local function on_status(_, result, ctx)
  if type(result) ~= 'table' then
    return
  end
  statuses[ctx.client_id] = result
  vim.api.nvim_exec_autocmds('User', {
    pattern = 'SwitchboardStatus',
    modeline = false,
    data = { client_id = ctx.client_id, status = result },
  })
  pcall(vim.cmd.redrawstatus)
end

M.handlers = { ['switchboard/status'] = on_status }

--- The configuration `vim.lsp.config('switchboard', ...)` gets when setup() has no options.
---@return vim.lsp.Config
function M.default_config()
  return {
    cmd = { 'switchboard', 'lsp' },
    filetypes = vim.deepcopy(M.FILETYPES),
    root_markers = { '.switchboard.toml', '.git' },
    handlers = vim.deepcopy(M.handlers),
  }
end

--- The switchboard client for a buffer (the current one by default), else any running one.
---@param bufnr? integer
---@return vim.lsp.Client?
function M.client(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local client = vim.lsp.get_clients({ name = M.NAME, bufnr = bufnr })[1]
  return client or vim.lsp.get_clients({ name = M.NAME })[1]
end

local function attached_client(bufnr)
  local client = vim.lsp.get_clients({ name = M.NAME, bufnr = bufnr })[1]
  if not client then
    notify('not attached to this buffer', vim.log.levels.WARN)
  end
  return client
end

-- -- status ----------------------------------------------------------------------------------

--- The latest status the server sent for the buffer's client, as sent (nil before any).
---@param bufnr? integer
function M.status_info(bufnr)
  local client = M.client(bufnr)
  return client and statuses[client.id] or nil
end

local function default_status_format(info)
  local who = info.model and (info.provider and ('%s (%s)'):format(info.model, info.provider) or info.model)
  local state = info.state
  if state == 'working' then
    return ('switchboard: %s…%s'):format(info.task or 'working', info.model and (' ' .. info.model) or '')
  elseif state == 'fellBack' then
    return ('switchboard: %s, fell back'):format(who or '?')
  elseif state == 'cached' then
    return ('switchboard: %s, cached'):format(who or '?')
  elseif state == 'stale' then
    return ('switchboard: %s, stale cache'):format(who or '?')
  elseif state == 'failing' then
    return ('switchboard: %s failing'):format(info.task or 'request')
  end
  return who and ('switchboard: %s'):format(who) or 'switchboard'
end

local function with_budget(format)
  return function(info)
    local text = format(info)
    if info.budget == 'reached' then
      return text .. ', budget reached'
    end
    return text
  end
end

local status_format = with_budget(default_status_format)

--- A short statusline text for the buffer: '' when no switchboard client runs, otherwise what
--- the gateway is doing or who answered last (`switchboard: fast (p)`, `…, fell back`, …).
---@param bufnr? integer
---@return string
function M.status(bufnr)
  local client = M.client(bufnr)
  if not client then
    return ''
  end
  local info = statuses[client.id]
  if not info then
    return 'switchboard'
  end
  return status_format(info)
end

-- -- diagnostics sent with code action requests ----------------------------------------------

-- Neovim sends a client only its own diagnostics with a code action request; Switchboard fixes
-- anyone's (a linter's, a compiler's, another server's), so the helpers send all of them.
local function to_lsp(bufnr, diagnostic, encoding, own_namespaces)
  local lsp = diagnostic.user_data and diagnostic.user_data.lsp
  if lsp and own_namespaces[diagnostic.namespace] then
    return lsp -- ours: keeps the data that links a finding to its suggestion
  end
  local function position(lnum, col)
    local line = vim.api.nvim_buf_get_lines(bufnr, lnum, lnum + 1, false)[1] or ''
    col = math.min(math.max(col or 0, 0), #line)
    return { line = lnum, character = vim.str_utfindex(line, encoding, col, false) }
  end
  local end_lnum = diagnostic.end_lnum or diagnostic.lnum
  return {
    range = {
      start = position(diagnostic.lnum, diagnostic.col),
      ['end'] = position(end_lnum, diagnostic.end_col or diagnostic.col),
    },
    severity = diagnostic.severity,
    message = diagnostic.message,
    source = diagnostic.source,
    code = diagnostic.code,
  }
end

--- The diagnostics for a code action request at the cursor: those under the cursor if any,
--- else all on the cursor's line, from every namespace, in the client's position encoding.
local function cursor_diagnostics(bufnr, client)
  local row, col = unpack(vim.api.nvim_win_get_cursor(0))
  local lnum = row - 1
  local on_line = vim.diagnostic.get(bufnr, { lnum = lnum })
  local function before(l1, c1, l2, c2)
    return l1 < l2 or (l1 == l2 and c1 < c2)
  end
  local under = vim.tbl_filter(function(d)
    local end_lnum, end_col = d.end_lnum or d.lnum, d.end_col or d.col
    if not before(d.lnum, d.col, end_lnum, end_col) then
      end_lnum, end_col = d.lnum, d.col + 1 -- an empty range covers the character it starts at
    end
    return not before(lnum, col, d.lnum, d.col) and before(lnum, col, end_lnum, end_col)
  end, on_line)
  local own = {
    [vim.lsp.diagnostic.get_namespace(client.id, false)] = true,
    [vim.lsp.diagnostic.get_namespace(client.id, true)] = true,
  }
  return vim.tbl_map(function(d)
    return to_lsp(bufnr, d, client.offset_encoding, own)
  end, #under > 0 and under or on_line)
end

--- Whether a code action (or command) came from Switchboard.
function M.is_switchboard_action(action)
  if type(action.data) == 'table' and action.data.switchboard == 1 then
    return true
  end
  local command = type(action.command) == 'table' and action.command.command or action.command
  if type(command) == 'string' and vim.startswith(command, 'switchboard.') then
    return true
  end
  return vim.startswith(action.title or '', 'Apply AI suggestion')
end

-- -- helpers for keymaps -----------------------------------------------------------------------

--- Fix the diagnostic under the cursor (or on its line) with the `fix` route, in place. With
--- several diagnostics there, pick one from the menu.
function M.fix()
  local bufnr = vim.api.nvim_get_current_buf()
  local client = attached_client(bufnr)
  if not client then
    return
  end
  local diagnostics = cursor_diagnostics(bufnr, client)
  if #diagnostics == 0 then
    notify('no diagnostic on this line to fix')
    return
  end
  vim.lsp.buf.code_action({
    apply = true,
    context = { only = { 'quickfix' }, diagnostics = diagnostics },
    filter = function(action)
      return M.is_switchboard_action(action) and vim.startswith(action.title, 'Fix with AI')
    end,
  })
end

--- Every Switchboard action here: fixes and suggestions for the line's diagnostics, the
--- selection actions in visual mode (rewrite, docstring, your own), and `AI: Review file`.
function M.actions()
  local bufnr = vim.api.nvim_get_current_buf()
  local client = attached_client(bufnr)
  if not client then
    return
  end
  vim.lsp.buf.code_action({
    context = { diagnostics = cursor_diagnostics(bufnr, client) },
    filter = M.is_switchboard_action,
  })
end

local explain_request -- {client, id} of the explanation being waited for

--- Explain the code under the cursor (the `explain` route) in a floating window. Moving the
--- cursor before the answer arrives cancels the request, and with it the provider call.
function M.explain()
  local bufnr = vim.api.nvim_get_current_buf()
  local client = attached_client(bufnr)
  if not client then
    return
  end
  if explain_request then
    explain_request.client:cancel_request(explain_request.id)
  end
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
  local ok, id = client:request('textDocument/hover', params, function(err, result)
    explain_request = nil
    if err then
      if err.code ~= vim.lsp.protocol.ErrorCodes.RequestCancelled then
        notify(err.message, vim.log.levels.WARN)
      end
      return
    end
    if not (result and result.contents) then
      notify('no explanation here')
      return
    end
    local lines = vim.lsp.util.convert_input_to_markdown_lines(result.contents)
    vim.lsp.util.open_floating_preview(lines, 'markdown', {
      border = 'rounded',
      focus_id = 'switchboard-explain',
      max_width = math.min(100, math.floor(vim.o.columns * 0.8)),
    })
  end, bufnr)
  if not ok then
    return
  end
  explain_request = { client = client, id = id }
  vim.api.nvim_create_autocmd({ 'CursorMoved', 'InsertEnter', 'BufLeave' }, {
    buffer = bufnr,
    once = true,
    callback = function()
      if explain_request and explain_request.id == id then
        client:cancel_request(id)
        explain_request = nil
      end
    end,
  })
end

--- Review the whole buffer with the `review` route: progress while the model reads, then the
--- findings as diagnostics (source `switchboard`). `on_done(err, result)` is optional.
---@param bufnr? integer
---@param on_done? fun(err: lsp.ResponseError?, result: table?)
function M.review(bufnr, on_done)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local client = attached_client(bufnr)
  if not client then
    return
  end
  local uri = vim.uri_from_bufnr(bufnr)
  client:exec_cmd(
    { title = 'AI: Review file', command = 'switchboard.review', arguments = { uri } },
    { bufnr = bufnr },
    function(err, result)
      if on_done then
        on_done(err, result)
      elseif err then
        notify('review failed: ' .. err.message, vim.log.levels.ERROR)
      elseif type(result) == 'table' and result.error then
        notify('review: ' .. result.error, vim.log.levels.WARN)
      elseif type(result) == 'table' then
        local served = type(result.served_by) == 'table' and result.served_by or {}
        notify(('review: %d finding%s%s'):format(
          result.findings or 0,
          result.findings == 1 and '' or 's',
          served.model and (' (%s, %s)'):format(served.model, served.provider) or ''
        ))
      end
    end
  )
end

--- `switchboard.stats` (per-model usage, provider health, cache), shown in a float.
---@param on_done? fun(err: lsp.ResponseError?, stats: table?)
function M.stats(on_done)
  local client = M.client()
  if not client then
    notify('not running', vim.log.levels.WARN)
    return
  end
  client:exec_cmd({ title = 'Switchboard stats', command = 'switchboard.stats' }, {}, function(err, stats)
    if on_done then
      return on_done(err, stats)
    end
    if err then
      notify('stats failed: ' .. err.message, vim.log.levels.ERROR)
      return
    end
    M.show_lines(require('switchboard.stats').format(stats), 'Switchboard stats')
  end)
end

--- Clear the response cache (and, in team mode, the team's entries for this policy).
function M.clear_cache()
  local client = M.client()
  if not client then
    notify('not running', vim.log.levels.WARN)
    return
  end
  client:exec_cmd({ title = 'Clear cache', command = 'switchboard.clearCache' }, {}, function(err)
    if err then
      notify('clearing the cache failed: ' .. err.message, vim.log.levels.ERROR)
    else
      notify('cache cleared')
    end
  end)
end

--- Show lines in a scratch buffer in a centred float; `q` or <Esc> closes it.
---@return integer bufnr, integer winid
function M.show_lines(lines, title)
  local buf = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
  vim.bo[buf].bufhidden = 'wipe'
  vim.bo[buf].filetype = 'switchboard-stats'
  local width = 20
  for _, line in ipairs(lines) do
    width = math.max(width, vim.fn.strdisplaywidth(line))
  end
  width = math.min(width, vim.o.columns - 4)
  local height = math.min(#lines, math.max(1, vim.o.lines - 4))
  local win = vim.api.nvim_open_win(buf, true, {
    relative = 'editor',
    width = width,
    height = height,
    row = math.floor((vim.o.lines - height) / 2) - 1,
    col = math.floor((vim.o.columns - width) / 2),
    style = 'minimal',
    border = 'rounded',
    title = ' ' .. title .. ' ',
    title_pos = 'center',
  })
  for _, key in ipairs({ 'q', '<Esc>' }) do
    vim.keymap.set('n', key, '<cmd>close<cr>', { buffer = buf, nowait = true })
  end
  return buf, win
end

-- -- inline completion (Neovim 0.12+) --------------------------------------------------------

--- Whether this Neovim draws inline suggestions (ghost text): vim.lsp.inline_completion, 0.12+.
function M.has_inline_completion()
  return vim.lsp.inline_completion ~= nil
end

--- Take the inline suggestion shown in the buffer. Neovim inserts it and then runs the item's
--- command (`switchboard.acceptCompletion`), which is how the server counts it as accepted.
--- Returns false when no suggestion is shown (or on Neovim 0.11, which has none).
---@param bufnr? integer
---@return boolean
function M.accept_suggestion(bufnr)
  if not M.has_inline_completion() then
    return false
  end
  return vim.lsp.inline_completion.get({ bufnr = bufnr })
end

local ACCEPT_DESC = 'Switchboard: accept the inline suggestion'

--- What `lhs` did in Insert mode before this module mapped it (`previous`: maparg()'s dict, {}
--- when unmapped), as a function returning the keys to type instead: Neovim's own <Tab> jumps in
--- a snippet or types a Tab, a plugin's may select a menu item; unmapped, the key itself.
local function previous_keys(previous, lhs)
  if next(previous) == nil then
    return function()
      return lhs
    end
  end
  return function()
    if previous.callback then
      local keys = previous.callback()
      return previous.expr == 1 and keys or ''
    end
    return previous.expr == 1 and vim.api.nvim_eval(previous.rhs) or previous.rhs
  end
end

--- The buffer-local insert-mode key: accept the suggestion if one is shown, else what the key
--- did before. Attached again (:LspRestart), it keeps the mapping it made.
local function map_accept_key(bufnr, lhs)
  local previous = vim.api.nvim_buf_call(bufnr, function()
    return vim.fn.maparg(lhs, 'i', false, true)
  end)
  if previous.desc == ACCEPT_DESC then
    return
  end
  local otherwise = previous_keys(previous, lhs)
  vim.keymap.set('i', lhs, function()
    if not M.accept_suggestion(bufnr) then
      return otherwise()
    end
  end, { buffer = bufnr, expr = true, desc = ACCEPT_DESC })
end

--- On attach: show the server's suggestions as ghost text in this buffer. Note that
--- vim.lsp.inline_completion is enabled per buffer, so another attached server that offers
--- inline completions shows its suggestions here too.
local function enable_inline_completion(bufnr, keymaps)
  vim.lsp.inline_completion.enable(true, { bufnr = bufnr })
  local lhs = keymaps.accept
  if lhs == nil then
    lhs = M.ACCEPT_KEY
  end
  if lhs then
    map_accept_key(bufnr, lhs)
  end
end

--- `before_init` for `inline_completion = false` on 0.12: leave textDocument/inlineCompletion
--- out of the client capabilities sent, so the server offers completion items as on 0.11.
local function without_inline_capability(before_init)
  return function(params, config)
    if params.capabilities and params.capabilities.textDocument then
      params.capabilities.textDocument.inlineCompletion = nil
    end
    if before_init then
      before_init(params, config)
    end
  end
end

-- -- setup -------------------------------------------------------------------------------------

local KEYMAP_HELPERS = {
  fix = { fn = 'fix', modes = 'n', desc = 'Switchboard: fix the diagnostic here' },
  explain = { fn = 'explain', modes = 'n', desc = 'Switchboard: explain the code here' },
  review = { fn = 'review', modes = 'n', desc = 'Switchboard: review this file' },
  actions = { fn = 'actions', modes = { 'n', 'x' }, desc = 'Switchboard: actions' },
}

local function set_keymaps(bufnr, keymaps)
  for name, lhs in pairs(keymaps) do
    local helper = KEYMAP_HELPERS[name]
    if name == 'accept' then
      -- the inline completion key: set with inline completion, on Neovim 0.12+
    elseif helper == nil then
      notify(('unknown keymap %q (expected fix, explain, review, actions or accept)'):format(name), vim.log.levels.WARN)
    elseif lhs then
      vim.keymap.set(helper.modes, lhs, function()
        M[helper.fn]()
      end, { buffer = bufnr, desc = helper.desc })
    end
  end
end

local function create_commands()
  local command = vim.api.nvim_create_user_command
  command('SwitchboardStats', function()
    M.stats()
  end, { desc = 'Switchboard: usage, latency, failures, cost and cache hits per model' })
  command('SwitchboardReview', function()
    M.review()
  end, { desc = 'Switchboard: review the current buffer' })
  command('SwitchboardClearCache', function()
    M.clear_cache()
  end, { desc = 'Switchboard: clear the response cache' })
  command('SwitchboardFix', function()
    M.fix()
  end, { desc = 'Switchboard: fix the diagnostic under the cursor' })
  command('SwitchboardExplain', function()
    M.explain()
  end, { desc = 'Switchboard: explain the code under the cursor' })
end

local augroup

--- Configure and enable the `switchboard` language server.
---
--- Options are those of vim.lsp.config (cmd, filetypes, root_markers, settings, init_options,
--- capabilities, on_attach…) plus:
---   keymaps = { fix = lhs, explain = lhs, review = lhs, actions = lhs }  (buffer-local, on attach)
---             accept = '<Tab>'   -- insert mode, Neovim 0.12+: take the inline suggestion (false: no key)
---   commands = true          -- :SwitchboardStats, :SwitchboardReview, :SwitchboardClearCache…
---   status_format = fn(info) -- what status() shows for a `switchboard/status` params table
---   inline_completion = true -- Neovim 0.12+: suggestions as ghost text (vim.lsp.inline_completion);
---                               false: as completion items, as on Neovim 0.11
---@param opts? table
function M.setup(opts)
  opts = opts or {}
  if vim.fn.has('nvim-0.11') == 0 then
    notify('needs Neovim 0.11 or later (vim.lsp.config)', vim.log.levels.ERROR)
    return
  end
  local config = M.default_config()
  for key, value in pairs(opts) do
    if not OWN_OPTIONS[key] then
      config[key] = value
    end
  end
  config.handlers = vim.tbl_extend('force', vim.deepcopy(M.handlers), opts.handlers or {})
  -- The server reads its settings from initializationOptions at start and pulls them again with
  -- workspace/configuration; sending both means the very first hover already obeys them.
  local section = vim.tbl_get(config, 'settings', M.NAME)
  if section ~= nil and next(section) == nil then
    config.settings[M.NAME] = nil -- an empty table would go out as a JSON array
    section = nil
  end
  if config.init_options == nil and section ~= nil then
    config.init_options = section
  end
  status_format = with_budget(opts.status_format or default_status_format)
  local inline = M.has_inline_completion() and opts.inline_completion ~= false
  if M.has_inline_completion() and not inline then
    config.before_init = without_inline_capability(config.before_init)
  end

  vim.lsp.config(M.NAME, config)
  vim.lsp.enable(M.NAME)

  augroup = vim.api.nvim_create_augroup('switchboard', { clear = true })
  local keymaps = opts.keymaps or {}
  if next(keymaps) or inline then
    vim.api.nvim_create_autocmd('LspAttach', {
      group = augroup,
      callback = function(args)
        local client = vim.lsp.get_client_by_id(args.data.client_id)
        if not (client and client.name == M.NAME) then
          return
        end
        set_keymaps(args.buf, keymaps)
        if inline and client:supports_method('textDocument/inlineCompletion') then
          enable_inline_completion(args.buf, keymaps)
        end
      end,
    })
  end
  vim.api.nvim_create_autocmd('LspDetach', {
    group = augroup,
    callback = function(args)
      local client = vim.lsp.get_client_by_id(args.data.client_id)
      if client and client.name == M.NAME and #vim.lsp.get_buffers_by_client_id(client.id) <= 1 then
        statuses[client.id] = nil
      end
    end,
  })
  if opts.commands ~= false then
    create_commands()
  end
end

return M
