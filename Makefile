# Set-up is part of every target: each creates .venv and installs what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The demo runs the flagship at a tenth of the population (counts are scaled back up) with 10 of
# its 20 replications, a few minutes on 2 cores; the full run (about 15 min on 2 cores) is:
#   .venv/bin/gradsim run experiments/medical_community_reform.yaml --plot
DEMO_SCALE ?= 0.1
DEMO_REPLICATIONS ?= 10

.PHONY: install demo test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,dashboard]"
	$(BIN)/python -m compileall -q sim   # an editable install leaves this to the first import (docs/performance.md)
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	@echo "Demo: the flagship (baseline vs the county medical community reform) at $(DEMO_SCALE) of the"
	@echo "population and $(DEMO_REPLICATIONS) replications: a quick look. Full run: drop --scale and --replications."
	$(BIN)/gradsim run experiments/medical_community_reform.yaml --scale $(DEMO_SCALE) \
		--replications $(DEMO_REPLICATIONS) --plot

test: $(STAMP)
	$(BIN)/python -m pytest

# The engine benchmark (benchmarks/bench.py: naive Mesa, numpy and compiled paths at 0.1x-50x the seed
# county, about 15 min on 2 cores) and the sweep benchmark (benchmarks/sweep_bench.py: 100 full-scale
# runs on 1 and 2 workers and a Dask LocalCluster, about 25 min) each write their section of
# docs/performance.md.
bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py
	$(BIN)/python benchmarks/sweep_bench.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
