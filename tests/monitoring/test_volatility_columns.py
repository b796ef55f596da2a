"""The volatility context reads a chain's columns instead of building its quotes
(``monitoring.volatility``): the published numbers must equal the row-by-row definitions exactly
(same nearest strike, same tie-breaking, same median), on synthetic chains and on tuples alike,
while a synthetic chain builds only the two rows of the 25-delta skew."""

from __future__ import annotations

import math
import statistics
from dataclasses import fields, replace
from datetime import date, datetime, time

import pytest

from core.types import OptionChain, OptionQuote, Right
from monitoring.volatility import VolatilityTracker, atm_iv, median_spread_pct
from sim.markets.synthetic import SyntheticConfig, SyntheticMarket
from sim.markets.synthetic.rows import ChainRows
from testing.factories import quote, spxw
from tests.sim.test_synthetic_market import CAL

DAY = date(2025, 3, 4)
NOW = datetime.combine(DAY, time(15, 55))


def _atm_iv_by_rows(chain: OptionChain) -> float | None:
    """The definition: per right, the usable quote nearest the underlying, first in chain order."""
    ivs = []
    for right in (Right.CALL, Right.PUT):
        side = [q for q in chain.quotes if q.contract.right is right and math.isfinite(q.iv) and q.iv > 0]
        if side:
            ivs.append(min(side, key=lambda q: abs(q.contract.strike - chain.underlying_price)).iv)
    return sum(ivs) / len(ivs) if ivs else None


def _median_spread_by_rows(chain: OptionChain) -> float | None:
    spreads = [q.spread / q.mid for q in chain.quotes if q.bid > 0 and q.mid > 0]
    return statistics.median(spreads) if spreads else None


def _as_rows(chain: OptionChain) -> OptionChain:
    """The same quotes as a lazily built ``ChainRows`` table."""
    columns = [[getattr(q, f.name) for q in chain.quotes] for f in fields(OptionQuote)]
    return replace(chain, quotes=ChainRows(columns))


@pytest.fixture(scope="module")
def market() -> SyntheticMarket:
    return SyntheticMarket(SyntheticConfig(seed=11, start=date(2025, 3, 3), end=date(2025, 3, 7)), CAL)


@pytest.mark.parametrize("root", ["SPXW", "SPY", "QQQ", "ES", "CL", "GC"])
def test_synthetic_chains_give_the_row_definitions_exactly(market: SyntheticMarket, root: str):
    for step in (0, 40, -1):
        snap = market.snapshot_at(market.step_times(DAY)[step])
        for expiry in snap.chains.expiries(root)[:6]:
            chain = snap.chains.chain(root, expiry)
            assert chain is not None and isinstance(chain.quotes, ChainRows)
            columns_first = (atm_iv(chain), median_spread_pct(chain))
            assert chain.quotes.built == 0, "ATM IV and spreads come from the columns"
            assert columns_first == (_atm_iv_by_rows(chain), _median_spread_by_rows(chain))


def _hand_chain(spot: float, rows: list[tuple[float, Right, float, float, float]]) -> OptionChain:
    """(strike, right, bid, ask, iv) rows, sorted as a chain is."""
    quotes = tuple(
        quote(spxw(k, r, DAY), NOW, bid, ask, 0.5 if r is Right.CALL else -0.5, spot=spot, iv=iv)
        for k, r, bid, ask, iv in rows
    )
    return OptionChain("SPXW", DAY, "SPX", spot, quotes)


TIES = _hand_chain(
    5000.0,
    [
        (4990, Right.CALL, 12.0, 12.5, 0.21), (4990, Right.PUT, 0.0, 0.1, 0.19),  # zero bid
        (5000, Right.CALL, 5.0, 5.2, math.nan), (5000, Right.PUT, 5.0, 5.4, 0.0),  # ATM but unusable IV
        (5010, Right.CALL, 1.0, 1.1, 0.23), (5010, Right.PUT, 11.0, 11.8, 0.15),  # as near as 4990
        (5020, Right.CALL, 0.4, 0.5, 0.24), (5020, Right.PUT, 20.0, 20.6, 0.16),
    ],
)  # fmt: skip


@pytest.mark.parametrize("chain", [TIES, _as_rows(TIES)], ids=["tuple", "table"])
def test_ties_unusable_ivs_and_missing_bids_are_handled_as_the_rows_are(chain: OptionChain):
    assert atm_iv(chain) == _atm_iv_by_rows(TIES) == pytest.approx((0.21 + 0.19) / 2)
    assert median_spread_pct(chain) == _median_spread_by_rows(TIES)
    assert median_spread_pct(chain) == pytest.approx(
        statistics.median([0.5 / 12.25, 0.2 / 5.1, 0.4 / 5.2, 0.1 / 1.05, 0.8 / 11.4, 0.1 / 0.45, 0.6 / 20.3])
    ), "the zero-bid put is left out"


def test_a_chain_without_usable_quotes_has_no_atm_iv_or_spread():
    dead = _hand_chain(5000.0, [(5000, Right.CALL, 0.0, 0.0, math.nan), (5000, Right.PUT, 0.0, 0.0, 0.0)])
    empty = replace(dead, quotes=())
    for chain in (dead, _as_rows(dead), empty):
        assert atm_iv(chain) is None
        assert median_spread_pct(chain) is None


def test_observe_builds_only_the_skew_rows(market: SyntheticMarket):
    snap = market.snapshot_at(market.step_times(DAY)[-1])
    ctx = VolatilityTracker().observe(snap, "SPX", "SPXW")
    assert ctx is not None
    chain = snap.chains.chain("SPXW", ctx.expiry)
    assert chain is not None and isinstance(chain.quotes, ChainRows)
    assert chain.quotes.built == 2, "only the 25-delta put and call are built"
    assert ctx.atm_iv == _atm_iv_by_rows(chain)
    assert ctx.median_spread_pct == _median_spread_by_rows(chain)
    assert ctx.quotes == len(chain.quotes)


def test_values_names_only_numeric_fields(market: SyntheticMarket):
    snap = market.snapshot_at(market.step_times(DAY)[0])
    chain = snap.chains.chain("SPY", snap.chains.expiries("SPY")[0])
    assert chain is not None and isinstance(chain.quotes, ChainRows)
    assert list(chain.quotes.values("bid")) == [q.bid for q in chain.quotes]
    for name in ("contract", "time", "mid", "nope"):
        with pytest.raises(ValueError, match="not a numeric OptionQuote field"):
            chain.quotes.values(name)
