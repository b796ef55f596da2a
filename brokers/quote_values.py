"""What one DXLink event says: typed values, the time the event itself carries, and whether its
numbers are plausible at all.

The cache (``brokers.quote_cache``) stores the SDK's event objects and converts them here on read;
on write it asks only for each event's own time and plausibility (``inspect_*``), reading the
few fields those need, so the flood path stays cheap.

Event time, as DXLink sends it (tastytrade 13.2.3's ``tastytrade.dxfeed`` models, epoch ms):
``Quote`` carries ``bidTime`` / ``askTime`` (the last change of each side, usually at second
precision) and the quote's time is the later of the two; ``Greeks`` carries ``time``; every event
has ``eventTime``, which dxFeed leaves 0 unless the feed stamps it.  0 everywhere means the event
carries no time of its own (the SDK's documented examples show Quotes like that).

Plausibility is about garbage, not markets: a non-finite, negative or absurd (above
``MAX_PRICE``) price or size, an impossible Greek (|delta| > 1, IV <= 0 or > 5, the data-quality
limits of STRATEGY_RULES.md).  A crossed quote is a real, if unusable, market state: it is stored
and reads back as not ``valid``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

MAX_PRICE = 1_000_000.0  # points; no listed option or future quotes anywhere near this
MAX_SIZE = 1e12  # contracts
MAX_IV = 5.0  # STRATEGY_RULES.md: IV <= 0 or > 5 is impossible


class Kind(StrEnum):
    """DXLink event types the feed subscribes to (names are the DXLink/SDK event names)."""

    QUOTE = "Quote"
    GREEKS = "Greeks"
    SUMMARY = "Summary"


@dataclass(frozen=True, slots=True)
class QuoteValue:
    bid: float
    ask: float
    bid_size: float
    ask_size: float
    event_time_ms: int = 0  # the later of bidTime / askTime, else eventTime; 0: none carried

    @property
    def valid(self) -> bool:
        return not quote_problem(self.bid, self.ask, self.bid_size, self.ask_size) and self.ask >= self.bid


@dataclass(frozen=True, slots=True)
class GreeksValue:
    """DXLink Greeks: ``price`` is the option's market price, ``iv`` a decimal (0.2 = 20 %)."""

    price: float
    iv: float
    delta: float
    gamma: float
    theta: float
    vega: float
    rho: float = 0.0
    event_time_ms: int = 0

    @property
    def valid(self) -> bool:
        return not greeks_problem(self.price, self.iv, self.delta, (self.gamma, self.theta, self.vega))


@dataclass(frozen=True, slots=True)
class SummaryValue:
    open_interest: int
    prev_day_volume: float = math.nan
    event_time_ms: int = 0

    @property
    def valid(self) -> bool:
        return not summary_problem(self.open_interest, self.prev_day_volume)


# --- plausibility ------------------------------------------------------------------------------


def quote_problem(bid: float, ask: float, bid_size: float, ask_size: float) -> str:
    """Why these quote numbers cannot be real ("" when they can; NaN fails every comparison)."""
    for name, price in (("bid", bid), ("ask", ask)):
        if not 0.0 <= price <= MAX_PRICE:
            return f"{name} {price:g} outside [0, {MAX_PRICE:g}]"
    for name, size in (("bid size", bid_size), ("ask size", ask_size)):
        if not 0.0 <= size <= MAX_SIZE:
            return f"{name} {size:g} outside [0, {MAX_SIZE:g}]"
    return ""


def greeks_problem(price: float, iv: float, delta: float, others: tuple[float, ...]) -> str:
    if not 0.0 <= price <= MAX_PRICE:
        return f"price {price:g} outside [0, {MAX_PRICE:g}]"
    if not 0.0 < iv <= MAX_IV:
        return f"IV {iv:g} outside (0, {MAX_IV:g}]"
    if not -1.0 <= delta <= 1.0:
        return f"delta {delta:g} outside [-1, 1]"
    if not all(math.isfinite(v) for v in others):
        return "non-finite gamma, theta or vega"
    return ""


def summary_problem(open_interest: float, prev_day_volume: float) -> str:
    if not 0 <= open_interest <= MAX_SIZE:
        return f"open interest {open_interest:g} outside [0, {MAX_SIZE:g}]"
    if prev_day_volume < 0 or prev_day_volume > MAX_SIZE:  # NaN (unknown) is allowed
        return f"previous day volume {prev_day_volume:g} outside [0, {MAX_SIZE:g}]"
    return ""


# --- SDK event -> (own time, problem), for the write path ---------------------------------------


def _f(v: Any) -> float:
    return math.nan if v is None else float(v)


def _ms(v: Any) -> int:
    return int(v) if v else 0


def inspect_quote(ev: Any) -> tuple[int, str]:
    if isinstance(ev, QuoteValue):
        return ev.event_time_ms, quote_problem(ev.bid, ev.ask, ev.bid_size, ev.ask_size)
    t = max(_ms(ev.bid_time), _ms(ev.ask_time)) or _ms(ev.event_time)
    return t, quote_problem(_f(ev.bid_price), _f(ev.ask_price), _f(ev.bid_size), _f(ev.ask_size))


def inspect_greeks(ev: Any) -> tuple[int, str]:
    if isinstance(ev, GreeksValue):
        return ev.event_time_ms, greeks_problem(ev.price, ev.iv, ev.delta, (ev.gamma, ev.theta, ev.vega))
    t = _ms(ev.time) or _ms(ev.event_time)
    others = (_f(ev.gamma), _f(ev.theta), _f(ev.vega))
    return t, greeks_problem(_f(ev.price), _f(ev.volatility), _f(ev.delta), others)


def inspect_summary(ev: Any) -> tuple[int, str]:
    if isinstance(ev, SummaryValue):
        return ev.event_time_ms, summary_problem(ev.open_interest, ev.prev_day_volume)
    oi = ev.open_interest
    return _ms(ev.event_time), summary_problem(-1 if oi is None else oi, _f(ev.prev_day_volume))


# --- SDK event -> typed value, for the read path ------------------------------------------------


def to_quote(raw: Any) -> QuoteValue:
    if isinstance(raw, QuoteValue):
        return raw
    return QuoteValue(
        _f(raw.bid_price), _f(raw.ask_price), _f(raw.bid_size), _f(raw.ask_size), inspect_quote(raw)[0]
    )


def to_greeks(raw: Any) -> GreeksValue:
    if isinstance(raw, GreeksValue):
        return raw
    return GreeksValue(
        _f(raw.price),
        _f(raw.volatility),
        _f(raw.delta),
        _f(raw.gamma),
        _f(raw.theta),
        _f(raw.vega),
        _f(raw.rho),
        _ms(raw.time) or _ms(raw.event_time),
    )


def to_summary(raw: Any) -> SummaryValue:
    if isinstance(raw, SummaryValue):
        return raw
    oi = raw.open_interest
    return SummaryValue(int(oi) if oi is not None else -1, _f(raw.prev_day_volume), _ms(raw.event_time))


def same_values(kind: Kind, a: Any, b: Any) -> bool:
    """``a`` and ``b`` say the same thing (used for events that carry no time of their own)."""
    convert = CONVERT[kind]
    return replace(convert(a), event_time_ms=0) == replace(convert(b), event_time_ms=0)


CONVERT = {Kind.QUOTE: to_quote, Kind.GREEKS: to_greeks, Kind.SUMMARY: to_summary}
INSPECT = {Kind.QUOTE: inspect_quote, Kind.GREEKS: inspect_greeks, Kind.SUMMARY: inspect_summary}
