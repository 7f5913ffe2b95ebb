-- The settings table given to setup() reaches the server: hovers switched off, and the fix
-- route chosen from the user's own models.
local H = dofile(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)) .. '/harness.lua')

H.run(function()
  H.setup({
    settings = { switchboard = { hover = { enabled = false }, routes = { fix = { 'backup' } } } },
  })
  local bufnr, client = H.open('calc.py', H.params.code)
  local response = client:request_sync('textDocument/hover', {
    textDocument = { uri = vim.uri_from_bufnr(bufnr) },
    position = { line = 0, character = 5 },
  }, H.timeout_ms, bufnr)
  H.result.hover = response and response.result or vim.NIL
  H.result.init_options = client.config.init_options

  vim.diagnostic.set(vim.api.nvim_create_namespace('some-linter'), bufnr, {
    { lnum = 1, col = 4, end_lnum = 1, end_col = 16, message = 'wrong operator' },
  })
  vim.api.nvim_win_set_cursor(0, { 2, 4 })
  local before = H.text(bufnr)
  require('switchboard').fix()
  H.wait('the fix to be applied', function()
    return H.text(bufnr) ~= before
  end)
  H.result.text = H.text(bufnr)
end)
