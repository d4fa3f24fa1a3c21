# jsdm-hot: `make demo` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed
DEMO   := demo_output

.PHONY: demo test lint install clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# torch first, pinned: on these machines 2.13.0 is a local CPU wheel, while an
# unpinned torch would pull a multi-GB CUDA build. pyproject asks for torch>=2.3.
$(STAMP): pyproject.toml | $(PY)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e '.[all,dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/jsdm-hot simulate $(DEMO)/example --seed 0
	$(VENV)/bin/jsdm-hot fit $(DEMO)/example/community.csv --tree $(DEMO)/example/tree.nwk \
		--out $(DEMO)/model --overwrite --epochs 60 --patience 15 --d-model 64 --draws 100 \
		--report $(DEMO)/report --no-progress
	$(VENV)/bin/jsdm-hot map $(DEMO)/model $(DEMO)/example/grid.csv --out $(DEMO)/maps \
		--layers richness,uncertainty,community,extrapolation --draws 100 --overwrite
	$(VENV)/bin/jsdm-hot explain $(DEMO)/model $(DEMO)/example/community.csv --out $(DEMO)/explain \
		--tree $(DEMO)/example/tree.nwk --draws 20 --repeats 3
	@echo "demo written to $(DEMO)/ (model, report, maps, explain/model_card.md)"

lint: $(STAMP)
	$(VENV)/bin/ruff check jsdm_hot tests benchmarks
	$(VENV)/bin/lint-imports

test: lint
	$(VENV)/bin/python -m pytest -q

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache
