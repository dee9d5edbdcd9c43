# One entry point per job. `make demo` and `make test` work on a fresh machine.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
MSG ?= Кaкой ужас, заказ не пришёл уже неделю, мне нужно СЕГОДНЯ, почему до сих пор не отправили?!

.PHONY: demo test lint format typecheck data-check train evaluate serve bench browser clean notebooks

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# what a user installs: the package itself, not an editable checkout
$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q ".[dev]"
	touch $@

# installed again only when the project's files changed
$(VENV)/.demo-installed: $(BIN)/python pyproject.toml $(shell find src models -type f)
	$(BIN)/pip install -q .
	touch $@

demo: $(VENV)/.demo-installed
	$(BIN)/custtype classify "$(MSG)"

# headless Chromium for the agent-page end-to-end test (Debian packages)
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null)

lint: $(VENV)/.installed
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports

typecheck: $(VENV)/.installed
	$(BIN)/mypy

data-check: $(VENV)/.installed
	$(BIN)/custtype data check

# the store's tests run on SQLite and on a throwaway PostgreSQL (Debian's package, /tmp)
test: browser $(VENV)/.installed lint typecheck data-check
	url=$$(scripts/postgres.sh) && CUSTTYPE_TEST_POSTGRES_URL="$$url" $(BIN)/python -m pytest

format: $(VENV)/.installed
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

# the decision floors are set from the real labelled messages in ../shared when they are there
REAL ?= ../shared/real_dev.jsonl
CORPUS ?= ../shared/corpus
train: $(VENV)/.installed
	@if [ -f "$(REAL)" ]; then $(BIN)/custtype train --real $(REAL) --corpus $(CORPUS); \
	else echo "no $(REAL): training without real labelled messages"; $(BIN)/custtype train; fi

evaluate: $(VENV)/.installed
	@if [ -f "$(REAL)" ]; then $(BIN)/custtype evaluate --real $(REAL) --corpus $(CORPUS); \
	else $(BIN)/custtype evaluate; fi

notebooks: $(VENV)/.installed
	$(BIN)/jupyter-execute notebooks/*.ipynb

serve: $(VENV)/.installed
	$(BIN)/custtype serve

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/bench_model.py
	$(BIN)/python benchmarks/bench_api.py
	$(BIN)/python benchmarks/bench_batch.py

clean:
	rm -rf $(VENV) build dist reports .pytest_cache .mypy_cache .ruff_cache
