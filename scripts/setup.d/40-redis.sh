#!/usr/bin/env bash
# redis-server for the team-mode tests (tests/test_team_*.py start their own on loopback).
# Idempotent: does nothing when redis-server is already on PATH. Needs root (as in CI).
set -euo pipefail

if command -v redis-server >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "setup: redis-server is missing; install it as root (apt-get install redis-server)," \
    "or the team-mode tests will be skipped" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends redis-server >/dev/null
# Debian's package starts a system service on 6379 where an init system runs; the tests never
# use it (they start their own on a free port), so leave it as the package set it up.
command -v redis-server >/dev/null
