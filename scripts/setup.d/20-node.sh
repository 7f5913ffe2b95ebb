#!/usr/bin/env bash
# The VS Code extension's npm packages (package.json / package-lock.json at the root):
# esbuild, TypeScript and vsce to build, test and package it; vscode-languageclient inside it.
# Idempotent: `npm ci` only when node_modules is missing or older than the lock file.
set -euo pipefail

if ! command -v npm >/dev/null 2>&1; then
  echo "setup: npm is missing; install Node 20 with npm to build and test the VS Code extension" >&2
  exit 0
fi
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
