#!/usr/bin/env bash
# A real VS Code for tests/test_vscode.py: code-server 4.100.3 (VS Code 1.100.3; newer ones need
# Node 24) and puppeteer-core, from tests/vscode/package-lock.json into tests/vscode/node_modules,
# plus Debian's chromium to show the workbench in. The workarounds below are the ones
# ../shared/ENVIRONMENT.md lists for installing code-server offline as root.
# Idempotent: does nothing when everything is in place. Without root, says what is missing and
# leaves the test to skip (it says why too).
set -euo pipefail

e2e=tests/vscode
packages=()
command -v chromium >/dev/null 2>&1 || packages+=(chromium)
command -v rg >/dev/null 2>&1 || packages+=(ripgrep)            # @vscode/ripgrep's binary, below
dpkg -s libkrb5-dev >/dev/null 2>&1 || packages+=(libkrb5-dev)  # the kerberos module builds from source
{ command -v g++ && command -v make; } >/dev/null 2>&1 || packages+=(build-essential)  # node-pty, argon2

if [ ${#packages[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: the VS Code test needs ${packages[*]}; install them as root" \
      "(apt-get install ${packages[*]}), or tests/test_vscode.py will be skipped" >&2
    exit 0
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "setup: npm is missing; tests/test_vscode.py will be skipped" >&2
  exit 0
fi
if [ -x "$e2e/node_modules/.bin/code-server" ] && [ -f "$e2e/node_modules/.package-lock.json" ] \
  && [ ! "$e2e/package-lock.json" -nt "$e2e/node_modules/.package-lock.json" ]; then
  exit 0
fi

# @vscode/ripgrep downloads rg from GitHub, which is out of reach: give it Debian's from the
# cache it looks in first.
rg_cache="${TMPDIR:-/tmp}/vscode-ripgrep-cache-1.15.11"
rg_archive="$rg_cache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz"
if [ ! -s "$rg_archive" ]; then
  mkdir -p "$rg_cache"
  tar czf "$rg_archive" -C "$(dirname "$(command -v rg)")" rg
fi

echo "setup: installing code-server and puppeteer-core into $e2e (about a minute)" >&2
# unsafe_perm: code-server's postinstall refuses to run as root otherwise; yes: node-pty's
# postinstall runs npx, which would wait for a prompt.
npm_config_unsafe_perm=true npm_config_yes=true \
  npm ci --prefix "$e2e" --no-audit --no-fund --foreground-scripts --loglevel=error >"${TMPDIR:-/tmp}/switchboard-code-server-install.log" 2>&1 || {
  echo "setup: installing code-server failed; the log follows" >&2
  tail -n 40 "${TMPDIR:-/tmp}/switchboard-code-server-install.log" >&2
  exit 1
}
