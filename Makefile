# Two commands for a newcomer: `make demo` (install + run the demo) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test check install bench

$(BIN)/steward: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e ".[dev]"
	@touch $@

install: $(BIN)/steward

demo: install
	$(BIN)/steward demo

test: install
	$(BIN)/pytest -n 2 --dist loadfile

check: install
	scripts/check
