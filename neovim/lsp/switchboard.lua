-- Neovim 0.11 reads lsp/<name>.lua from the runtimepath: with neovim/ on it,
-- `vim.lsp.enable('switchboard')` alone starts the server with these defaults.
-- require('switchboard').setup() does the same and adds commands, keymaps and the status line.
return require('switchboard').default_config()
