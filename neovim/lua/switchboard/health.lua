--- :checkhealth switchboard
local M = {}

function M.check()
  local health = vim.health
  health.start('switchboard')
  if vim.fn.has('nvim-0.11') == 1 then
    health.ok('Neovim ' .. tostring(vim.version()))
  else
    health.error('Neovim 0.11 or later is needed (vim.lsp.config)')
  end
  local config = vim.lsp.config and vim.lsp.config.switchboard
  local cmd = config and config.cmd or { 'switchboard', 'lsp' }
  if type(cmd) == 'table' and vim.fn.executable(cmd[1]) == 1 then
    health.ok(('server command: %s'):format(table.concat(cmd, ' ')))
  elseif type(cmd) == 'table' then
    health.error(('%s is not executable'):format(cmd[1]), {
      'Install Switchboard (`uv tool install .` or `pipx install .` in its repository)',
      'or pass the full path: require("switchboard").setup({ cmd = { "/path/to/switchboard", "lsp" } })',
    })
  end
  local clients = vim.lsp.get_clients({ name = 'switchboard' })
  if #clients == 0 then
    health.info('no switchboard client is running (open a file of a configured filetype)')
  end
  for _, client in ipairs(clients) do
    health.ok(('client %d: root %s, position encoding %s, %s'):format(
      client.id, client.root_dir or '(single file)', client.offset_encoding,
      require('switchboard').status()))
  end
end

return M
