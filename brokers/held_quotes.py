"""Alert when the DXLink quotes of contracts the book holds are older than the data-quality limit.

The feed's watchdog only notices a silent connection (nothing at all for ``watchdog_s``, 60 s by
default).  A connection can stay chatty while the quotes a position depends on stop moving: a
symbol dropped upstream, a half-dead subscription, a server re-sending old snapshots.  Exits are
then priced from nothing fresh, so a person should know.  Ages are the events' own time
(``QuoteCache`` ``as_of``) against the cache's clock; the limit is the live staleness rule of
STRATEGY_RULES.md (60 s).  One alert names the contracts that went stale; it repeats only when
another contract joins them, and an all-clear follows once every held quote is fresh again.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from brokers.quote_cache import QuoteCache
from core.ports import Severity

Alert = tuple[Severity, str, str]
SHOWN = 5  # contracts named in one alert


class HeldQuoteWatch:
    def __init__(self, cache: QuoteCache, max_age: timedelta):
        self._cache, self.max_age = cache, max_age
        self._alerted: set[str] = set()  # stale contracts already named in an alert
        self._since: dict[str, datetime] = {}  # when each contract was first seen held

    def check(self, held: Iterable[str]) -> list[Alert]:
        """Alerts for the held DXLink symbols ``held`` (empty when nothing changed)."""
        now = self._cache.now()
        held = set(held)
        self._since = {sym: self._since.get(sym, now) for sym in held}
        ages: dict[str, timedelta | None] = {}
        for sym in sorted(held):
            q = self._cache.quote(sym)
            if q is None:
                if now - self._since[sym] > self.max_age:  # a new subscription gets that long
                    ages[sym] = None
            elif now - q.as_of > self.max_age:
                ages[sym] = now - q.as_of
        if not ages:
            if not self._alerted:
                return []
            self._alerted.clear()
            return [
                (Severity.INFO, "Held contracts' quotes fresh again", "every held contract has a fresh quote")
            ]
        if not set(ages) - self._alerted:
            return []
        self._alerted |= set(ages)
        named = ", ".join(_describe(s, a) for s, a in list(ages.items())[:SHOWN])
        more = f" and {len(ages) - SHOWN} more" if len(ages) > SHOWN else ""
        limit = self.max_age.total_seconds()
        return [
            (
                Severity.WARNING,
                "Held contracts' quotes are stale",
                f"{len(ages)} held contract(s) without a DXLink quote newer than {limit:g} s: {named}{more}; "
                "exits are priced only from fresh quotes, check the feed",
            )
        ]


def _describe(sym: str, age: timedelta | None) -> str:
    return f"{sym} (no quote)" if age is None else f"{sym} ({age.total_seconds():.0f} s old)"
