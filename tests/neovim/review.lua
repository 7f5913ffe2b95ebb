-- :SwitchboardReview on the buffer: progress, then the findings as diagnostics; the finding's
-- suggestion is applied through Neovim's plain code action UI (its own diagnostics at the
-- cursor go with the request).
local H = dofile(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)) .. '/harness.lua')

H.run(function()
  H.setup()
  local bufnr, client = H.open('calc.py', H.params.code)
  local ns = vim.lsp.diagnostic.get_namespace(client.id, false)
  vim.cmd('SwitchboardReview')
  H.wait('the review diagnostics', function()
    return #vim.diagnostic.get(bufnr, { namespace = ns }) == 2
  end)
  H.wait('the review to report its result', function()
    return #H.result.notifications > 0
  end)
  H.result.diagnostics = vim.tbl_map(function(d)
    return { lnum = d.lnum, severity = d.severity, source = d.source, message = d.message }
  end, vim.diagnostic.get(bufnr, { namespace = ns }))

  vim.api.nvim_win_set_cursor(0, { 2, 4 })
  local before = H.text(bufnr)
  vim.lsp.buf.code_action({
    apply = true,
    filter = function(action)
      return vim.startswith(action.title, 'Apply AI suggestion')
    end,
  })
  H.wait('the suggestion to be applied', function()
    return H.text(bufnr) ~= before
  end)
  H.result.text = H.text(bufnr)
  H.wait('the finding on the edited line to go', function()
    return #vim.diagnostic.get(bufnr, { namespace = ns }) == 1
  end)
end)
