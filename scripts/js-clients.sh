#!/usr/bin/env bash
# Installs the JavaScript clients the tests run against the server (tests/js: Comunica), exactly as
# pinned by tests/js/package-lock.json. Safe to run again: skipped when node_modules matches the lock.
set -euo pipefail
cd "$(dirname "$0")/../tests/js"
if [ ! -f node_modules/.package-lock.json ] || ! cmp -s package-lock.json node_modules/.entente-lock; then
  echo "setup: installing the JavaScript test clients (npm ci in tests/js)"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.entente-lock
fi
