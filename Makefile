# Conveniences around dev.py, which holds the README's two commands (it needs only Python 3.11+).
PYTHON ?= python3
BIN := .venv/bin

.PHONY: serve test schema bench clean

serve:
	$(PYTHON) dev.py serve

test:
	$(PYTHON) dev.py test $(PYTEST_ARGS)

schema:
	$(BIN)/trade-calendar schema > data/events.schema.json

bench:
	$(BIN)/python bench/bench_validate.py
	$(BIN)/python bench/bench_serve.py
	$(BIN)/python bench/bench_reminders.py

clean:
	rm -rf .venv .pytest_cache .mypy_cache .ruff_cache
