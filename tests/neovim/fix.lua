-- A diagnostic from some other tool (a namespace of its own, as a linter plugin would set) gets
-- `Fix with AI` through Neovim's own code action UI, which resolves and applies the edit.
local H = dofile(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)) .. '/harness.lua')

H.run(function()
  H.setup()
  local bufnr, client = H.open('calc.py', H.params.code)
  H.result.offset_encoding = client.offset_encoding

  local linter = vim.api.nvim_create_namespace('some-linter')
  vim.diagnostic.set(linter, bufnr, {
    { lnum = 1, col = 4, end_lnum = 1, end_col = 16, message = 'wrong operator', source = 'ruff' },
  })
  vim.api.nvim_win_set_cursor(0, { 2, 4 })
  local offered = {}
  vim.lsp.buf.code_action({
    apply = true,
    context = {
      only = { 'quickfix' },
      diagnostics = vim.lsp.diagnostic.from(vim.diagnostic.get(bufnr, { namespace = linter })),
    },
    filter = function(action)
      table.insert(offered, action.title)
      return vim.startswith(action.title, 'Fix with AI')
    end,
  })
  local before = H.text(bufnr)
  H.wait('the fix to be applied', function()
    return H.text(bufnr) ~= before
  end)
  H.result.offered = offered
  H.result.text = H.text(bufnr)
  H.result.changedtick = vim.b[bufnr].changedtick
end)
