# Quick start:  make demo   (the main job)   |   make test   (the test suite)
# Both create .venv with the pinned dependencies of requirements.lock on first use.
# make docs  (the HTML documentation) adds the doc tools of docs/requirements.lock to .venv.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DOCS_STAMP := $(VENV)/.docs-installed

.PHONY: demo test docs browser bench bench-all figures clean help

help:
	@echo "make demo   - run the demonstration (writes demo_out/)"
	@echo "make test   - run the test suite"
	@echo "make browser - install Debian's chromium + chromium-driver for the explorer's browser test (as root)"
	@echo "make docs   - build the HTML documentation into docs/_build/html (warnings are errors)"
	@echo "make bench  - run the quick benchmarks (writes benchmarks/results/)"
	@echo "make bench-all - also the 186 ACAS Xu instances and the relucent comparison"
	@echo "make figures - regenerate the papers' figures into figs/"

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

$(DOCS_STAMP): $(STAMP) docs/requirements.lock
	$(BIN)/python -m pip install --quiet -r docs/requirements.lock -c requirements.lock
	touch $(DOCS_STAMP)

demo: $(STAMP)
	$(BIN)/python examples/demo.py --out demo_out

test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

# The explorer's browser test (tests/test_explore.py) drives Debian's chromium through Selenium
# and chromium-driver; without them that test is skipped. CI (.ci/run, root on Debian) runs this first.
browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then \
		echo "browser: $$(/usr/bin/chromium --version 2>/dev/null)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null \
		&& echo "browser: installed $$(/usr/bin/chromium --version 2>/dev/null)" \
		|| echo "browser: installing chromium failed: the explorer's browser test will be skipped"; \
	else \
		echo "browser: /usr/bin/chromium missing and not root with apt-get: the explorer's browser test will be skipped"; \
	fi
# The docstrings' examples are doctests run by `make test` (pytest --doctest-modules).
docs: $(DOCS_STAMP)
	$(BIN)/python -m sphinx -W --keep-going -q -j 2 -b html docs docs/_build/html
	@echo "docs: docs/_build/html/index.html"

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_foundation.py
	$(BIN)/python benchmarks/bench_enumeration.py
	$(BIN)/python benchmarks/bench_conv.py

bench-all: bench
	$(BIN)/python benchmarks/bench_acasxu.py
	$(BIN)/python benchmarks/bench_regions.py

figures: $(STAMP)
	$(BIN)/preimage figures --out figs

clean:
	rm -rf $(VENV) demo_out figs .pytest_cache .hypothesis docs/_build
