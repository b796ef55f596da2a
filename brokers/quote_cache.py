"""Latest Quote / Greeks / Summary per DXLink symbol, with the time each one was received.

Written by the feed thread, read by the algorithm thread.  The feed stores whole batches under one
short lock hold with one clock reading per batch, and stores the SDK's event objects as they come:
turning Decimals into floats costs more than the store itself, so it happens on read, for the few
hundred contracts a decision looks at, not for every one of the tens of thousands of events a
second a chain produces.  Readers copy references under the lock and convert outside it, so a
snapshot never holds the feed up for long.

Receive times come from an injected clock, so the data-quality rules can reject stale values and
tests can age the cache without sleeping.  A value is only ever replaced by a newer valid event:
an update the SDK rejects (NaN fields, for example) leaves the old value and its old receive time,
so it ages out instead of being served as fresh.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, NamedTuple, TypeVar

T = TypeVar("T")


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
    event_time_ms: int = 0

    @property
    def valid(self) -> bool:
        return (
            math.isfinite(self.bid) and math.isfinite(self.ask) and self.bid >= 0.0 and self.ask >= self.bid
        )


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
        return all(math.isfinite(v) for v in (self.iv, self.delta, self.gamma, self.theta, self.vega))


@dataclass(frozen=True, slots=True)
class SummaryValue:
    open_interest: int
    prev_day_volume: float = math.nan
    event_time_ms: int = 0

    @property
    def valid(self) -> bool:
        return self.open_interest >= 0


class Timed(NamedTuple, Generic[T]):
    value: T
    received: datetime


@dataclass(frozen=True, slots=True)
class CacheEntry:
    """Everything known about one symbol at one moment."""

    symbol: str
    quote: Timed[QuoteValue] | None
    greeks: Timed[GreeksValue] | None
    summary: Timed[SummaryValue] | None


def _f(v: Any) -> float:
    return math.nan if v is None else float(v)


def to_quote(raw: Any) -> QuoteValue:
    if isinstance(raw, QuoteValue):
        return raw
    return QuoteValue(
        _f(raw.bid_price), _f(raw.ask_price), _f(raw.bid_size), _f(raw.ask_size), int(raw.event_time or 0)
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
        int(raw.time or 0),
    )


def to_summary(raw: Any) -> SummaryValue:
    if isinstance(raw, SummaryValue):
        return raw
    oi = raw.open_interest
    return SummaryValue(int(oi) if oi is not None else -1, _f(raw.prev_day_volume), int(raw.event_time or 0))


_CONVERT: dict[Kind, Callable[[Any], Any]] = {
    Kind.QUOTE: to_quote,
    Kind.GREEKS: to_greeks,
    Kind.SUMMARY: to_summary,
}

UpdateListener = Callable[[Kind, Sequence[Any], datetime], None]


class QuoteCache:
    """Thread-safe latest value per (kind, symbol).

    ``accept(symbols)`` limits what is stored to what is subscribed, so an event still in flight
    after an unsubscribe does not resurrect a symbol; by default everything is stored.
    ``on_update`` (optional) is called in the writer's thread after each batch is visible.
    """

    def __init__(self, clock: Callable[[], datetime], on_update: UpdateListener | None = None):
        self._clock = clock
        self._on_update = on_update
        self._lock = threading.Lock()
        self._data: dict[Kind, dict[str, tuple[Any, datetime]]] = {k: {} for k in Kind}
        self._accepted: set[str] | None = None
        self.stored: dict[Kind, int] = dict.fromkeys(Kind, 0)
        self.ignored: dict[Kind, int] = dict.fromkeys(Kind, 0)

    # --- writer side -----------------------------------------------------------------------

    def put_events(self, kind: Kind, events: Sequence[Any]) -> int:
        """Store a batch of SDK events (anything with ``event_symbol``), all received now."""
        if not events:
            return 0
        now = self._clock()
        table = self._data[kind]
        accepted = self._accepted
        stored = 0
        with self._lock:
            if accepted is None:
                for ev in events:
                    table[ev.event_symbol] = (ev, now)
                stored = len(events)
            else:
                for ev in events:
                    sym = ev.event_symbol
                    if sym in accepted:
                        table[sym] = (ev, now)
                        stored += 1
        self.stored[kind] += stored
        self.ignored[kind] += len(events) - stored
        if self._on_update is not None:
            self._on_update(kind, events, now)
        return stored

    def put(self, kind: Kind, symbol: str, value: Any, received: datetime | None = None) -> None:
        """Store one typed value (``QuoteValue``...), e.g. from a replay or a test."""
        with self._lock:
            self._data[kind][symbol] = (value, self._clock() if received is None else received)

    def accept(self, symbols: Iterable[str]) -> None:
        with self._lock:
            if self._accepted is None:
                self._accepted = set()
            self._accepted.update(symbols)

    def forget(self, symbols: Iterable[str]) -> None:
        """Stop accepting ``symbols`` and drop what is cached for them."""
        syms = set(symbols)
        with self._lock:
            if self._accepted is not None:
                self._accepted.difference_update(syms)
            for table in self._data.values():
                for s in syms:
                    table.pop(s, None)

    # --- reader side -----------------------------------------------------------------------

    def now(self) -> datetime:
        return self._clock()

    def get(self, kind: Kind, symbol: str) -> Timed[Any] | None:
        with self._lock:
            item = self._data[kind].get(symbol)
        if item is None:
            return None
        return Timed(_CONVERT[kind](item[0]), item[1])

    def quote(self, symbol: str) -> Timed[QuoteValue] | None:
        return self.get(Kind.QUOTE, symbol)

    def greeks(self, symbol: str) -> Timed[GreeksValue] | None:
        return self.get(Kind.GREEKS, symbol)

    def summary(self, symbol: str) -> Timed[SummaryValue] | None:
        return self.get(Kind.SUMMARY, symbol)

    def snapshot(self, symbols: Iterable[str]) -> dict[str, CacheEntry]:
        """All kinds for ``symbols``, read under one lock hold (consistent across kinds)."""
        syms = list(symbols)
        q, g, s = self._data[Kind.QUOTE], self._data[Kind.GREEKS], self._data[Kind.SUMMARY]
        with self._lock:
            raw = [(sym, q.get(sym), g.get(sym), s.get(sym)) for sym in syms]
        return {
            sym: CacheEntry(
                sym,
                None if rq is None else Timed(to_quote(rq[0]), rq[1]),
                None if rg is None else Timed(to_greeks(rg[0]), rg[1]),
                None if rs is None else Timed(to_summary(rs[0]), rs[1]),
            )
            for sym, rq, rg, rs in raw
        }

    def symbols(self, kind: Kind) -> list[str]:
        with self._lock:
            return list(self._data[kind])

    def last_received(self) -> datetime | None:
        """Most recent receive time over everything cached (None when empty)."""
        with self._lock:
            times = [t for table in self._data.values() for _, t in table.values()]
        return max(times) if times else None
