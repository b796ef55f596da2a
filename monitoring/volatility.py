"""Volatility context a trader reads next to the positions: IV rank and percentile of an
underlying's 30-day at-the-money IV, put/call skew at 25 delta, and quote quality per underlying
(spread as a share of mid, quote update rate)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np

from core.types import MarketSnapshot, OptionChain, QuoteTable, Right

MIN_HISTORY = 20  # fewer daily observations than this make rank/percentile meaningless
SKEW_DELTA = 0.25
SKEW_DELTA_TOLERANCE = 0.05  # the nearest quoted option must be within 0.20..0.30 delta


def iv_rank(history: Sequence[float], current: float) -> float | None:
    """Where ``current`` sits between the lowest and highest IV of ``history`` (0..1)."""
    if len(history) < MIN_HISTORY or not math.isfinite(current):
        return None
    lo, hi = min(history), max(history)
    if hi <= lo:
        return None
    return min(1.0, max(0.0, (current - lo) / (hi - lo)))


def iv_percentile(history: Sequence[float], current: float) -> float | None:
    """Share of ``history`` days whose IV was below ``current``."""
    if len(history) < MIN_HISTORY or not math.isfinite(current):
        return None
    return sum(1 for v in history if v < current) / len(history)


def _values(chain: OptionChain, name: str) -> np.ndarray:
    """One numeric field of every quote, from the table's column when it has one (no rows built)."""
    q = chain.quotes
    return np.asarray(
        q.values(name) if isinstance(q, QuoteTable) else [getattr(x, name) for x in q], dtype=float
    )


def _strikes_and_calls(chain: OptionChain) -> tuple[np.ndarray, np.ndarray]:
    """Each quote's strike and whether it is a call, in row order."""
    q = chain.quotes
    contracts = q.contracts if isinstance(q, QuoteTable) else [x.contract for x in q]
    strikes = np.array([c.strike for c in contracts], dtype=float)
    return strikes, np.array([c.right is Right.CALL for c in contracts], dtype=bool)


def atm_iv(chain: OptionChain) -> float | None:
    """Mean IV of the call and put struck nearest the underlying price (ties: the first in chain
    order), over quotes with a usable IV; read from the chain's columns."""
    strikes, calls = _strikes_and_calls(chain)
    iv = _values(chain, "iv")
    distance = np.abs(strikes - chain.underlying_price)
    usable = np.isfinite(iv) & (iv > 0)
    ivs = []
    for side in (calls, ~calls):
        (candidates,) = np.nonzero(usable & side)
        if candidates.size:
            ivs.append(float(iv[candidates[np.argmin(distance[candidates])]]))
    return sum(ivs) / len(ivs) if ivs else None


def median_spread_pct(chain: OptionChain) -> float | None:
    """Median of (ask - bid) / mid over the quotes with a bid, read from the chain's columns."""
    bid, ask = _values(chain, "bid"), _values(chain, "ask")
    mid = 0.5 * (bid + ask)
    quoted = (bid > 0) & (mid > 0)
    spreads = ((ask - bid)[quoted] / mid[quoted]).tolist()
    return statistics.median(spreads) if spreads else None


def skew_25d(chain: OptionChain) -> float | None:
    """IV of the 25-delta put minus IV of the 25-delta call, in volatility points."""
    put = chain.nearest_delta(Right.PUT, SKEW_DELTA)
    call = chain.nearest_delta(Right.CALL, SKEW_DELTA)
    if put is None or call is None:
        return None
    if (
        abs(abs(put.delta) - SKEW_DELTA) > SKEW_DELTA_TOLERANCE
        or abs(call.delta - SKEW_DELTA) > SKEW_DELTA_TOLERANCE
    ):
        return None
    return (put.iv - call.iv) * 100.0


def expiry_near(expiries: Sequence[date], today: date, target_days: int = 30) -> date | None:
    future = [e for e in expiries if (e - today).days >= 7]
    return min(future, key=lambda e: abs((e - today).days - target_days)) if future else None


@dataclass(frozen=True)
class VolContext:
    underlying: str
    root: str
    expiry: date
    atm_iv: float | None
    iv_rank: float | None
    iv_percentile: float | None
    skew_25d: float | None
    median_spread_pct: float | None  # (ask - bid) / mid over quotes with a bid
    quotes: int


class VolatilityTracker:
    """Keeps each underlying's daily ATM IV history (last ``lookback`` days) for rank/percentile."""

    def __init__(self, lookback: int = 252) -> None:
        self._lookback = lookback
        self._history: dict[str, list[float]] = {}

    def observe(self, snapshot: MarketSnapshot, underlying: str, root: str) -> VolContext | None:
        today = snapshot.time.date()
        expiry = expiry_near(snapshot.chains.expiries(root), today)
        chain = None if expiry is None else snapshot.chains.chain(root, expiry)
        if chain is None or expiry is None:
            return None
        iv = atm_iv(chain)
        history = self._history.setdefault(underlying, [])
        rank = pct = None
        if iv is not None:
            rank, pct = iv_rank(history, iv), iv_percentile(history, iv)
            history.append(iv)
            del history[: -self._lookback]
        return VolContext(
            underlying, root, expiry, iv, rank, pct, skew_25d(chain), median_spread_pct(chain), len(chain.quotes)
        )  # fmt: skip


@dataclass
class _QuoteTally:
    first: datetime
    last: datetime
    updates: int
    spreads: list[float]
    last_bid_ask: tuple[float, float]


class QuoteStats:
    """Live quote quality per symbol: update rate and spread distribution (fed by the quote feed)."""

    def __init__(self, max_samples: int = 10_000) -> None:
        self._tallies: dict[str, _QuoteTally] = {}
        self._max = max_samples

    def observe(self, symbol: str, time: datetime, bid: float, ask: float) -> None:
        tally = self._tallies.get(symbol)
        mid = 0.5 * (bid + ask)
        spread = (ask - bid) / mid if bid > 0 and mid > 0 and ask >= bid else None
        if tally is None:
            self._tallies[symbol] = _QuoteTally(time, time, 1, [] if spread is None else [spread], (bid, ask))
            return
        if (bid, ask) != tally.last_bid_ask:
            tally.updates += 1
            tally.last_bid_ask = (bid, ask)
        tally.last = time
        if spread is not None:
            tally.spreads.append(spread)
            del tally.spreads[: -self._max]

    def summary(self) -> dict[str, dict[str, float | None]]:
        out: dict[str, dict[str, float | None]] = {}
        for symbol, t in sorted(self._tallies.items()):
            minutes = (t.last - t.first).total_seconds() / 60.0
            spreads = sorted(t.spreads)
            out[symbol] = {
                "updates": float(t.updates),
                "updates_per_minute": t.updates / minutes if minutes > 0 else None,
                "median_spread_pct": statistics.median(spreads) if spreads else None,
                "p90_spread_pct": spreads[min(len(spreads) - 1, int(0.9 * len(spreads)))]
                if spreads
                else None,
            }
        return out
