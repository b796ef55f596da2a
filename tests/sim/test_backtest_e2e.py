"""End to end in the offline engine, 0DTE alone: the condor flows from the synthetic market through the
gate and execution to fills, management and the trade log, and the books reconcile."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest

from core.settings import Settings
from core.types import GroupStatus
from sim.calendar import ExchangeCalendar
from sim.engine import run_backtest
from sim.markets.synthetic import SyntheticConfig, SyntheticMarket
from sim.recorder import RunRecorder
from sim.report import write_reports
from sim.store import MemoryStore

pytestmark = pytest.mark.slow  # a six-month backtest

START, END = date(2025, 1, 2), date(2025, 6, 30)


# 0DTE alone, in an account large enough that one condor's gamma and theta stay inside the
# portfolio Greeks limits (1% / 0.5% of NLV): at $100k a single SPX condor already breaches them.
ONLY_ZERO_DTE = {
    "lt112_enabled": False, "strangle_enabled": False, "ipmcc_enabled": False, "leap_enabled": False,
    "starting_cash": 250_000.0,
}  # fmt: skip


def _run(seed: int = 7, **overrides):
    overrides = {**ONLY_ZERO_DTE, **overrides}
    settings = Settings().with_overrides(start_date=START.isoformat(), end_date=END.isoformat(), **overrides)
    calendar = ExchangeCalendar(START - timedelta(days=7), END + timedelta(days=800))
    market = SyntheticMarket(SyntheticConfig(seed=seed, start=START, end=END), calendar)
    return run_backtest(settings, market, calendar, MemoryStore(), RunRecorder()), settings, calendar


@pytest.fixture(scope="module")
def half_year():
    return _run()


def test_zero_dte_trades_follow_the_rulebook(half_year):
    result, settings, calendar = half_year
    trades = [t for t in result.recorder.trades if t.strategy == "zero_dte"]
    assert trades, "a half year of synthetic market should have Fridays with VIX > 22"
    for t in trades:
        assert t.opened_at is not None and t.closed_at is not None
        day = t.opened_at.date()
        assert day.weekday() == 4 and calendar.is_trading_day(day) and not calendar.is_early_close(day)
        # orders go in from 10:30 to 13:00 and fill on a later step, within the ladder
        assert time(10, 30) < t.opened_at.time() <= time(13, 30)
        assert t.notes["vix"] > settings.zero_dte_min_vix
        assert abs(t.notes["move_since_open"]) <= settings.zero_dte_max_move
        assert t.closed_at.date() == day, "0DTE positions never survive their day"
        # pre_holiday_pin: the risk layer's Friday rule, nothing short near the money into the close
        assert t.exit_reason in {"profit_target", "stop_loss", "time_exit", "expired", "pre_holiday_pin"}
        if t.exit_reason != "expired":
            assert t.closed_at.time() <= time(16, 0)
        assert t.entry_price < 0, "an iron condor is opened for a credit"
        assert t.entry_fees == pytest.approx(1.0 * 4 * t.quantity), "$1 per contract to open, 4 legs"
        assert t.exit_fees == 0.0, "Tastytrade charges nothing to close options"
        assert 1 <= t.quantity <= settings.zero_dte_max_condors


def test_books_reconcile_cash_equals_start_plus_realized_pnl(half_year):
    result, settings, _ = half_year
    assert all(g.status is not GroupStatus.OPEN for g in result.system.book.live())
    assert result.platform.broker.holdings() == {}, "everything closed or settled"
    realized = sum(t.realized_pnl() for t in result.recorder.trades)
    final = result.equity[-1]
    assert final.cash == pytest.approx(settings.starting_cash + realized, abs=0.01)
    assert final.net_liquidation == pytest.approx(final.cash, abs=0.01)


def test_same_seed_same_run_different_seed_different_run(half_year, tmp_path):
    first = half_year[0]
    again = _run()[0]
    other = _run(seed=8)[0]
    write_reports(tmp_path / "a", first)
    write_reports(tmp_path / "b", again)
    write_reports(tmp_path / "c", other)
    trades = [(tmp_path / x / "trades.csv").read_bytes() for x in "abc"]
    assert trades[0] == trades[1]
    assert trades[0] != trades[2]


def test_vix_threshold_is_respected_end_to_end():
    result, _, _ = _run(zero_dte_min_vix=200.0)
    assert [t for t in result.recorder.trades if t.strategy == "zero_dte"] == []
