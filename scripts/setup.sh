#!/usr/bin/env bash
# Sets up everything Entente needs on a fresh Debian machine: system packages (a JRE for HermiT,
# Chromium for the browser tests, Graphviz for graph pictures), a virtualenv with the package and
# its test dependencies, and the front-end files served offline (YASGUI). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v java >/dev/null 2>&1 || need+=(default-jre-headless)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v dot >/dev/null 2>&1 || need+=(graphviz)
command -v npm >/dev/null 2>&1 || need+=(npm)
command -v ps >/dev/null 2>&1 || need+=(procps)   # tests/test_serving.py lists gunicorn's workers with ps
# tests/test_quickstatements.py runs QuickStatements' own V1 parser (PHP, with mbstring)
command -v php >/dev/null 2>&1 || need+=(php-cli)
{ command -v php >/dev/null 2>&1 && php -r 'exit(function_exists("mb_detect_encoding") ? 0 : 1);'; } || need+=(php-mbstring)
command -v wrk >/dev/null 2>&1 || need+=(wrk)      # benchmarks/bench_sparql.py drives the servers with wrk
command -v virtuoso-t >/dev/null 2>&1 || need+=(virtuoso-opensource)  # a peer in the benchmark; the remote-store tests run on it
# Debian's python3 lacks ensurepip (so `python3 -m venv` fails) until python3-venv is installed.
[ -x .venv/bin/python ] || python3 -c 'import ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing system packages: ${need[*]}"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=.venv/.entente-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing Python packages"
  .venv/bin/pip install -q --disable-pip-version-check -e '.[test]'
  touch "$stamp"
fi

if [ -f scripts/vendor.sh ]; then
  bash scripts/vendor.sh
fi

bash scripts/js-clients.sh      # Comunica, a real Linked Data client the tests run (tests/js)
