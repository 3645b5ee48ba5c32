# FaultMaven: `make serve` runs the server on the embedded defaults (`make serve PORT=9000` for another
# port), `make test` runs the checks and tests.
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install serve test lint bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed

serve: install
	$(BIN)/faultmaven serve --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check faultmaven tests bench

test: lint
	$(BIN)/python -m pytest --cov --cov-report=term --cov-fail-under=85

bench: install
	$(BIN)/python bench/bench_cases.py
	$(BIN)/python bench/bench_queries.py
	$(BIN)/python bench/bench_llm_path.py
	$(BIN)/python bench/bench_sanitizer.py

clean:
	rm -rf $(VENV) .pytest_cache .coverage
