"""Volatility context (IV rank/percentile, 25-delta skew, quote stats), the tax view (Section 1256
classification, wash-sale flags, year-end marks) and the daily metrics export."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime, timedelta

import numpy as np
import pytest

from core.types import (
    ExerciseStyle,
    GroupStatus,
    Leg,
    OptionChain,
    OptionContract,
    PositionGroup,
    Right,
    SecurityKind,
    Settlement,
)  # fmt: skip
from monitoring import performance as pf
from monitoring.export import LATEST_KEY, DailyMetricsExporter, daily_summary, day_key
from monitoring.tax import EQUITY, MIXED, SECTION_1256, UNCLASSIFIED, classify, tax_rows, tax_years
from monitoring.volatility import QuoteStats, atm_iv, iv_percentile, iv_rank, skew_25d
from sim.store import MemoryStore
from testing.factories import quote, spxw

NOW = datetime(2025, 3, 7, 11, 0)


# --- volatility ---------------------------------------------------------------------------------
def test_iv_rank_and_percentile():
    history = [0.10 + 0.01 * i for i in range(21)]  # 10% .. 30%
    assert iv_rank(history, 0.25) == pytest.approx(0.75)
    assert iv_percentile(history, 0.25) == pytest.approx(15 / 21)
    assert iv_rank(history, 0.40) == 1.0 and iv_rank(history, 0.05) == 0.0
    assert iv_rank(history[:10], 0.2) is None, "too little history to rank"
    assert iv_rank([0.2] * 30, 0.2) is None, "a flat history has no range"


def _chain(ivs_by_delta):
    quotes = []
    for strike, right, delta, iv in ivs_by_delta:
        quotes.append(
            dataclasses.replace(quote(spxw(strike, right, NOW.date()), NOW, 1.0, 1.1, delta), iv=iv)
        )
    return OptionChain("SPXW", NOW.date(), "SPX", 5000.0, tuple(quotes))


def test_atm_iv_and_25_delta_skew():
    chain = _chain([
        (4800, Right.PUT, -0.24, 0.22), (4900, Right.PUT, -0.40, 0.19), (5000, Right.PUT, -0.50, 0.17),
        (5000, Right.CALL, 0.50, 0.16), (5100, Right.CALL, 0.26, 0.14), (5200, Right.CALL, 0.10, 0.13),
    ])  # fmt: skip
    assert atm_iv(chain) == pytest.approx(0.165)
    assert skew_25d(chain) == pytest.approx((0.22 - 0.14) * 100)
    far = _chain([(4500, Right.PUT, -0.05, 0.3), (5500, Right.CALL, 0.04, 0.12)])
    assert skew_25d(far) is None, "no option near 25 delta: no skew rather than a wrong one"


def test_quote_stats_rate_and_spreads():
    stats = QuoteStats()
    t = NOW
    for i in range(11):
        bid = 10.0 + (0.1 if i % 2 else 0.0)
        stats.observe("SPX", t + timedelta(seconds=6 * i), bid, bid + 0.2)
    stats.observe("SPX", t + timedelta(minutes=2), 10.0, 10.2)  # unchanged: not an update
    s = stats.summary()["SPX"]
    assert s["updates"] == 11 and s["updates_per_minute"] == pytest.approx(11 / 2)
    assert s["median_spread_pct"] == pytest.approx(0.2 / 10.1)


# --- tax ----------------------------------------------------------------------------------------
def _contract(root, underlying, kind, right=Right.PUT, strike=100.0, expiry=date(2025, 6, 20)):
    return OptionContract(
        root, underlying, right, strike, expiry, 100.0, kind, ExerciseStyle.AMERICAN, Settlement.SHARES
    )


def _group(gid, contract, ratio, opened, closed, entry, exit_, strategy="s"):
    return PositionGroup(
        gid, strategy, (Leg(contract, ratio),), 1, GroupStatus.CLOSED, opened_at=opened, entry_price=entry,
        closed_at=closed, exit_price=exit_,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("root", "kind", "expected"),
    [
        ("SPXW", SecurityKind.INDEX_OPTION, SECTION_1256),
        ("SPX", SecurityKind.INDEX_OPTION, SECTION_1256),
        ("XSP", SecurityKind.INDEX_OPTION, SECTION_1256),
        ("ES", SecurityKind.FUTURE_OPTION, SECTION_1256),
        ("SPY", SecurityKind.EQUITY_OPTION, EQUITY),
        ("QQQ", SecurityKind.EQUITY_OPTION, EQUITY),
        ("FOO", SecurityKind.INDEX_OPTION, UNCLASSIFIED),
    ],
)
def test_section_1256_classification(root, kind, expected):
    g = _group("g", _contract(root, root, kind), -1, NOW, NOW, -1.0, 0.5)
    assert classify(g) == expected


def test_mixed_groups_are_left_for_review():
    g = dataclasses.replace(
        _group("g", _contract("SPX", "SPX", SecurityKind.INDEX_OPTION), -1, NOW, NOW, -1, 0),
        legs=(
            Leg(_contract("SPX", "SPX", SecurityKind.INDEX_OPTION), -1),
            Leg(_contract("SPY", "SPY", SecurityKind.EQUITY_OPTION), 1),
        ),
    )
    assert classify(g) == MIXED


def test_wash_sale_flags_equity_option_losses_with_a_repurchase_within_30_days():
    spy = _contract("SPY", "SPY", SecurityKind.EQUITY_OPTION)
    loss = _group("loss", spy, +1, datetime(2025, 2, 1), datetime(2025, 3, 10), 5.0, -2.0)  # long put lost 3
    again = _group(
        "again",
        dataclasses.replace(spy, strike=101.0),
        +1,
        datetime(2025, 3, 20),
        datetime(2025, 4, 1),
        4.0,
        4.5,
    )
    late = _group("late", spy, +1, datetime(2025, 5, 1), datetime(2025, 5, 9), 4.0, -4.5)
    qqq = _group(
        "qqq",
        _contract("QQQ", "QQQ", SecurityKind.EQUITY_OPTION),
        +1,
        datetime(2025, 3, 12),
        datetime(2025, 3, 13),
        4.0,
        3.0,
    )
    spx = _group(
        "spx",
        _contract("SPX", "SPX", SecurityKind.INDEX_OPTION),
        +1,
        datetime(2025, 3, 1),
        datetime(2025, 3, 12),
        5.0,
        1.0,
    )
    rows = {r.group_id: r for r in tax_rows([loss, again, late, qqq, spx])}
    assert rows["loss"].wash_sale_with == ("again",)
    assert rows["qqq"].wash_sale_with == (), "different underlying"
    assert rows["spx"].wash_sale_with == () and rows["spx"].term == "60/40", (
        "1256 contracts have no wash sales here"
    )
    assert rows["again"].term == "short"


def test_tax_years_split_1256_60_40_with_year_end_marks():
    spx = _contract("SPX", "SPX", SecurityKind.INDEX_OPTION)
    spy = _contract("SPY", "SPY", SecurityKind.EQUITY_OPTION)
    rows = tax_rows([
        _group("a", spx, -1, datetime(2024, 12, 1), datetime(2025, 1, 10), -3.0, 1.0),  # +200 realised in 2025
        _group("b", spy, -1, datetime(2024, 1, 2), datetime(2025, 1, 15), -3.0, 1.0),  # held > 1 year
    ])  # fmt: skip
    years = {y.year: y for y in tax_years(rows, {2024: 150.0})}
    assert years[2024].section_1256_mark_to_market == 150.0, "marked at the end of 2024"
    assert years[2025].section_1256_realized == pytest.approx(200.0)
    assert years[2025].section_1256_total == pytest.approx(50.0), "the 2024 mark is reversed in 2025"
    assert years[2025].section_1256_long_term == pytest.approx(30.0)
    assert years[2025].equity_long_term == pytest.approx(200.0)


# --- daily export -------------------------------------------------------------------------------
def test_daily_export_writes_metrics_to_the_store_each_close():
    store = MemoryStore()
    exporter = DailyMetricsExporter(store, 100_000.0, {"zero_dte": 0.88})
    rng = np.random.default_rng(1)
    days = [date(2025, 1, 2) + timedelta(days=i) for i in range(30)]
    values = list(100_000 * np.cumprod(1 + rng.normal(0, 0.01, 30)))
    spx = _contract("SPXW", "SPX", SecurityKind.INDEX_OPTION)
    closed = [
        _group(f"zero_dte-{i}", spx, -1, datetime(2025, 1, 3 + i, 10), datetime(2025, 1, 3 + i, 15), -1.0, 0.2 if i % 3 else 3.0, "zero_dte")
        for i in range(12)
    ]  # fmt: skip
    for i, (d, v) in enumerate(zip(days, values, strict=True)):
        doc = exporter.on_close(d, v, 500 + i, [g for g in closed if g.closed_at.date() <= d])
    saved = json.loads(store.load(day_key(days[-1])))
    assert saved == json.loads(store.load(LATEST_KEY)) == doc
    returns = pf.returns_from_values(values, 100_000.0)
    assert saved["portfolio"]["sharpe"] == pytest.approx(pf.sharpe_ratio(returns))
    z = saved["strategies"]["zero_dte"]
    assert z["trades"] == 12 and z["win_rate"] == pytest.approx(8 / 12) and z["underperforming"]
    title, body = daily_summary(saved)
    assert title == f"Daily summary {days[-1]}" and "zero_dte: 12 trades, win 67% vs 88% expected" in body
    assert "UNDERPERFORMING" in body
    with pytest.raises(ValueError, match="forward"):
        exporter.on_close(days[0], 1.0, None, [])


def test_daily_export_reads_a_replaced_closed_group_again():
    """The exporter keeps each closed group's trade between closes; a group the book replaced
    (same id, new object: a corrected fill) is read again, not served from the kept copy."""
    exporter = DailyMetricsExporter(MemoryStore(), 100_000.0, {})
    spx = _contract("SPXW", "SPX", SecurityKind.INDEX_OPTION)
    first = _group(
        "zero_dte-1", spx, -1, datetime(2025, 1, 2, 10), datetime(2025, 1, 2, 15), -1.0, 0.2, "zero_dte"
    )
    doc = exporter.on_close(date(2025, 1, 2), 100_000.0, None, [first])
    assert doc["strategies"]["zero_dte"]["realized_pnl"] == pytest.approx(first.realized_pnl())
    corrected = dataclasses.replace(first, exit_price=0.6)
    doc = exporter.on_close(date(2025, 1, 3), 100_000.0, None, [corrected])
    assert corrected.realized_pnl() != first.realized_pnl()
    assert doc["strategies"]["zero_dte"]["realized_pnl"] == pytest.approx(corrected.realized_pnl())
