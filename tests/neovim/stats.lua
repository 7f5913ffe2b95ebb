-- :SwitchboardFix on a diagnostic, then :SwitchboardStats shows the per-model table in a
-- float; :SwitchboardClearCache empties the cache, which the next table shows.
local H = dofile(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)) .. '/harness.lua')

local function stats_window()
  local floats
  H.wait('the stats window', function()
    floats = vim.tbl_filter(function(f)
      return f.filetype == 'switchboard-stats'
    end, H.floats())
    return #floats == 1
  end)
  vim.cmd.close()
  return floats[1].lines
end

-- The server's answers as it sent them: Neovim's client drops JSON nulls when it decodes a
-- message, and pytest checks the raw `switchboard.stats` answer against the stats schema.
H.result.stats_answers = {}
local decode = vim.json.decode
vim.json.decode = function(body, opts)
  local value = decode(body, opts)
  if type(value) == 'table' and type(value.result) == 'table' and value.result.models ~= nil then
    table.insert(H.result.stats_answers, body)
  end
  return value
end

H.run(function()
  H.setup()
  local bufnr = H.open('calc.py', H.params.code)
  vim.diagnostic.set(vim.api.nvim_create_namespace('some-linter'), bufnr, {
    { lnum = 1, col = 4, end_lnum = 1, end_col = 16, message = 'wrong operator', source = 'ruff' },
  })
  vim.api.nvim_win_set_cursor(0, { 2, 4 })
  local before = H.text(bufnr)
  vim.cmd('SwitchboardFix')
  H.wait('the fix to be applied', function()
    return H.text(bufnr) ~= before
  end)
  vim.cmd('SwitchboardStats')
  H.result.stats = stats_window()
  vim.cmd('SwitchboardClearCache')
  H.wait('the cache to be cleared', function()
    return #H.result.notifications > 0
  end)
  vim.cmd('SwitchboardStats')
  H.result.stats_after_clear = stats_window()
end)
