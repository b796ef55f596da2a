"""The LEAN adapter's ``QuoteOverlay`` hook, which is how ``main.py`` plugs the DXLink feed in:
proven on the fake LEAN of tests/lean (LEAN itself cannot run here; pyright checks the LEAN calls).
The overlay below is a recording stand-in for ``TastytradeLink``, whose merge is tested elsewhere."""

from __future__ import annotations

import dataclasses
import types
from datetime import date, datetime

from core.types import OptionContract, OptionQuote, Right
from testing.factories import quote, spxw
from tests.lean.test_adapter_with_fake_lean import (  # noqa: F401  (fixtures)
    EXPIRY,
    _chain,
    adapter,
    platform,
)


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
        return dataclasses.replace(q, bid=q.bid + 0.05) if q.contract.strike == 4900 else q

    def quote(self, contract: OptionContract, now: datetime) -> OptionQuote | None:
        self.asked.append(contract.symbol)
        return self.fallback


def test_every_chain_quote_goes_through_the_overlay(platform):  # noqa: F811
    algo, plat = platform
    ov = Overlay()
    plat.quote_overlay = ov
    algo.current_slice = types.SimpleNamespace(option_chains=_chain(algo), future_chains={})
    chain = plat.snapshot().chains.chain("SPXW", EXPIRY.date())
    assert chain is not None and sorted(ov.merged) == [4900, 4950, 5050, 5100]
    by_strike = {q.contract.strike: q for q in chain.quotes}
    assert by_strike[4900].bid == 2.05  # the overlay's choice is what strategies see


def test_contract_lean_has_no_quote_for_falls_back_to_the_overlay(platform):  # noqa: F811
    algo, plat = platform
    ov = Overlay()
    plat.quote_overlay = ov
    algo.current_slice = types.SimpleNamespace(option_chains=_chain(algo), future_chains={})
    snap = plat.snapshot()
    held = spxw(4000.0, Right.PUT, date(2025, 3, 7))  # outside LEAN's band: no LEAN quote
    assert snap.chains.quote(held) is None and ov.asked == [held.symbol]
    ov.fallback = quote(held, datetime(2025, 3, 7, 10, 30), 0.05, 0.1, -0.01)
    assert plat.snapshot().chains.quote(held) is ov.fallback


def test_option_data_marks_leans_feed_alive_and_no_overlay_changes_nothing(platform):  # noqa: F811
    algo, plat = platform
    slice_ = types.SimpleNamespace(option_chains=_chain(algo), future_chains={}, contains_key=lambda s: False)
    plat.on_data(slice_)  # no overlay set: the adapter behaves exactly as before
    ov = Overlay()
    plat.quote_overlay = ov
    plat.on_data(slice_)
    plat.on_data(types.SimpleNamespace(option_chains={}, future_chains={}, contains_key=lambda s: False))
    assert ov.lean == [algo.time]  # only the slice that carried option chains counts
