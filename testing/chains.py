"""Option chains priced with our Black-Scholes / Black-76 maths for strategy tests: any root,
expiry, spot and volatility, with a simple put skew and half-spreads that grow with premium."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import numpy as np

from core.option_math import black76_greeks, black76_price, bs_greeks, bs_price
from core.types import (
    ExerciseStyle,
    MarketSnapshot,
    OptionChain,
    OptionContract,
    OptionQuote,
    Right,
    SecurityKind,
    Settlement,
    UnderlyingQuote,
)
from testing.factories import FakeChains

ROOTS = {  # root: (underlying, multiplier, kind, style, settlement, strike step)
    "SPXW": ("SPX", 100.0, SecurityKind.INDEX_OPTION, ExerciseStyle.EUROPEAN, Settlement.CASH, 5.0),
    "SPX": ("SPX", 100.0, SecurityKind.INDEX_OPTION, ExerciseStyle.EUROPEAN, Settlement.CASH, 5.0),
    "XSP": ("XSP", 100.0, SecurityKind.INDEX_OPTION, ExerciseStyle.EUROPEAN, Settlement.CASH, 1.0),
    "SPY": ("SPY", 100.0, SecurityKind.EQUITY_OPTION, ExerciseStyle.AMERICAN, Settlement.SHARES, 1.0),
    "QQQ": ("QQQ", 100.0, SecurityKind.EQUITY_OPTION, ExerciseStyle.AMERICAN, Settlement.SHARES, 1.0),
    "IWM": ("IWM", 100.0, SecurityKind.EQUITY_OPTION, ExerciseStyle.AMERICAN, Settlement.SHARES, 1.0),
    "ES": ("ESZ25", 50.0, SecurityKind.FUTURE_OPTION, ExerciseStyle.AMERICAN, Settlement.FUTURE, 5.0),
    "MES": ("MESZ25", 5.0, SecurityKind.FUTURE_OPTION, ExerciseStyle.AMERICAN, Settlement.FUTURE, 5.0),
    "CL": ("CLZ25", 1000.0, SecurityKind.FUTURE_OPTION, ExerciseStyle.AMERICAN, Settlement.FUTURE, 0.5),
    "GC": ("GCZ25", 100.0, SecurityKind.FUTURE_OPTION, ExerciseStyle.AMERICAN, Settlement.FUTURE, 5.0),
}


def bsm_chain(
    root: str,
    expiry: date,
    now: datetime,
    spot: float,
    vol: float = 0.18,
    skew: float = 0.5,
    width_sd: float = 4.0,
    step: float | None = None,
) -> OptionChain:
    """Strikes ``step`` apart covering +-``width_sd`` standard deviations; put skew raises the vol
    of low strikes by ``skew`` x log-moneyness."""
    underlying, mult, kind, style, settlement, default_step = ROOTS[root]
    step = step or default_step
    t = max((expiry - now.date()).days, 0) / 365.0 + 1.0 / 365.0
    sd = spot * vol * np.sqrt(t)
    strikes = np.arange(np.floor((spot - width_sd * sd) / step) * step, spot + width_sd * sd + step, step)
    strikes = strikes[strikes > 0]
    vols = np.clip(vol * (1.0 - skew * np.log(strikes / spot)), 0.05, 3.0)
    quotes: list[OptionQuote] = []
    for right in (Right.CALL, Right.PUT):
        is_call = right is Right.CALL
        if settlement is Settlement.FUTURE:
            price = black76_price(spot, strikes, t, 0.04, vols, is_call)
            greeks = black76_greeks(spot, strikes, t, 0.04, vols, is_call)
        else:
            price = bs_price(spot, strikes, t, 0.04, 0.013, vols, is_call)
            greeks = bs_greeks(spot, strikes, t, 0.04, 0.013, vols, is_call)
        for i, k in enumerate(strikes):
            mid = max(float(price[i]), 0.025)  # far strikes still quote 0 / 0.05, as listed ones do
            half = max(0.025, 0.02 * mid)
            contract = OptionContract(
                root, underlying, right, float(k), expiry, mult, kind, style, settlement
            )
            quotes.append(
                OptionQuote(
                    contract, now, max(0.0, round(mid - half, 2)), round(mid + half, 2), 20, 20, 500, 2000, spot,
                    float(vols[i]), float(greeks.delta[i]), float(greeks.gamma[i]), float(greeks.theta[i]),
                    float(greeks.vega[i]),
                )
            )  # fmt: skip
    quotes.sort(key=lambda q: (q.contract.strike, q.contract.right.value))
    return OptionChain(root, expiry, underlying, spot, tuple(quotes))


def market(now: datetime, chains: Sequence[OptionChain], vix: float = 18.0) -> MarketSnapshot:
    """A snapshot holding ``chains`` with each chain's underlying price."""
    unders = {
        c.underlying: UnderlyingQuote(c.underlying, SecurityKind.INDEX, now, c.underlying_price, c.underlying_price,
                                      c.underlying_price)
        for c in chains
    }  # fmt: skip
    opens = {k: q.price for k, q in unders.items()}
    return MarketSnapshot(now, unders, vix, opens, FakeChains(chains))
