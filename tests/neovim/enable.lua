-- Without setup(): neovim/ on the runtimepath, `vim.lsp.config` for the command only, and
-- `vim.lsp.enable('switchboard')` picks up lsp/switchboard.lua (filetypes, root markers, the
-- status handler).
local H = dofile(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)) .. '/harness.lua')

H.run(function()
  vim.lsp.config('switchboard', { cmd = H.params.cmd })
  vim.lsp.enable('switchboard')
  local marker = assert(io.open(H.params.workspace .. '/.switchboard.toml', 'w'))
  marker:write('# project settings\n')
  marker:close()
  local text_buf = vim.api.nvim_create_buf(true, false)
  vim.bo[text_buf].filetype = 'text' -- not a configured filetype: no client
  local bufnr, client = H.open('calc.py', H.params.code)
  H.result.root_dir = client.root_dir
  H.result.text_buffer_clients = #vim.lsp.get_clients({ bufnr = text_buf })
  local response = client:request_sync('textDocument/hover', {
    textDocument = { uri = vim.uri_from_bufnr(bufnr) },
    position = { line = 0, character = 5 },
  }, H.timeout_ms, bufnr)
  H.result.hover = response and response.result
  H.wait('a status notification', function()
    return require('switchboard').status_info() ~= nil
  end)
  H.result.status = require('switchboard').status()
end)
