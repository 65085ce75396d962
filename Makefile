# Set-up is part of every target: each creates .venv and installs what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The demo runs the flagship at a tenth of the population (counts are scaled back up);
# the full-scale run is: .venv/bin/gradsim run experiments/medical_community_reform.yaml
DEMO_SCALE ?= 0.1

.PHONY: install demo test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	@echo "Flagship experiment at scale $(DEMO_SCALE) (a quick look; full scale: drop --scale)."
	$(BIN)/gradsim run experiments/medical_community_reform.yaml --scale $(DEMO_SCALE) --plot

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
