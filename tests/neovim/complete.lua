-- Neovim 0.11 has no inline completion (nor has 0.12 with setup({ inline_completion = false })):
-- the suggestion comes as a completion item (the server offers items to a client that does not
-- declare textDocument/inlineCompletion). The item's edit is applied as the completion menu
-- does, and its command tells the server it was taken.
local H = dofile(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)) .. '/harness.lua')

H.run(function()
  local opts = { settings = { switchboard = { completion = { debounceMs = 0 } } } }
  H.setup(vim.tbl_extend('force', opts, H.params.setup or {}))
  local bufnr, client = H.open('mean.py', H.params.code)
  -- Neovim 0.12 with setup({ inline_completion = false }): no ghost text, no accept key.
  local inline = vim.lsp.inline_completion
  H.result.inline_enabled = inline ~= nil and inline.is_enabled({ bufnr = bufnr })
  H.result.tab_key = vim.fn.maparg('<Tab>', 'i', false, true).desc or vim.NIL
  H.result.inline_capability = client.server_capabilities.inlineCompletionProvider ~= nil
  H.result.completion_capability = client.server_capabilities.completionProvider ~= nil
  local line, character = H.params.line, H.params.character
  local answers = vim.lsp.buf_request_sync(bufnr, 'textDocument/completion', {
    textDocument = { uri = vim.uri_from_bufnr(bufnr) },
    position = { line = line, character = character },
  }, 10000)
  local result = answers and answers[client.id] and answers[client.id].result
  local items = result and (result.items or result) or {}
  assert(#items > 0, 'no completion item: ' .. vim.inspect(answers))
  local item = items[1]
  H.result.label = item.label
  vim.lsp.util.apply_text_edits({ item.textEdit }, bufnr, client.offset_encoding)
  client:exec_cmd(item.command, { bufnr = bufnr })
  H.wait_accepted(client, bufnr, 'fast')
  H.result.text = H.text(bufnr)
end)
