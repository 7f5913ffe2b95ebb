#!/usr/bin/env bash
# The JavaScript checkers that the verified-fix tests run for real (eslint, tsc), from
# tests/tools/package-lock.json into tests/tools/node_modules. ruff, basedpyright and mypy come
# from PyPI with the dev dependency group. Idempotent: `npm ci` only when the lock file is newer.
set -euo pipefail

tools=tests/tools
if ! command -v npm >/dev/null 2>&1; then
  echo "setup: npm is missing; the eslint and tsc verification tests will be skipped" >&2
  exit 0
fi
if [ ! -f "$tools/node_modules/.package-lock.json" ] \
  || [ "$tools/package-lock.json" -nt "$tools/node_modules/.package-lock.json" ]; then
  npm ci --prefix "$tools" --no-audit --no-fund --loglevel=error
fi
