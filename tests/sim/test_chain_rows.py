"""A synthetic chain's rows are built when read (``sim.markets.synthetic.rows.ChainRows``): the
chain's look-ups must answer exactly as on a tuple of the same quotes, build only what they return,
and a row read twice must be the same object."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time

import pytest

from core.types import OptionChain, Right
from sim.markets.synthetic import SyntheticConfig, SyntheticMarket
from sim.markets.synthetic.rows import _INDEX, _NUMERIC, ChainRows
from tests.sim.test_synthetic_market import CAL

DAY = date(2025, 3, 4)
CAL_STEP_5 = datetime.combine(DAY, time(10, 0))  # the open + 6 steps of 5 minutes


@pytest.fixture(scope="module")
def market() -> SyntheticMarket:
    return SyntheticMarket(SyntheticConfig(seed=7, start=date(2025, 3, 3), end=date(2025, 3, 7)), CAL)


def _fresh_chain(market: SyntheticMarket, root: str, step: int = 5) -> OptionChain:
    snap = market.snapshot_at(market.step_times(DAY)[step])
    expiry = next(e for e in snap.chains.expiries(root) if (e - DAY).days >= 20)
    chain = snap.chains.chain(root, expiry)
    assert chain is not None and isinstance(chain.quotes, ChainRows) and chain.quotes.built == 0
    return chain


@pytest.mark.parametrize("root", ["SPXW", "ES", "CL", "SPY"])
def test_look_ups_answer_as_on_a_tuple_of_the_same_quotes(market: SyntheticMarket, root: str):
    chain = _fresh_chain(market, root)
    rows = chain.quotes
    assert isinstance(rows, ChainRows)
    for right in (Right.PUT, Right.CALL):
        for target in (0.05, 0.16, 0.25, 0.5, 0.9):
            lazy = chain.nearest_delta(right, target)
            assert lazy is not None
            assert rows.built <= 10  # only the returned rows were built
            tupled = replace(chain, quotes=tuple(_fresh_chain(market, root).quotes))
            assert lazy == tupled.nearest_delta(right, target)
            assert chain.at_strike(right, lazy.contract.strike) == tupled.at_strike(
                right, lazy.contract.strike
            )
    assert chain.at_strike(Right.PUT, 1e9) is None
    assert rows.built == 10
    indices, contracts, deltas = chain.side_columns(Right.PUT)
    assert rows.built == 10  # the columns of a side build no rows
    some = [chain.quotes[i] for i in indices[::7]]
    assert [q.contract for q in some] == contracts[::7] and [q.delta for q in some] == deltas[::7]
    assert all(q.contract.right is Right.PUT for q in some)
    puts = chain.side(Right.PUT)
    assert rows.built == len(puts) + 5  # the put side, plus the five calls read before
    assert [q.contract for q in puts] == contracts
    assert puts == replace(chain, quotes=tuple(_fresh_chain(market, root).quotes)).side(Right.PUT)


def test_rows_are_kept_and_the_table_reads_like_a_tuple(market: SyntheticMarket):
    chain = _fresh_chain(market, "SPXW")
    rows = chain.quotes
    assert isinstance(rows, ChainRows)
    first = rows[3]
    assert rows[3] is first and rows[-1] is rows[len(rows) - 1]
    assert rows[2:5] == (rows[2], first, rows[4]) and rows[2:5][1] is first
    with pytest.raises(IndexError):
        rows[len(rows)]
    everything = tuple(rows)
    assert everything[3] is first and len(everything) == len(rows) == rows.built
    same = _fresh_chain(market, "SPXW")
    assert same == chain and same.quotes == everything and everything == same.quotes  # tuple on either side
    assert repr(rows) == repr(everything) and hash(rows) == hash(everything)
    later = _fresh_chain(market, "SPXW", step=6)
    assert later != chain  # another step, other quotes
    assert all(q.time == CAL_STEP_5 for q in rows[:4])  # the step's time, as every quote of the chain


def test_each_strike_grid_lists_its_own_contracts_made_once(market: SyntheticMarket):
    # The contracts of a chain are kept per strike grid: a grid that moved with the underlying must
    # list its own strikes (a list kept per expiry alone would repeat the first step's strikes).
    grids: dict[tuple[float, ...], tuple] = {}
    for step in range(0, len(market.step_times(DAY)), 3):
        snap = market.snapshot_at(market.step_times(DAY)[step])
        chain = snap.chains.chain("SPXW", DAY)  # 0DTE: its grid follows SPX through the day
        assert chain is not None and isinstance(chain.quotes, ChainRows)
        contracts = tuple(chain.quotes.contracts)
        strikes = tuple(c.strike for c in contracts[::2])
        assert [(c.strike, c.right) for c in contracts] == [
            (k, r) for k in strikes for r in (Right.CALL, Right.PUT)
        ]
        assert all(c.expiry == DAY and c.root == "SPXW" for c in contracts)
        if strikes in grids:
            assert all(a is b for a, b in zip(contracts, grids[strikes], strict=True))  # made once
        grids[strikes] = contracts
    assert len(grids) > 1  # the grid did move during the day


def test_numpy_columns_give_the_same_python_values_as_lists(market: SyntheticMarket):
    """A chain priced as numpy arrays converts only what is read, to the same floats and ints."""
    chain = _fresh_chain(market, "SPXW")
    rows = chain.quotes
    assert isinstance(rows, ChainRows)
    other = _fresh_chain(market, "SPXW").quotes
    assert isinstance(other, ChainRows)
    read = tuple(other)  # every row, as lists would give them
    plain = {"contract": [q.contract for q in read], "time": [q.time for q in read]}
    listed = ChainRows([other.values(n) if n in _NUMERIC else plain[n] for n in _INDEX])
    some = rows[7]  # read alone: only its elements converted
    assert some == listed[7] and type(some.bid) is float and type(some.bid_size) is int
    assert rows.values("ask") == listed.values("ask") and isinstance(rows.values("ask"), list)
    assert tuple(rows) == tuple(listed)
