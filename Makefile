# linksift — the two commands a new user runs first: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export BENTOML_DO_NOT_TRACK := True
export MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR := false

.PHONY: demo test bench lint format clean default-model

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit("linksift needs Python 3.11+, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/linksift score data/sample/export.csv -o out/demo/scored.csv \
		--disavow out/demo/disavow.txt --report out/demo/report.html

test: $(VENV)/.test-installed
	$(BIN)/python -m pytest -q

bench: $(VENV)/.test-installed
	$(BIN)/python benchmarks/run.py

lint: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.test-installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache

# Rebuild the shipped default model (models/default) from generated data, the same way a user
# trains: `linksift synth` then `linksift train --out`. The MLflow run goes to a scratch store.
default-model: $(VENV)/.installed
	$(BIN)/linksift synth -n 200000 --seed 0 --as-of 2026-11-25 -o data/generated/train.parquet
	MLFLOW_TRACKING_URI=sqlite:///$(CURDIR)/data/generated/mlflow.db \
		$(BIN)/linksift train --data data/generated/train.parquet --as-of 2026-11-25 --out models/default
