# One entry point per job. `make demo` and `make test` work on a fresh machine.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
MSG ?= Кaкой ужас, заказ не пришёл уже неделю, мне нужно СЕГОДНЯ, почему до сих пор не отправили?!

.PHONY: demo test lint format typecheck data-check train evaluate serve bench browser clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# what a user installs: the package itself, not an editable checkout
$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q ".[dev]"
	touch $@

demo: $(BIN)/python
	$(BIN)/pip install -q .
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

test: browser $(VENV)/.installed lint typecheck data-check
	$(BIN)/python -m pytest

format: $(VENV)/.installed
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

train: $(VENV)/.installed
	$(BIN)/custtype train

evaluate: $(VENV)/.installed
	$(BIN)/custtype evaluate

serve: $(VENV)/.installed
	$(BIN)/custtype serve

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/bench_model.py
	$(BIN)/python benchmarks/bench_api.py
	$(BIN)/python benchmarks/bench_batch.py

clean:
	rm -rf $(VENV) build dist reports .pytest_cache .mypy_cache .ruff_cache
