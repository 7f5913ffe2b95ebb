-- The explain helper on a model that never answers: moving the cursor cancels the request, and
-- the server closes the provider connection (pytest watches the fake provider for that while
-- this script waits for its go-ahead).
local H = dofile(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)) .. '/harness.lua')

H.run(function()
  H.setup()
  local bufnr, client = H.open('calc.py', H.params.code)
  vim.api.nvim_win_set_cursor(0, { 1, 5 })
  require('switchboard').explain()
  H.wait('pytest to see the provider asked', function()
    return H.signalled('requested')
  end)
  H.result.pending_before = vim.tbl_count(client.requests)
  -- Under `-l` Neovim never enters its main loop, which is where a movement fires CursorMoved:
  -- move the cursor, then fire the event as the main loop would.
  vim.api.nvim_win_set_cursor(0, { 2, 0 })
  vim.api.nvim_exec_autocmds('CursorMoved', { buffer = bufnr, modeline = false })
  H.wait('the request to be cancelled', function()
    return vim.tbl_count(client.requests) == 0
  end)
  H.result.cursor = vim.api.nvim_win_get_cursor(0)
  H.signal('cancelled')
  H.wait('pytest to look at the provider', function()
    return H.signalled('checked')
  end)
  H.result.floats = H.floats()
end)
