-- Neovim's own code-action key with no diagnostics of its own: Neovim sends a server only the
-- diagnostics that server published, so "Fix with AI" comes from Switchboard's background
-- checks (ruff, run on open), and vim.lsp.buf.code_action resolves and applies it.
local H = dofile(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)) .. '/harness.lua')

H.run(function()
  H.setup()
  local bufnr, client = H.open('hello.py', H.params.code)
  local uri = vim.uri_from_bufnr(bufnr)
  H.wait('the background checks to report', function()
    local answer = client:request_sync('workspace/executeCommand', {
      command = 'switchboard.checkedDiagnostics',
      arguments = { uri },
    }, 5000, bufnr)
    local result = answer and answer.result
    return result ~= nil and #result.diagnostics > 0
  end, 30000)
  vim.api.nvim_win_set_cursor(0, { 2, 4 })
  local offered = {}
  vim.lsp.buf.code_action({
    apply = true,
    context = { only = { 'quickfix' } },
    filter = function(action)
      table.insert(offered, action.title)
      return action.title == 'Fix with AI: Undefined name `nam`'
    end,
  })
  local before = H.text(bufnr)
  H.wait('the fix to be applied', function()
    return H.text(bufnr) ~= before
  end)
  H.result.offered = offered
  H.result.text = H.text(bufnr)
end)
