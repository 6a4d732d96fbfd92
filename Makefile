# Quick start:  make demo   (the main job)   |   make test   (the test suite)
# Both create .venv with the pinned dependencies of requirements.lock on first use.
# make docs  (the HTML documentation) adds the doc tools of docs/requirements.lock to .venv.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DOCS_STAMP := $(VENV)/.docs-installed
# the numba kernels, compiled into their disk cache once the venv exists (and again when they change)
KERNEL_SOURCES := $(wildcard src/preimage/engine/vpoly.py src/preimage/engine/bounds.py src/preimage/engine/walk.py \
                            src/preimage/activations/base.py src/preimage/engine/kernels.py \
                            src/preimage/engine/rebuild.py)
KSTAMP := $(VENV)/.kernels

# the oldest supported Python is 3.11 (the default above); test-313 checks the newest, 3.13,
# in its own venv from the same lock (every pinned version has a 3.13 wheel, torch included).
# A pyenv 3.13 is preferred to a `python3.13` on PATH (pyenv's shim fails unless it is selected).
PYTHON313 ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) python3.13)
VENV313   := .venv313
STAMP313  := $(VENV313)/.installed

.PHONY: demo test test-313 docs browser bench bench-all figures clean help

help:
	@echo "make demo   - run the demonstration (writes demo_out/)"
	@echo "make test   - run the test suite"
	@echo "make browser - install Debian's chromium + chromium-driver for the explorer's browser test (as root)"
	@echo "make docs   - build the HTML documentation into docs/_build/html (warnings are errors)"
	@echo "make test-313 - run the test suite on Python 3.13 (its own venv, .venv313)"
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

$(KSTAMP): $(STAMP) $(KERNEL_SOURCES)
	$(BIN)/python -c "from preimage.engine.kernels import ensure_compiled; ensure_compiled()"
	touch $(KSTAMP)

demo: $(KSTAMP)
	$(BIN)/python examples/demo.py --out demo_out

# ruff (pinned in requirements.lock; rules in pyproject.toml) lints first, then mypy (pinned too;
# [tool.mypy] makes it --strict) checks the code that is fully typed, then pytest runs.
# Typed so far: src/preimage/polyhedra, src/preimage/activations, src/preimage/_numba.py and the
# whole engine (MYPY_ENGINE).
MYPY_ENGINE := src/preimage/engine
test: $(KSTAMP)
	@$(BIN)/python -m ruff --version >/dev/null 2>&1 || { echo "make test: ruff is missing from $(VENV): install it with '$(BIN)/python -m pip install -r requirements.lock' (or delete $(STAMP) and rerun)"; exit 1; }
	$(BIN)/python -m ruff check .
	$(BIN)/python -m mypy src/preimage/polyhedra src/preimage/activations src/preimage/_numba.py $(MYPY_ENGINE)
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

$(STAMP313): requirements.lock pyproject.toml
	$(PYTHON313) -m venv $(VENV313)
	$(VENV313)/bin/python -m pip install --quiet --upgrade pip
	$(VENV313)/bin/python -m pip install --quiet -r requirements.lock
	$(VENV313)/bin/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP313)

test-313: $(STAMP313)
	$(VENV313)/bin/python -m pytest -q -n 2 --dist loadfile

bench: $(KSTAMP)
	$(BIN)/python benchmarks/bench_foundation.py
	$(BIN)/python benchmarks/bench_enumeration.py
	$(BIN)/python benchmarks/bench_conv.py

bench-all: bench
	$(BIN)/python benchmarks/bench_acasxu.py
	$(BIN)/python benchmarks/bench_regions.py

figures: $(KSTAMP)
	$(BIN)/preimage figures --out figs

clean:
	rm -rf $(VENV) $(VENV313) demo_out figs .pytest_cache .hypothesis .mypy_cache docs/_build

