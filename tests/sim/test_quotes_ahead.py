"""Open legs are priced for the rest of the day in one call (``sim.markets.synthetic.ahead``): every
step's quote must equal, field for field and to the last bit, the row of that step's own chain, and
rows priced on one day (or for later points) must never answer for another day or an earlier point."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from core.types import OptionContract
from sim.markets.synthetic import SyntheticConfig, SyntheticMarket
from tests.sim.test_synthetic_market import CAL

DAYS = (date(2025, 3, 6), date(2025, 3, 7))  # a Thursday and a Friday: SPXW 0DTE expires at the close


@pytest.fixture()
def market() -> SyntheticMarket:
    return SyntheticMarket(SyntheticConfig(seed=11, start=date(2025, 3, 3), end=date(2025, 3, 10)), CAL)


def _legs(market: SyntheticMarket) -> list[OptionContract]:
    snap = market.snapshot_at(market.step_times(DAYS[0])[0])
    legs = []
    for root, nth in (("SPXW", 0), ("SPXW", 3), ("ES", 2), ("CL", 1), ("SPY", 4)):
        day = snap.time.date()
        expiry = [e for e in snap.chains.expiries(root) if e >= DAYS[1]][nth]
        chain = snap.chains.chain(root, expiry)
        assert chain is not None
        middle = len(chain.quotes) // 2
        legs += [chain.quotes[middle].contract, chain.quotes[middle - 7].contract]
        assert day == DAYS[0]
    return legs


def _check_step(market: SyntheticMarket, index: int, day: date, legs: list[OptionContract]) -> None:
    snap = market.snapshot_at(market.step_times(day)[index])
    quotes = [snap.chains.quote(c) for c in legs]  # before any chain of this step exists
    for c, q in zip(legs, quotes, strict=True):
        chain = snap.chains.chain(c.root, c.expiry)
        row = None if chain is None else chain.at_strike(c.right, c.strike)
        assert row is not None and q is not None
        assert dataclasses.astuple(q) == dataclasses.astuple(row), (c.symbol, snap.time)


def test_every_step_of_two_days_equals_the_chains_rows_bit_for_bit(market: SyntheticMarket):
    legs = _legs(market)
    _check_step(market, 0, DAYS[0], legs)  # asked one by one, never seen before: priced one by one
    assert market.ahead.batches == len(legs)
    for index in range(1, len(market.step_times(DAYS[0]))):
        _check_step(market, index, DAYS[0], legs)
    assert market.ahead.batches == len(legs)  # the rest of the day was priced with the first step
    for index in range(len(market.step_times(DAYS[1]))):
        _check_step(market, index, DAYS[1], legs)
    assert market.ahead.batches == len(legs) + 1  # the next day: all the legs of the step before at once


def test_rows_priced_ahead_never_answer_for_another_day_or_an_earlier_point(market: SyntheticMarket):
    legs = _legs(market)
    _check_step(market, 40, DAYS[0], legs)
    first = market.ahead.batches
    _check_step(market, 60, DAYS[0], legs)
    assert market.ahead.batches == first
    _check_step(market, 10, DAYS[0], legs)  # earlier than what was priced: priced again from there
    assert market.ahead.batches == first + 1
    _check_step(market, 10, DAYS[1], legs)  # the next day's point 10: not the first day's row 10
    assert market.ahead.batches == first + 2
