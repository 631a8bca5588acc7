# Mixed Effects, Executed — build, test, serve.
#   make book    set up everything and build the book into _build/html
#   make test    set up everything (browser, R) and run the full test suite
#   make serve   serve _build/html on http://127.0.0.1:$(PORT)/
#   make bench   measure build, page weight, drawing and fitting against their budgets
#   make lint    ruff on the Python code, actionlint on the workflows
#   make mutate  mutation testing of the statistics modules (slow; results in bench/)
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000
STAMP := $(VENV)/.installed-$(shell cat requirements.txt pyproject.toml setup.py | sha256sum | cut -c1-12)
NODE_STAMP := node_modules/.installed-$(shell cat package.json package-lock.json 2>/dev/null | sha256sum | cut -c1-12)
LINT_STAMP := $(VENV)/.lint-$(shell cat requirements-lint.txt | sha256sum | cut -c1-12)
MUTATE_STAMP := $(VENV)/.mutate-$(shell cat requirements-mutate.txt | sha256sum | cut -c1-12)
VENDOR := book/_static/vendor/VERSIONS

.PHONY: book test serve bench setup lint mutate clean system-book system-test student

setup: $(STAMP) $(VENDOR)

$(STAMP): requirements.txt pyproject.toml setup.py
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@rm -f $(VENV)/.installed-*
	@touch $@

$(LINT_STAMP): requirements-lint.txt | $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-lint.txt
	@rm -f $(VENV)/.lint-*
	@touch $@

$(MUTATE_STAMP): requirements-mutate.txt | $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-mutate.txt
	@rm -f $(VENV)/.mutate-*
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@rm -f node_modules/.installed-*
	@touch $@

$(VENDOR): $(NODE_STAMP) scripts/copy-vendor.sh
	scripts/copy-vendor.sh

system-book:
	@scripts/system-deps.sh book

system-test:
	@scripts/system-deps.sh test

book: system-book setup
	$(VENV)/bin/jupyter-book build . --warningiserror --nitpick --keep-going --quiet
	@echo "Built: $(CURDIR)/_build/html/index.html  (make serve to view it)"

test: system-test book
	$(PY) -m pytest

serve:
	@test -f _build/html/index.html || { echo "No built book: run 'make book' first." >&2; exit 1; }
	@echo "Serving the book at http://127.0.0.1:$(PORT)/ (Ctrl-C to stop)"
	$(PY) -m http.server $(PORT) --bind 127.0.0.1 --directory _build/html

bench: system-test setup
	$(PY) bench/run.py

lint: setup $(LINT_STAMP)
	$(VENV)/bin/ruff check lme_helpers tests scripts bench book/_ext data/scripts setup.py
	$(VENV)/bin/actionlint .github/workflows/*.yml

# Not part of make test: it runs the fast tests once per mutant. MODULES=variance,pooling
# limits it to some modules; SAMPLE=300 tests a seeded random sample of the mutants (an estimate);
# MUTATE_JOBS sets the number of parallel workers.
mutate: $(STAMP) $(MUTATE_STAMP)
	$(PY) scripts/mutate.py $(if $(MODULES),--modules $(MODULES)) $(if $(SAMPLE),--sample $(SAMPLE))

clean:
	rm -rf _build mutants
