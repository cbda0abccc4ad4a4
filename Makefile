# Jiangxin (匠心): two commands from a fresh clone — `make demo` to look around, `make test` to
# check everything. Run `make help` for the list.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Written after a successful install; pip runs again only when pyproject.toml is newer. The demo
# needs only the runtime dependencies; `make test` adds the test and lint tools (the `dev` extra).
STAMP := $(VENV)/.jiangxin-installed
DEV_STAMP := $(VENV)/.jiangxin-dev-installed
# Browser tests drive this binary (Debian's `chromium` package); `playwright install` is never
# used because it downloads browsers from the internet.
CHROMIUM ?= /usr/bin/chromium
export JIANGXIN_CHROMIUM := $(CHROMIUM)

# `make demo PORT=8080 HOST=0.0.0.0`; `make test ARGS="-x tests/competition"`.
PORT ?=
HOST ?=
ARGS ?=
# The suite runs in this many processes (pytest-xdist), a database each (tests/conftest.py);
# a file's tests stay in one process. TEST_WORKERS=0 runs it in this process alone.
TEST_WORKERS ?= 2

.DEFAULT_GOAL := help
.PHONY: help install install-dev demo test lint messages screenshots e2e-screenshots fuzz bench clean

help:
	@echo "make demo      install, load the demo competition and serve it (PORT=…, HOST=…)"
	@echo "make test      install, make sure Chromium is present, run the test suite (ARGS=…)"
	@echo "make lint      ruff check, ruff format --check and the import contracts (lint-imports)"
	@echo "make messages  add new msgids to the zh_CN catalogs (locale/zh_CN/LC_MESSAGES)"
	@echo "make screenshots  the README's pictures, taken by the browser tests (docs/screenshots)"
	@echo "make e2e-screenshots  one competition's whole lifecycle in the browser (test-artifacts/e2e)"
	@echo "make fuzz      the API fuzzed from its OpenAPI schema with many examples (FUZZ_EXAMPLES=…)"
	@echo "make bench     a synthetic province through the whole pipeline (SCALE=…; PostgreSQL too"
	@echo "               when DATABASE_URL is a postgresql:// URL); table + bench/results/*.json"
	@echo "make install   create $(VENV) and install Jiangxin (what the demo needs)"
	@echo "make install-dev  install also the test and lint tools (make test does this)"
	@echo "make clean     remove $(VENV), caches and build files (keeps databases and the secret)"

install: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { \
	  echo "error: $(PYTHON) not found. Jiangxin needs Python 3.11 or newer:" >&2; \
	  echo "       apt-get install python3 python3-venv, or run make PYTHON=/path/to/python3.11" >&2; \
	  exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
	  echo "error: Jiangxin needs Python 3.11 or newer; $(PYTHON) is $$($(PYTHON) -V 2>&1)." >&2; \
	  echo "       Run make PYTHON=/path/to/python3.11 (or newer)." >&2; \
	  exit 1; }
	@if [ -x $(BIN)/python ] && ! $(BIN)/python -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then \
	  echo "error: $(VENV) was made with $$($(BIN)/python -V 2>&1); run make clean first." >&2; \
	  exit 1; fi
	@# A venv without a working pip is half made (e.g. Debian without python3-venv): redo it.
	@if ! { [ -x $(BIN)/python ] && $(BIN)/python -m pip --version >/dev/null 2>&1; }; then \
	  echo "Creating $(VENV) with $$($(PYTHON) -V 2>&1) …"; \
	  rm -rf $(VENV); \
	  if ! $(PYTHON) -m venv $(VENV); then \
	    rm -rf $(VENV); \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	      echo "Installing python3-venv (Debian ships venv's pip bootstrap separately) …"; \
	      apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y python3-venv \
	        && $(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); exit 1; }; \
	    else \
	      echo "error: $(PYTHON) cannot create a virtual environment." >&2; \
	      echo "       On Debian or Ubuntu: sudo apt-get install python3-venv" >&2; \
	      exit 1; \
	    fi; \
	  fi; \
	fi
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e .
	@touch $(STAMP)

install-dev: $(DEV_STAMP)

$(DEV_STAMP): $(STAMP)
	$(BIN)/python -m pip install -e '.[dev]'
	@touch $(DEV_STAMP)

demo: install
	$(BIN)/jiangxin demo $(if $(PORT),--port $(PORT)) $(if $(HOST),--host $(HOST))

test: install-dev
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Chromium for the browser tests (apt-get install chromium) …"; \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium || exit 1; \
	  else \
	    echo "error: the browser tests need Chromium at $(CHROMIUM)." >&2; \
	    echo "       Install it with: sudo apt-get install -y chromium" >&2; \
	    echo "       (or point to another one: make test CHROMIUM=/path/to/chromium)" >&2; \
	    exit 1; \
	  fi; \
	  [ -x "$(CHROMIUM)" ] || { echo "error: $(CHROMIUM) is still missing after installing chromium." >&2; exit 1; }; \
	fi
	$(BIN)/pytest $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile) $(ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

messages: install
	$(BIN)/python -m competition.i18n_catalogs

FUZZ_EXAMPLES ?= 200
fuzz: install-dev
	JIANGXIN_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest tests/test_api_fuzz.py

# Chromium draws Chinese only with a CJK font installed (Debian: fonts-wqy-microhei).
screenshots: install-dev e2e-screenshots
	JIANGXIN_SCREENSHOTS=docs/screenshots $(BIN)/pytest tests/competition/results/test_certificates_browser.py

# The end-to-end test saves every step of its competition in E2E_SHOTS (a test artifact, not
# committed); the README shows these few of them, copied to docs/screenshots/e2e-<name>.png.
E2E_SHOTS := test-artifacts/e2e
E2E_README_SHOTS := contestant-ticket-ready delegation-import-report check-in-desk-scans-the-ticket judge-offline-marks-waiting
e2e-screenshots: install-dev
	rm -rf $(E2E_SHOTS)
	JIANGXIN_SCREENSHOTS=$(E2E_SHOTS) $(BIN)/pytest tests/test_end_to_end_browser.py
	@for name in $(E2E_README_SHOTS); do \
	  cp $(E2E_SHOTS)/[0-9][0-9]-$$name.png docs/screenshots/e2e-$$name.png || exit 1; \
	done

# The whole pipeline on a synthetic province of 200,000 × SCALE contestants (bench/pipeline.py):
# ~25 min at scale 1 on SQLite on this 2-core machine; CI runs SCALE=0.01.
SCALE ?= 1
bench: install-dev
	$(BIN)/python bench/pipeline.py --scale $(SCALE)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build dist *.egg-info
	find . -path ./.git -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
