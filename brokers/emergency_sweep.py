"""When the close-only emergency route runs, and what it closes (the link's use of ``emergency``).

A sweep is due while LEAN's brokerage has been down ``after`` or longer and an assignment cut-off
(15:00 share-settled, 15:45 cash-settled) is at most ``window`` away, at most every ``every``.
It runs on the link's worker thread: fresh positions from the API, the plan of closes
(``plan_assignment_closes``, priced only from fresh DXLink quotes), each through the route
(dry-run unless it was built live).  A broker symbol is closed at most once a day, so a live
order still working is never sent twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta

from brokers.client import BrokerClient
from brokers.emergency import (
    CUTOFF_CASH,
    CUTOFF_SHARES,
    EmergencyCloseRoute,
    EmergencyResult,
    Plan,
    plan_assignment_closes,
)
from brokers.occ import INDEX_OPTION_ROOTS
from brokers.quote_cache import QuoteCache, QuoteValue
from core.ports import Severity

Notify = Callable[[Severity, str, str], None]


class EmergencySweep:
    def __init__(
        self,
        client: BrokerClient,
        cache: QuoteCache,
        subscribe: Callable[[Iterable[str]], None],
        route: EmergencyCloseRoute,
        *,
        after: timedelta,
        window: timedelta,
        every: timedelta,
        pin_zone: float,
        max_age: timedelta,
    ):
        self._client, self._cache, self._subscribe, self.route = client, cache, subscribe, route
        self.after, self.window, self.every = after, window, every
        self.pin_zone, self.max_age = pin_zone, max_age
        self._at: datetime | None = None
        self._day: date | None = None
        self._done: set[str] = set()  # broker symbols handled today
        self.results: list[EmergencyResult] = []
        self.sweeps = 0  # sweeps completed

    def due(self, now: datetime, down_since: datetime | None) -> bool:
        """True (and the sweep counted as started) when one should run now."""
        if down_since is None or now - down_since < self.after:
            return False
        if self._at is not None and now - self._at < self.every:
            return False
        day = now.date()
        cutoffs = [datetime.combine(day, t) for t in (CUTOFF_SHARES, CUTOFF_CASH)]
        if not any(timedelta(0) <= c - now <= self.window for c in cutoffs):
            return False
        if self._day != day:
            self._day, self._done = day, set()
        self._at = now
        return True

    def run(self, now: datetime, spots: Mapping[str, float]) -> tuple[Plan, list[EmergencyResult]]:
        """On the worker thread: read positions, plan, and close (or dry-run) each request."""
        positions = self._client.fetch_account().positions
        plan = plan_assignment_closes(
            [p for p in positions if p.symbol not in self._done],
            now,
            lambda oid: spots.get(INDEX_OPTION_ROOTS.get(oid.root, oid.root)),
            self._fresh_quote,
            self.pin_zone,
        )
        book = {p.symbol: p.quantity for p in positions}
        return plan, [self.route.close(r, book) for r in plan.requests]

    def _fresh_quote(self, streamer: str) -> QuoteValue | None:
        q = self._cache.quote(streamer)
        if q is None:  # a position the book does not know: ask the feed for it (thread-safe)
            self._subscribe([streamer])
            return None
        if self._cache.now() - q.as_of > self.max_age:
            return None
        return q.value

    def report(self, notify: Notify, plan: Plan, results: list[EmergencyResult]) -> None:
        """Back on the algorithm thread: a critical alert for every close and every skip."""
        self.sweeps += 1
        for line in plan.skipped:
            notify(Severity.CRITICAL, "Emergency close not possible", line)
        for r in results:
            self.results.append(r)
            self._done.add(r.request.symbol)
            req = r.request
            what = f"{req.quantity:+d} {req.symbol.strip()} limit {req.limit_price:g}"
            if r.refused:
                notify(Severity.CRITICAL, "Emergency close refused", f"{what}: {r.refused}")
            elif r.dry_run:
                notify(Severity.CRITICAL, "Emergency close (dry run, not sent)", what)
            else:
                notify(Severity.CRITICAL, "Emergency close sent", f"{what}: order {r.order_id}")
