# Two commands do everything on a fresh machine:
#   make backtest   one-year synthetic backtest with a readable report in reports/
#   make test       every check: ruff, pyright, layer contracts, the whole pytest suite (vulture
#                   dead-code check and slow tests included), and the unit tests again under LEAN's image versions
#   make unit       the fast tests only (no backtests of weeks, no child processes): a minute or two
PYTHON ?= python3.11
VENV := .venv
LEAN_VENV := .venv-lean
BIN := $(VENV)/bin
ARGS ?=

.PHONY: backtest test lint typecheck contracts pytest unit unit-lean bench profile clean browser lean-project

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

$(LEAN_VENV)/bin/.installed: constraints/lean-image.txt
	$(PYTHON) -m venv $(LEAN_VENV)
	$(LEAN_VENV)/bin/pip install -q --upgrade pip
	$(LEAN_VENV)/bin/pip install -q -r constraints/lean-image.txt
	touch $@

backtest: $(BIN)/.installed
	$(BIN)/python -m sim backtest $(ARGS)

test: lint typecheck contracts pytest unit-lean

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(BIN)/.installed
	$(BIN)/pyright --pythonpath $(BIN)/python

contracts: $(BIN)/.installed
	$(BIN)/lint-imports

# Every test, the slow ones included.
pytest: $(BIN)/.installed browser
	$(BIN)/python -m pytest

# The fast set while working: everything not marked slow (see [tool.pytest.ini_options] markers).
unit: $(BIN)/.installed
	$(BIN)/python -m pytest -m "not slow"

# Headless Chromium for the rendered-report test (Debian package; about 20 s on first install).
# Idempotent; TOMKING_SKIP_BROWSER=1 skips the install and the test.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
	  || [ "$$TOMKING_SKIP_BROWSER" = 1 ] || [ -n "$$TOMKING_CHROMIUM" ] \
	  || { echo "installing chromium for the HTML report test"; \
	       $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	       $(SUDO) apt-get install -y -qq --no-install-recommends chromium >/dev/null; }

# Code LEAN loads, proven on LEAN's own numpy/pandas/scipy (tests needing dev-only packages skip).
unit-lean: $(LEAN_VENV)/bin/.installed
	PYTHONPATH=. $(LEAN_VENV)/bin/python -m pytest -p no:cacheprovider tests/core tests/strategies tests/sim tests/monitoring tests/lean

bench: $(BIN)/.installed
	$(BIN)/python -m bench $(ARGS)

# Where the one-year backtest's time goes, per layer (py-spy samples it; it needs ptrace rights:
# sudo on macOS or where kernel.yama.ptrace_scope forbids it). ARGS go to the backtest.
profile: $(BIN)/.installed
	mkdir -p reports
	$(BIN)/py-spy record --rate 200 --format raw --output reports/profile.txt -- \
		$(BIN)/python -m sim backtest --quiet --out reports/profile $(ARGS)
	$(BIN)/python -m bench.layers reports/profile.txt

# One year on the synthetic market with a faulty broker (20% partial fills, 5% rejects, 2% silent
# drops, plus duplicates, delayed acks and cancel races): must end with 0 residual unhedged legs.
.PHONY: fault-backtest
fault-backtest: $(BIN)/.installed
	$(BIN)/python -m sim backtest --quiet --out reports/faults \
		--faults partial=0.2,reject=0.05,drop=0.02,duplicate=0.02,delay=0.05,cancel_race=0.05,seed=1 $(ARGS)

# Crisis replays on real history (--market history): August 2015, February 2018 and 2018-Q4, each
# after two months of warm-up so the book is already built; per window: max drawdown, breaker trips,
# forced exits, per-strategy P&L and the worst day.
.PHONY: crisis
crisis: $(BIN)/.installed
	$(BIN)/python -m sim.crisis --out reports/crisis $(ARGS)

# Crash recovery: SIGKILL a two-month backtest at 30 random points (inside order submission,
# inside state writes, anywhere), resume it each time, and require exactly the uninterrupted run.
.PHONY: chaos
chaos: $(BIN)/.installed
	$(BIN)/python -m sim.chaos --kills 30 --work reports/chaos $(ARGS)

# A LEAN CLI workspace with a clean copy of the project (only what LEAN loads): fill in
# organization-id in build/lean-project/lean.json once, then `cd build/lean-project && lean backtest TomKing`.
LEAN_PROJECT ?= build/lean-project
lean-project:
	$(PYTHON) -m lean_adapter.project $(LEAN_PROJECT)

clean:
	rm -rf $(VENV) $(LEAN_VENV) .pytest_cache reports/*
