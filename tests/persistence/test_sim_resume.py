"""The kill-safe sim run is the same run as the plain one (one loop; only the world's store
differs), and the market it resumes into is the same market: snapshots are a pure function of the
configuration and the time."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from core.settings import Settings
from sim.calendar import ExchangeCalendar
from sim.engine import run_backtest
from sim.markets.synthetic import SyntheticConfig, SyntheticMarket
from sim.recorder import RunRecorder
from sim.run import final_state
from sim.store import FileStore, MemoryStore

START, END = date(2025, 1, 2), date(2025, 1, 17)
# VIX stays 18-20 in these weeks: a 0DTE entry bar below it makes the period close trades (every
# other entry holds past the period under the rulebook's break-even and stress rules).
ZERO_DTE_VIX = 17.0


def resumable(settings, market, calendar, state_dir, recorder=None):  # type: ignore[no-untyped-def]
    """The kill-safe run: system state and world in files under ``state_dir``."""
    return run_backtest(
        settings, market, calendar, FileStore(state_dir / "system", durable=False), recorder or RunRecorder(),
        world_store=FileStore(state_dir / "world", durable=False),
    )  # fmt: skip


def _world():  # type: ignore[no-untyped-def]
    calendar = ExchangeCalendar(START - timedelta(days=7), END + timedelta(days=800))
    market = SyntheticMarket(SyntheticConfig(seed=7, start=START, end=END), calendar)
    return calendar, market


def test_snapshot_at_is_pure_whatever_was_asked_before():
    _calendar, walked = _world()
    _, fresh = _world()
    days = walked.trading_days()
    late = walked.step_times(days[-1])[40]
    for day in days:  # walk the whole run first, asking for chains as a run does
        for t in walked.step_times(day)[::10]:
            walked.snapshot_at(t).chains.chain("SPXW", day)
    a, b = walked.snapshot_at(late), fresh.snapshot_at(late)
    assert a.vix == b.vix and dict(a.day_open) == dict(b.day_open)
    assert {k: q.price for k, q in a.underlyings.items()} == {k: q.price for k, q in b.underlyings.items()}
    chain_a, chain_b = a.chains.chain("SPXW", late.date()), b.chains.chain("SPXW", late.date())
    assert chain_a is not None and chain_a == chain_b
    contract = chain_a.quotes[len(chain_a.quotes) // 2].contract
    assert walked.snapshot_at(late).chains.quote(contract) == fresh.snapshot_at(late).chains.quote(contract)


@pytest.fixture(scope="module")
def both_runs(tmp_path_factory):  # type: ignore[no-untyped-def]
    settings = Settings().with_overrides(
        start_date=START.isoformat(), end_date=END.isoformat(), zero_dte_min_vix=ZERO_DTE_VIX
    )
    calendar, market = _world()
    plain = run_backtest(settings, market, calendar, MemoryStore(), RunRecorder())
    calendar, market = _world()
    state_dir = tmp_path_factory.mktemp("state")
    durable = resumable(settings, market, calendar, state_dir)
    return plain, durable, state_dir


@pytest.mark.slow  # two weeks, plain and kill-safe
def test_kill_safe_run_trades_exactly_like_the_plain_run(both_runs):  # type: ignore[no-untyped-def]
    plain, durable, _ = both_runs
    assert plain.recorder.trades, "the period must trade for this test to mean anything"
    assert final_state(plain) == final_state(durable)


@pytest.mark.slow  # two weeks, plain and kill-safe
def test_finished_run_resumed_again_changes_nothing(both_runs):  # type: ignore[no-untyped-def]
    _, durable, state_dir = both_runs
    settings = Settings().with_overrides(
        start_date=START.isoformat(), end_date=END.isoformat(), zero_dte_min_vix=ZERO_DTE_VIX
    )
    calendar, market = _world()
    again = resumable(settings, market, calendar, state_dir)
    assert again.resumed
    assert json.dumps(final_state(again)) == json.dumps(final_state(durable))
    assert not again.platform.alerts, "a clean restart reconciles clean"
