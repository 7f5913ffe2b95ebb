-- Hover through Neovim's request API, then the explain helper's floating window; the second
-- explanation of the same code comes from the cache and says so.
local H = dofile(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)) .. '/harness.lua')

H.run(function()
  H.setup()
  local bufnr = H.open('calc.py', H.params.code)
  local params = {
    textDocument = { uri = vim.uri_from_bufnr(bufnr) },
    position = { line = 0, character = 5 },
  }
  local responses = vim.lsp.buf_request_sync(bufnr, 'textDocument/hover', params, H.timeout_ms)
  local _, response = next(responses or {})
  assert(response and response.result, 'no hover: ' .. vim.inspect(responses))
  H.result.hover = response.result

  vim.api.nvim_win_set_cursor(0, { 1, 5 })
  require('switchboard').explain()
  H.wait('the explanation window', function()
    return #H.floats() > 0
  end)
  H.result.floats = H.floats()
  H.result.status = require('switchboard').status()
end)
