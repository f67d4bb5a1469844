# Every target installs into .venv first if needed; nothing is installed by hand.
PYTHON   ?= python3
VENV     := .venv
BIN      := $(VENV)/bin
STAMP    := $(VENV)/.installed
MANIFEST := dbt_project/target/manifest.json
DBT_SRC  := $(shell find dbt_project -name '*.sql' -o -name '*.yml' | grep -v -e target/ -e logs/)

export MLFLOW_DISABLE_TELEMETRY := true
export BENTOML_DO_NOT_TRACK := true
export DO_NOT_TRACK := true

SMOKE_HOME := $(CURDIR)/.ml_platform/ci-smoke

# The lock (requirements/, docs/dependencies.md): every install is the same, with hashes checked.
LOCKS    := requirements/pip.txt requirements/dev.txt
# torch's +cpu wheel (the lock pins it; no index but PyTorch's has it): on disk here and on CI
TORCH_FIND_LINKS ?= $(if $(wildcard /opt/wheels/torch-*+cpu-*.whl),/opt/wheels,https://download.pytorch.org/whl/cpu/torch/)

.PHONY: install browser bench-tools demo replay test test-fast smoke dev mlflow-ui bench validate clean \
	lock lock-check deps-check

install: $(STAMP) $(MANIFEST)

# the project itself without its dependencies, built with the locked setuptools (no isolated build env)
$(STAMP): pyproject.toml $(LOCKS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/pip.txt
	$(BIN)/python -m pip install --quiet --require-hashes --find-links $(TORCH_FIND_LINKS) -r requirements/dev.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

# after a change to pyproject's dependencies or to what the service imports; keeps the locked versions
# that still fit, e.g. make lock ARGS=--upgrade, make lock ARGS='--upgrade-package mlflow' (needs PyPI)
lock: $(STAMP)  ## rewrite the lock files (requirements/) from pyproject.toml
	$(BIN)/python requirements/lock.py write --find-links $(TORCH_FIND_LINKS) $(ARGS)

# the lock files agree with pyproject.toml and the service's imports, and .venv is the lock (offline)
lock-check: $(STAMP)
	$(BIN)/python requirements/lock.py check

# every imported package declared (deptry, configured in pyproject.toml): the platform's code, then
# tests/, bench/ and the lock script, which may import the dev extra (the options replace the
# config's exclusions; only undeclared and transitive-only imports count there)
deps-check: $(STAMP)
	$(BIN)/deptry .
	$(BIN)/deptry tests bench requirements --exclude '\.venv' --extend-exclude '\.git' --ignore DEP002,DEP004

# dagster-dbt loads the manifest when the definitions are imported: build it here, never at import
$(MANIFEST): $(STAMP) $(DBT_SRC)
	cd dbt_project && ../$(BIN)/dbt parse --profiles-dir . --quiet
	touch $@

demo: install  ## the whole loop on embedded defaults; prints a prediction from the served model
	$(BIN)/ml-platform demo $(ARGS)

# a year through the landing zone and the sensors, in its own home; e.g. make replay ARGS=--inject-drift
REPLAY_HOME ?= $(CURDIR)/.ml_platform-replay
replay: install  ## replay 2013 day by day: drift, retrains, promotions; HTML report in .ml_platform-replay/reports
	rm -rf $(REPLAY_HOME)
	ML_PLATFORM_HOME=$(REPLAY_HOME) $(BIN)/ml-platform replay $(ARGS)
	ML_PLATFORM_HOME=$(REPLAY_HOME) $(BIN)/ml-platform stop

# the UI test drives Debian's chromium (Playwright's own browser download is not used)
browser:
	@command -v chromium >/dev/null || { apt-get update -q && apt-get install -y -q chromium; }

test: install browser lock-check deps-check validate smoke  ## dagster's checks through its CLI, then the whole suite
	$(BIN)/pytest

# the dagster CLI path, in a throwaway home: land a day, `dagster asset materialize` the reference tables
# and the day's raw/staging/features with every asset check; a failed run or check stops `make test`
smoke: install
	rm -rf $(SMOKE_HOME)
	ML_PLATFORM_HOME=$(SMOKE_HOME) $(BIN)/ml-platform smoke

test-fast: install  ## everything but the whole-loop tests
	$(BIN)/pytest -m 'not slow'

validate: install  ## dagster's own check that the code location loads
	$(BIN)/ml-platform validate

DAGSTER_PORT ?= 3000
dev: install  ## the Dagster UI on http://127.0.0.1:3000, with Dagster's daemon running the sensors
	$(BIN)/ml-platform dev --port $(DAGSTER_PORT)

MLFLOW_PORT ?= 5000
mlflow-ui: install  ## MLflow's UI on http://127.0.0.1:5000, same state
	$(BIN)/ml-platform mlflow-ui --port $(MLFLOW_PORT)

# the serving benchmark's load generator (Debian's wrk); without it the benchmark uses its Python one
bench-tools:
	@command -v wrk >/dev/null || { apt-get update -q && apt-get install -y -q wrk; }

bench: install bench-tools  ## benchmarks; JSON results in bench/results/
	$(BIN)/python -m bench.run_all

clean:
	rm -rf .ml_platform .ml_platform-replay dbt_project/target dbt_project/logs
