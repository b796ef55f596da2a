"""All five strategies together in the offline engine, through the real risk gate and execution:
every closed trade passes the rule auditor, campaigns hold together, and the books reconcile."""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from datetime import date, timedelta

import pytest

from analysis.audit import Auditor, load_trades
from core.settings import Settings
from sim.calendar import ExchangeCalendar
from sim.engine import run_backtest
from sim.markets.synthetic import SyntheticConfig, SyntheticMarket
from sim.recorder import RunRecorder
from sim.report import write_reports
from sim.store import MemoryStore

pytestmark = pytest.mark.slow  # a three-month backtest

START, END = date(2025, 1, 2), date(2025, 3, 31)
CASH = 250_000.0  # phase 4 with room for a 0DTE condor inside the Greeks limits


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    settings = Settings().with_overrides(
        start_date=START.isoformat(), end_date=END.isoformat(), starting_cash=CASH
    )
    calendar = ExchangeCalendar(START - timedelta(days=7), END + timedelta(days=800))
    # seed 3: a quarter in which LT112 finds room under the correlation cap (on seed 7's path IPMCC and
    # the LEAP ladder fill the equity-index slots before each LT112 Wednesday)
    market = SyntheticMarket(SyntheticConfig(seed=3, start=START, end=END), calendar)
    result = run_backtest(settings, market, calendar, MemoryStore(), RunRecorder())
    out = tmp_path_factory.mktemp("all")
    write_reports(out, result)
    return result, settings, out


def test_every_strategy_but_the_rare_0dte_trades_and_the_audit_is_clean(run):
    _, settings, out = run
    trades = load_trades(out / "trades.csv")
    counts = Counter(t.strategy for t in trades)
    for name in ("lt112", "strangle", "ipmcc", "leap_ladder"):
        assert counts[name] > 0, f"{name} never traded: {counts}"
    assert Auditor(settings).audit(trades) == []


def test_lt112_units_split_into_their_two_parts(run):
    result, _, _ = run
    groups = [g for g in (*result.system.book.closed(), *result.system.book.live()) if g.strategy == "lt112"]
    by_campaign = defaultdict(set)
    for g in groups:
        by_campaign[g.campaign].add(g.part)
    assert by_campaign and all(parts == {"spread", "naked"} for parts in by_campaign.values())
    for g in groups:
        assert {leg.ratio for leg in g.legs} == ({1, -1} if g.part == "spread" else {-2})


def test_ipmcc_weekly_shorts_belong_to_a_campaign_with_a_long_call(run):
    result, _, _ = run
    groups = [g for g in (*result.system.book.closed(), *result.system.book.live()) if g.strategy == "ipmcc"]
    longs = {g.campaign_id for g in groups if g.part == "long_call"}
    shorts = [g for g in groups if g.part == "short_call"]
    assert shorts and all(g.campaign in longs for g in shorts)
    for s in shorts:  # a short call is never open without its long call
        long = next(g for g in groups if g.part == "long_call" and g.campaign_id == s.campaign)
        assert long.opened_at <= s.opened_at
        assert long.closed_at is None or (s.closed_at is not None and s.closed_at <= long.closed_at)


def test_report_shows_pnl_per_strategy_and_it_adds_up(run):
    result, _, out = run
    summary = (out / "summary.txt").read_text()
    with (out / "trades.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    for name in {r["strategy"] for r in rows}:
        assert name in summary
    assert sum(float(r["pnl"]) for r in rows) == pytest.approx(
        sum(t.realized_pnl() for t in result.recorder.trades), abs=0.05
    )
