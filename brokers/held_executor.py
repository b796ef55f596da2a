"""The executor seen by the trading system while the Tastytrade link is on: intents pass through
the ``OutageGuard`` first.

While LEAN's brokerage is down (or reconnected but not yet reconciled) an intent is held instead
of sent; a clean reconciliation releases the ones still within their time to live into the real
executor with the current snapshot, and every intent the guard drops (expired, reconciliation
mismatch, hold full) comes back to the orchestrator as an ``ABANDONED`` update with the reason, so
an exit that never went out leaves its group ``OPEN`` for management to try again and an entry
that never went out is abandoned, never silently lost.
"""

from __future__ import annotations

from collections.abc import Sequence

from brokers.outage import OutageGuard
from core.ports import Executor
from core.types import GroupUpdate, MarketSnapshot, OrderEvent, OrderIntent, UpdateKind


class HeldExecutor:
    """``core.ports.Executor`` wrapping another one behind an ``OutageGuard``."""

    def __init__(self, inner: Executor, guard: OutageGuard):
        self.inner = inner
        self.guard = guard

    def submit(self, intent: OrderIntent, snapshot: MarketSnapshot) -> None:
        if self.guard.submit(intent, snapshot.time).approved:
            self.inner.submit(intent, snapshot)

    def on_step(self, snapshot: MarketSnapshot) -> Sequence[GroupUpdate]:
        updates = list(self.inner.on_step(snapshot))
        self.guard.expire(snapshot.time)
        for intent in self.guard.take_released():
            self.inner.submit(intent, snapshot)
        for d in self.guard.take_dropped():
            i = d.intent
            message = f"{d.code}: {d.message}"
            updates.append(GroupUpdate(i.group_id, i.purpose, UpdateKind.ABANDONED, d.time, message=message))
        return updates

    def on_order_event(
        self, event: OrderEvent, snapshot: MarketSnapshot | None = None
    ) -> Sequence[GroupUpdate]:
        return self.inner.on_order_event(event, snapshot)

    def is_working(self, group_id: str) -> bool:
        return self.inner.is_working(group_id) or self.guard.is_held(group_id)
