#!/usr/bin/env bash
# Installs the peers the benchmarks compare against, in their own virtualenv (never in the project's):
# Oxigraph's own server (PyPI package `oxigraph`, the same engine version as our pyoxigraph) and
# rdflib-endpoint (rdflib's SPARQL evaluator behind FastAPI/uvicorn).
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv-peers/bin/python ]; then
  python3 -m venv .venv-peers
fi
if [ ! -f .venv-peers/.installed ]; then
  .venv-peers/bin/pip install -q --disable-pip-version-check oxigraph==0.5.13 rdflib-endpoint==0.6.3 uvicorn==0.54.0
  touch .venv-peers/.installed
fi
