"""The LEAN adapter's ``QuoteOverlay`` hook, which is how ``main.py`` plugs the DXLink feed in,
on the LEAN double (testing/lean).  The overlay is a recording stand-in for ``TastytradeLink``,
whose merge is tested elsewhere."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime

import pytest

from core.types import OptionContract, OptionQuote, Right
from testing.factories import quote, spxw
from testing.lean.bench import adapter, at
from testing.lean.fixtures import hours, lean, platform_module  # noqa: F401

FRIDAY = date(2026, 10, 9)


class Overlay:
    def __init__(self) -> None:
        self.lean: list[datetime] = []
        self.merged: list[float] = []
        self.asked: list[str] = []
        self.fallback: OptionQuote | None = None

    def lean_data(self, now: datetime) -> None:
        self.lean.append(now)

    def merge(self, q: OptionQuote, now: datetime) -> OptionQuote:
        self.merged.append(q.contract.strike)
        return dataclasses.replace(q, bid=q.bid + 0.05)

    def quote(self, contract: OptionContract, now: datetime) -> OptionQuote | None:
        self.asked.append(contract.symbol)
        return self.fallback


@pytest.fixture
def bench(platform_module, hours):  # noqa: F811
    b = adapter(platform_module, hours, FRIDAY)
    b.platform.quote_overlay = Overlay()
    b.engine.run_until(at(FRIDAY, 10, 30))
    return b


def test_every_chain_quote_goes_through_the_overlay(bench):
    ov = bench.platform.quote_overlay
    chain = bench.platform.snapshot().chains.chain("SPXW", FRIDAY)
    assert chain is not None and len(ov.merged) == len(chain.quotes) > 10
    chains = bench.algorithm.current_slice.option_chains
    contract = next(c for ch in chains.values() for c in ch if c.symbol.id.symbol == "SPXW")
    mine = next(q for q in chain.quotes if q.contract.strike == contract.symbol.id.strike_price
                and (q.contract.right is Right.CALL) == (contract.symbol.id.option_right == 0))  # fmt: skip
    assert mine.bid == pytest.approx(contract.bid_price + 0.05)  # the overlay's choice is what strategies see
    assert ov.lean, "LEAN's option data is reported to the overlay from on_data"


def test_contract_lean_has_no_quote_for_falls_back_to_the_overlay(bench):
    ov = bench.platform.quote_overlay
    held = spxw(3000.0, Right.PUT, FRIDAY)  # outside LEAN's band: no LEAN quote
    assert bench.platform.snapshot().chains.quote(held) is None and ov.asked == [held.symbol]
    ov.fallback = quote(held, datetime(2026, 10, 9, 10, 30), 0.05, 0.1, -0.01)
    assert bench.platform.snapshot().chains.quote(held) is ov.fallback
