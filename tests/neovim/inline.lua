-- Neovim 0.12 shows the suggestion as ghost text through vim.lsp.inline_completion, which the
-- shipped module enables for Switchboard's buffers. As a user would: type in Insert mode, see
-- the ghost text, press the module's accept key (<Tab>); the item's command tells the server it
-- was taken. With nothing shown, the key types itself.
local H = dofile(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)) .. '/harness.lua')

--- The ghost text drawn in the buffer: the text of the inline completion extmarks.
local function ghost_text(bufnr)
  local ns = vim.api.nvim_get_namespaces()['nvim.lsp.inline_completion']
  if not ns then
    return nil
  end
  local texts = {}
  for _, mark in ipairs(vim.api.nvim_buf_get_extmarks(bufnr, ns, 0, -1, { details = true })) do
    for _, chunk in ipairs(mark[4].virt_text or {}) do
      table.insert(texts, chunk[1])
    end
  end
  return #texts > 0 and table.concat(texts) or nil
end

--- How the ghost text is drawn: 'inline' (pushing what follows the cursor right) or 'overlay'.
local function ghost_pos(bufnr)
  local ns = vim.api.nvim_get_namespaces()['nvim.lsp.inline_completion']
  local marks = vim.api.nvim_buf_get_extmarks(bufnr, ns, 0, -1, { details = true })
  return marks[1] and marks[1][4].virt_text_pos or vim.NIL
end

H.run(function()
  H.result.version = tostring(vim.version())
  H.setup({ settings = { switchboard = { completion = { debounceMs = 0 } } } })
  local bufnr, client = H.open('mean.py', H.params.code)
  H.result.declared_inline = client.capabilities.textDocument.inlineCompletion ~= nil
  H.result.inline_capability = client.server_capabilities.inlineCompletionProvider ~= nil
  H.result.completion_capability = client.server_capabilities.completionProvider ~= nil
  H.wait('inline completion to be enabled for the buffer', function()
    return vim.lsp.inline_completion.is_enabled({ bufnr = bufnr })
  end)
  H.result.tab_key = vim.fn.maparg('<Tab>', 'i', false, true).desc or vim.NIL

  -- At the end of the line (`A`), or before the character at `column` (`i`).
  vim.api.nvim_win_set_cursor(0, { H.params.line + 1, H.params.column or 0 })
  H.insert(H.params.column and 'i' or 'A', function()
    H.type(H.params.typed)
    H.await('the ghost text', function()
      return ghost_text(bufnr) ~= nil
    end)
    H.result.ghost_text = ghost_text(bufnr)
    H.result.ghost_pos = ghost_pos(bufnr)
    H.result.mode = vim.api.nvim_get_mode().mode
    local before = H.text(bufnr)
    H.type('<Tab>')
    H.await('the suggestion to be inserted', function()
      return H.text(bufnr) ~= before
    end)
    H.result.accepted_text = H.text(bufnr)
    H.result.ghost_after_accept = ghost_text(bufnr) or vim.NIL
    H.result.cursor = vim.api.nvim_win_get_cursor(0)
    -- Nothing shown now (the fake answers no more suggestions): the key does what Neovim's own
    -- <Tab> does outside a snippet, it types a Tab.
    H.type('<Tab>')
    H.await('the Tab to be typed', function()
      return H.text(bufnr) ~= H.result.accepted_text
    end)
  end)
  H.result.mode_after = vim.api.nvim_get_mode().mode
  H.result.text = H.text(bufnr)
  H.result.suggestions = H.wait_accepted(client, bufnr, 'fast')
  -- The table :SwitchboardStats shows.
  local answer = client:request_sync('workspace/executeCommand', {
    command = 'switchboard.stats', arguments = {},
  }, 5000, bufnr)
  H.result.stats_table = require('switchboard.stats').format(answer.result)
end)
