"""The acceptance test: SIGKILL a backtest process at random points (inside order submission,
inside state writes, anywhere), restart it from its state each time, and get exactly the run an
uninterrupted process gets.  Short here (5 kills, two weeks); ``make chaos`` runs 30 kills."""

from __future__ import annotations

import pytest

from sim.chaos import run
from tests.persistence.test_sim_resume import END, START, ZERO_DTE_VIX

pytestmark = pytest.mark.slow  # SIGKILLs and resumes a two-week backtest in child processes


def test_killed_and_resumed_run_is_identical_to_uninterrupted(tmp_path):
    args = [
        "--start",
        START.isoformat(),
        "--end",
        END.isoformat(),
        "--seed",
        "7",
        "--set",
        f"zero_dte_min_vix={ZERO_DTE_VIX:g}",
    ]
    # fsync off: it guards against power loss, not process kills, and costs most of the time here
    report = run(args, kills=5, work=tmp_path / "chaos", seed=3, log=lambda *_: None, fsync=False)
    assert report.kills == 5
    assert report.orders > 0 and report.trades > 0
    assert report.differences == []
    assert report.duplicate_rejections == 0 and report.safe_mode_alerts == 0
    assert report.identical and report.ok
