"""The synthetic market against LEAN's real chains: implied vol by delta and expiry (0DTE included),
bid/ask width by delta and expiry, strike spacing by distance from the underlying.

Each real quote is re-quoted by the synthetic market at the same underlying, VIX and moment
(``compare.requote``); per bucket the means must agree within the stated tolerance
(``compare.IV_TOLERANCE``, ``compare.WIDTH_FACTOR``).  The table is printed on every run
(``pytest -s tests/calibration`` shows it; a failure shows it too).
"""

from __future__ import annotations

from datetime import date

import pytest

from tests.calibration.compare import Row, format_table, iv_rows, requote, spacing_rows, width_rows
from tests.calibration.real_chains import LEAN, VIX_OHLC, all_observations, strike_lists

pytestmark = pytest.mark.skipif(
    not LEAN.is_dir(), reason="shared LEAN data not present (a user's clone has no ../shared)"
)


@pytest.fixture(scope="module")
def table() -> list[Row]:
    from sim.calendar import ExchangeCalendar
    from sim.markets.synthetic.probe import SurfaceProbe

    first, last = date(2019, 12, 1), date(2027, 12, 31)
    probe = SurfaceProbe(ExchangeCalendar(first, last), first, last)
    pairs = requote(probe, all_observations(LEAN))
    closes = {d: v[3] for d, v in VIX_OHLC.items()}
    rows = iv_rows(pairs) + width_rows(pairs) + spacing_rows(probe, strike_lists(LEAN), closes)
    print("\nsynthetic market vs LEAN's real chains\n" + format_table(rows))
    return rows


def _failures(rows: list[Row]) -> str:
    bad = [r for r in rows if not r.ok]
    return "beyond tolerance:\n" + format_table(bad) if bad else ""


def test_the_comparison_covers_what_the_strategies_trade(table: list[Row]) -> None:
    buckets = {r.bucket for r in table if r.metric.startswith("IV")}
    for needed in ("SPX/SPY 0DTE 10-25d", "SPX/SPY 1-4 DTE 25-40d", "SPX/SPY 12-45 DTE 10-25d",
                   "ES 46-200 DTE 10-25d", "SPX/SPY LEAP 10-25d"):  # fmt: skip
        assert needed in buckets
    assert sum(r.n for r in table if r.metric.startswith("IV")) > 600
    assert {r.bucket.split()[0] for r in table if r.metric == "strike step"} == {"ES", "SPY"}


def test_implied_vol_by_delta_and_expiry_matches_real_chains(table: list[Row]) -> None:
    rows = [r for r in table if r.metric.startswith("IV")]
    assert all(r.ok for r in rows), _failures(rows)


def test_bid_ask_widths_match_real_chains(table: list[Row]) -> None:
    rows = [r for r in table if r.metric.startswith("width") and r.n >= 3]
    assert all(r.ok for r in rows), _failures(rows)


def test_strike_spacing_is_as_fine_as_the_exchanges_list(table: list[Row]) -> None:
    rows = [r for r in table if r.metric == "strike step"]
    assert all(r.ok for r in rows), _failures(rows)
