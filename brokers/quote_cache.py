"""Latest Quote / Greeks / Summary per DXLink symbol: when it was received, and what time it is of.

Written by the feed thread, read by the algorithm thread.  The feed stores whole batches under one
short lock hold with one clock reading per batch, and stores the SDK's event objects as they come:
turning Decimals into floats costs more than the store itself, so it happens on read, for the few
hundred contracts a decision looks at, not for every one of the tens of thousands of events a
second a chain produces.  Readers copy references under the lock and convert outside it, so a
snapshot never holds the feed up for long.

Freshness is the event's own time, never its arrival: every value carries ``as_of``, the time the
event says it is of (``brokers.quote_values``), no later than its arrival.  So a quote first
published ten minutes ago and re-sent after a reconnect reads ten minutes old, and an event older
than the stored one (reordered, replayed) never replaces it.  An event that carries no time of its
own is of its arrival, unless it repeats the stored values exactly (a resent snapshot): then it
says nothing new and the stored ``as_of`` stays.  An implausible event (NaN, infinite, negative,
absurd: ``quote_values``) is rejected, counted and logged once per kind; the last good value stays
and ages out instead of being replaced or refreshed.

Times come from an injected clock (the machine's local wall clock, naive like ``datetime.now``,
or an aware one), so the data-quality rules can reject stale values and tests can age the cache
without sleeping.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, NamedTuple, TypeVar

from brokers.quote_values import (
    CONVERT,
    INSPECT,
    GreeksValue,
    Kind,
    QuoteValue,
    SummaryValue,
    same_values,
    to_greeks,
    to_quote,
    to_summary,
)

T = TypeVar("T")
LOG = logging.getLogger("brokers")
FUTURE_SLACK_MS = 2_000  # clocks differ: an event up to this far "ahead" is simply of now


class Timed(NamedTuple, Generic[T]):
    value: T
    received: datetime  # when the event arrived
    as_of: datetime  # the time the event is of (its own time, or its arrival); never later


@dataclass(frozen=True, slots=True)
class CacheEntry:
    """Everything known about one symbol at one moment."""

    symbol: str
    quote: Timed[QuoteValue] | None
    greeks: Timed[GreeksValue] | None
    summary: Timed[SummaryValue] | None


# (event, received, received epoch ms, as-of epoch ms)
_Item = tuple[Any, datetime, float, float]
UpdateListener = Callable[[Kind, Sequence[Any], datetime], None]


def _timed(item: _Item | None, convert: Callable[[Any], T]) -> Timed[T] | None:
    if item is None:
        return None
    ev, received, received_ms, as_of_ms = item
    return Timed(convert(ev), received, received - timedelta(milliseconds=received_ms - as_of_ms))


class QuoteCache:
    """Thread-safe latest value per (kind, symbol).

    ``accept(symbols)`` limits what is stored to what is subscribed, so an event still in flight
    after an unsubscribe does not resurrect a symbol; by default everything is stored.
    ``on_update`` (optional) is called in the writer's thread after each batch is visible.
    Counters per kind: ``stored``, ``ignored`` (not subscribed), ``rejected`` (implausible),
    ``outdated`` (older than what was stored), ``ahead`` (dated after arrival: a clock skew).
    """

    def __init__(self, clock: Callable[[], datetime], on_update: UpdateListener | None = None):
        self._clock = clock
        self._on_update = on_update
        self._lock = threading.Lock()
        self._data: dict[Kind, dict[str, _Item]] = {k: {} for k in Kind}
        self._accepted: set[str] | None = None
        self.stored: dict[Kind, int] = dict.fromkeys(Kind, 0)
        self.ignored: dict[Kind, int] = dict.fromkeys(Kind, 0)
        self.rejected: dict[Kind, int] = dict.fromkeys(Kind, 0)
        self.outdated: dict[Kind, int] = dict.fromkeys(Kind, 0)
        self.ahead: dict[Kind, int] = dict.fromkeys(Kind, 0)

    # --- writer side -----------------------------------------------------------------------

    def put_events(self, kind: Kind, events: Sequence[Any]) -> int:
        """Store a batch of SDK events (anything with ``event_symbol``), all received now."""
        if not events:
            return 0
        now = self._clock()
        now_ms = now.timestamp() * 1000.0
        inspect, table, accepted = INSPECT[kind], self._data[kind], self._accepted
        stored = ignored = 0
        problems: list[tuple[str, str]] = []
        with self._lock:
            for ev in events:
                sym = ev.event_symbol
                if accepted is not None and sym not in accepted:
                    ignored += 1
                    continue
                t, problem = inspect(ev)
                if problem:
                    problems.append((sym, problem))
                    continue
                if self._store(kind, table, sym, ev, t, now, now_ms):
                    stored += 1
        self.stored[kind] += stored
        self.ignored[kind] += ignored
        if problems:
            self._reject(kind, problems)
        if self._on_update is not None:
            self._on_update(kind, events, now)
        return stored

    def put(self, kind: Kind, symbol: str, value: Any, received: datetime | None = None) -> bool:
        """Store one typed value (``QuoteValue``...), e.g. from a replay or a test, by the same
        rules as the feed's events.  True when it was stored."""
        now = self._clock() if received is None else received
        t, problem = INSPECT[kind](value)
        if problem:
            self._reject(kind, [(symbol, problem)])
            return False
        with self._lock:
            ok = self._store(kind, self._data[kind], symbol, value, t, now, now.timestamp() * 1000.0)
        self.stored[kind] += ok
        return ok

    def _store(
        self, kind: Kind, table: dict[str, _Item], sym: str, ev: Any, t: int, now: datetime, now_ms: float
    ) -> bool:
        """Under the lock: keep ``ev`` unless the stored value is of a later time."""
        old = table.get(sym)
        if t > 0:
            if t > now_ms + FUTURE_SLACK_MS:
                self.ahead[kind] += 1
            as_of = min(float(t), now_ms)
        elif old is not None and same_values(kind, old[0], ev):
            as_of = old[3]  # a repeat of what is stored says nothing about now
        else:
            as_of = now_ms
        if old is not None and as_of < old[3]:
            self.outdated[kind] += 1
            return False
        table[sym] = (ev, now, now_ms, as_of)
        return True

    def _reject(self, kind: Kind, problems: list[tuple[str, str]]) -> None:
        if self.rejected[kind] == 0:
            sym, problem = problems[0]
            LOG.warning(
                "DXLink %s for %s rejected: %s (the last good value stays; further rejections "
                "are counted in the feed status)",
                kind.value,
                sym,
                problem,
            )
        self.rejected[kind] += len(problems)

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
        return _timed(item, CONVERT[kind])

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
            sym: CacheEntry(sym, _timed(rq, to_quote), _timed(rg, to_greeks), _timed(rs, to_summary))
            for sym, rq, rg, rs in raw
        }

    def symbols(self, kind: Kind) -> list[str]:
        with self._lock:
            return list(self._data[kind])

    def last_received(self) -> datetime | None:
        """Most recent receive time over everything cached (None when empty)."""
        with self._lock:
            times = [item[1] for table in self._data.values() for item in table.values()]
        return max(times) if times else None
