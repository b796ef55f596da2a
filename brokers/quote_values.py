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
from decimal import Decimal
from enum import StrEnum
from typing import Any

MAX_PRICE = 1_000_000.0  # points; no listed option or future quotes anywhere near this
MAX_SIZE = 1e12  # contracts
MAX_IV = 5.0  # STRATEGY_RULES.md: IV <= 0 or > 5 is impossible
MAX_GREEK = 1e9  # gamma, theta, vega: stops absurd values; any real one is far below
# The same bounds as Decimals: the SDK's numbers are Decimals, and a Decimal-to-Decimal comparison
# is the cheapest check there is (the flood path converts nothing for a plausible event).
_D_PRICE, _D_SIZE, _D_IV, _D_GREEK = (Decimal(int(v)) for v in (MAX_PRICE, MAX_SIZE, MAX_IV, MAX_GREEK))
_ZERO, _ONE = Decimal(0), Decimal(1)


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
        return not inspect_quote(self)[1] and self.ask >= self.bid


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
        return not inspect_greeks(self)[1]


@dataclass(frozen=True, slots=True)
class SummaryValue:
    open_interest: int
    prev_day_volume: float = math.nan
    event_time_ms: int = 0

    @property
    def valid(self) -> bool:
        return not inspect_summary(self)[1]


# --- plausibility ------------------------------------------------------------------------------
# A fast path of plain comparisons that takes the SDK's Decimals and floats alike; only when it
# fails (or raises: a Decimal NaN, a None) are the numbers converted to say which one is wrong.


def _outside(checks: tuple[tuple[str, Any, float, float], ...]) -> str:
    """The first ``name value outside [low, high]`` (NaN and None fail every check)."""
    for name, value, low, high in checks:
        v = _f(value)
        if not low <= v <= high:
            return f"{name} {v:g} outside [{low:g}, {high:g}]"
    return ""


def quote_problem(bid: Any, ask: Any, bid_size: Any, ask_size: Any) -> str:
    """Why these quote numbers cannot be real ("" when they can)."""
    try:
        prices_ok = _ZERO <= bid <= _D_PRICE and _ZERO <= ask <= _D_PRICE
        if prices_ok and _ZERO <= bid_size <= _D_SIZE and _ZERO <= ask_size <= _D_SIZE:
            return ""
    except (ArithmeticError, TypeError):
        pass
    prices = (("bid", bid, 0.0, MAX_PRICE), ("ask", ask, 0.0, MAX_PRICE))
    return _outside((*prices, ("bid size", bid_size, 0.0, MAX_SIZE), ("ask size", ask_size, 0.0, MAX_SIZE)))


def greeks_problem(price: Any, iv: Any, delta: Any, gamma: Any, theta: Any, vega: Any) -> str:
    try:
        d = _D_GREEK
        first_ok = _ZERO <= price <= _D_PRICE and _ZERO < iv <= _D_IV and -_ONE <= delta <= _ONE
        if first_ok and -d <= gamma <= d and -d <= theta <= d and -d <= vega <= d:
            return ""
    except (ArithmeticError, TypeError):
        pass
    if problem := _outside((("price", price, 0.0, MAX_PRICE),)):
        return problem
    if not 0.0 < (v := _f(iv)) <= MAX_IV:
        return f"IV {v:g} outside (0, {MAX_IV:g}]"
    g = MAX_GREEK
    return _outside(
        (("delta", delta, -1.0, 1.0), ("gamma", gamma, -g, g), ("theta", theta, -g, g), ("vega", vega, -g, g))
    )


def summary_problem(open_interest: Any, prev_day_volume: Any) -> str:
    volume = _f(prev_day_volume)
    checks = (("open interest", open_interest, 0.0, MAX_SIZE),)
    if not math.isnan(volume):  # NaN: the volume is unknown, which is allowed
        checks += (("previous day volume", volume, 0.0, MAX_SIZE),)
    return _outside(checks)


# --- SDK event -> (own time, problem), for the write path ---------------------------------------


def _f(v: Any) -> float:
    return math.nan if v is None else float(v)


def _ms(v: Any) -> int:
    return int(v) if v else 0


def inspect_quote(ev: Any) -> tuple[int, str]:
    if isinstance(ev, QuoteValue):
        return ev.event_time_ms, quote_problem(ev.bid, ev.ask, ev.bid_size, ev.ask_size)
    t = max(ev.bid_time or 0, ev.ask_time or 0) or ev.event_time or 0
    return t, quote_problem(ev.bid_price, ev.ask_price, ev.bid_size, ev.ask_size)


def inspect_greeks(ev: Any) -> tuple[int, str]:
    if isinstance(ev, GreeksValue):
        return ev.event_time_ms, greeks_problem(ev.price, ev.iv, ev.delta, ev.gamma, ev.theta, ev.vega)
    t = ev.time or ev.event_time or 0
    return t, greeks_problem(ev.price, ev.volatility, ev.delta, ev.gamma, ev.theta, ev.vega)


def inspect_summary(ev: Any) -> tuple[int, str]:
    if isinstance(ev, SummaryValue):
        return ev.event_time_ms, summary_problem(ev.open_interest, ev.prev_day_volume)
    return ev.event_time or 0, summary_problem(ev.open_interest, ev.prev_day_volume)


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
