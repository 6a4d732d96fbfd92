# Quick start:  make demo   (the main job)   |   make test   (the test suite)
# Both create .venv with the pinned dependencies of requirements.lock on first use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# the numba kernels, compiled into their disk cache once the venv exists (and again when they change)
KERNEL_SOURCES := $(wildcard src/preimage/engine/vpoly.py src/preimage/engine/bounds_nb.py \
                            src/preimage/engine/fast_regions.py src/preimage/engine/kernels.py)
KSTAMP := $(VENV)/.kernels

.PHONY: demo test bench bench-all figures clean help

help:
	@echo "make demo   - run the demonstration (writes demo_out/)"
	@echo "make test   - run the test suite"
	@echo "make bench  - run the quick benchmarks (writes benchmarks/results/)"
	@echo "make bench-all - also the 186 ACAS Xu instances and the relucent comparison"
	@echo "make figures - regenerate the papers' figures into figs/"

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

$(KSTAMP): $(STAMP) $(KERNEL_SOURCES)
	$(BIN)/python -c "from preimage.engine.kernels import ensure_compiled; ensure_compiled()"
	touch $(KSTAMP)

demo: $(KSTAMP)
	$(BIN)/python examples/demo.py --out demo_out

test: $(KSTAMP)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

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
	rm -rf $(VENV) demo_out figs .pytest_cache .hypothesis
