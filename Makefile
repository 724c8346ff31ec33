# The two commands of the quick start: `make serve` and `make test`.
PY := .venv/bin/python
ENTENTE := .venv/bin/entente

.PHONY: setup build serve test

setup:
	@bash scripts/setup.sh

build: setup
	$(ENTENTE) build

serve: setup
	$(ENTENTE) serve

test: setup
	$(PY) -m pytest -q -p no:cacheprovider tests
