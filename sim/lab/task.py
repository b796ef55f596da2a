"""Run one backtest from a ``TaskSpec``: the same engine, settings and market that
``python -m sim backtest`` builds, without its files (no event log, no HTML report).

The market comes from the backtest command's own parser and market builder, so a task equals the
command run alone with the same arguments (``tests/sim/test_lab_task.py`` proves it by the trades
file's hash); only the monitor that samples Greeks for the single-run HTML report is left out, as
it feeds reports, never decisions.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from core.settings import Settings, SettingsError
from sim import cli
from sim.calendar import ExchangeCalendar
from sim.calendar_cache import default_cache_dir
from sim.cli_config import RunInputs
from sim.engine import RunResult, run_backtest
from sim.lab.spec import TaskSpec
from sim.lab.summary import RiskCounts, summarize
from sim.recorder import RunRecorder
from sim.report import write_trades
from sim.store import MemoryStore


def backtest_argv(spec: TaskSpec) -> list[str]:
    """The market part of the equivalent ``python -m sim backtest`` command line."""
    argv = ["--seed", str(spec.seed), "--step-minutes", str(spec.step_minutes)]
    if spec.market != "synthetic":
        argv += ["--market", spec.market]
    return argv


def backtest_args(spec: TaskSpec) -> argparse.Namespace:
    """The backtest command's parsed arguments for ``spec``; SettingsError if it rejects them (a
    market this build does not have), so the driver says so before any worker starts."""
    argv = ["backtest", *backtest_argv(spec)]
    with contextlib.redirect_stderr(io.StringIO()) as err:
        try:
            return cli.build_parser().parse_args(argv)
        except SystemExit:
            why = (err.getvalue().strip().splitlines() or ["rejected"])[-1]
            raise SettingsError([f"python -m sim {' '.join(argv)}: {why}"]) from None


def run_spec(spec: TaskSpec, settings: Settings | None = None, risk: RiskCounts | None = None) -> RunResult:
    """The backtest of ``spec`` (its events kept in memory; ``risk`` counts its risk events)."""
    settings = settings or spec.settings()
    args = backtest_args(spec)
    inputs = RunInputs(settings, "lab task", None, None, spec.step_minutes, spec.seed, False)
    calendar = ExchangeCalendar(
        spec.start - timedelta(days=7), spec.end + timedelta(days=800), cache_dir=default_cache_dir()
    )
    market = cli.market_choice(args, inputs, calendar).market
    recorder = RunRecorder()
    if risk is not None:
        recorder.subscribe(risk)
    return run_backtest(settings, market, calendar, MemoryStore(), recorder)


def run_task(spec: TaskSpec) -> dict[str, Any]:
    """The task's small result: metrics, per-strategy P&L, breaker trips, worst day, equity by day
    and the hash of the trades.csv the backtest command would write."""
    settings, risk = spec.settings(), RiskCounts()
    result = run_spec(spec, settings, risk)
    with tempfile.TemporaryDirectory(prefix="lab-task-") as tmp:
        trades = Path(tmp) / "trades.csv"
        write_trades(trades, result.recorder.trades)
        return summarize(result, risk, settings.starting_cash, trades.read_bytes())
