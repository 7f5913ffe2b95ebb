-- The user's fix key (a keymap from setup) on a linter's diagnostic while the fast model's
-- provider answers 429: the fix still lands, and the status line says it fell back.
local H = dofile(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)) .. '/harness.lua')

H.run(function()
  vim.g.mapleader = ' '
  H.setup({ keymaps = { fix = '<leader>af' } })
  local bufnr = H.open('calc.py', H.params.code)
  vim.diagnostic.set(vim.api.nvim_create_namespace('some-linter'), bufnr, {
    { lnum = 1, col = 4, end_lnum = 1, end_col = 16, message = 'wrong operator', source = 'ruff' },
  })
  vim.api.nvim_win_set_cursor(0, { 2, 8 })
  local before = H.text(bufnr)
  vim.api.nvim_feedkeys(vim.keycode('<leader>af'), 'x', false)
  H.wait('the fix to be applied', function()
    return H.text(bufnr) ~= before
  end)
  H.result.text = H.text(bufnr)
  H.wait('the fallback status', function()
    return (require('switchboard').status_info() or {}).state == 'fellBack'
  end)
  H.result.status = require('switchboard').status()
  H.result.status_info = require('switchboard').status_info()
  require('switchboard').stats(function(_, stats)
    H.result.stats = require('switchboard.stats').format(stats)
  end)
  H.wait('the stats', function()
    return H.result.stats ~= nil
  end)
end)
