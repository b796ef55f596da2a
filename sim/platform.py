"""The offline engine's implementation of ``core.ports.Platform``.

Orders go to the broker simulator; the events it answers with are queued (the outbox) and
delivered by the step loop after the current call returns, as a real engine would deliver them
asynchronously.  ``on_change`` hears every change to the broker or the outbox, so a resumable run
saves them the moment they happen, as a brokerage's records are; ``crash`` marks the points a chaos
run may kill the process at.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from datetime import datetime

from core.ports import MarginModel, Severity, StateStore, TradingCalendar
from core.types import AccountState, ComboOrder, Leg, MarketSnapshot, OrderEvent
from sim.broker import SimBroker
from sim.broker.assignment import liquidate

log = logging.getLogger("sim")


class SimPlatform:
    is_live = False

    def __init__(
        self,
        calendar: TradingCalendar,
        store: StateStore,
        broker: SimBroker,
        margin: MarginModel,
        crash: Callable[[str], None] = lambda point: None,
    ) -> None:
        self._calendar = calendar
        self._store = store
        self.broker = broker
        self._margin = margin
        self._crash = crash
        self.on_change: Callable[[], None] = lambda: None
        self._now: datetime | None = None
        self._snapshot: MarketSnapshot | None = None
        self._pending: list[OrderEvent] = []
        self.alerts: list[tuple[datetime, Severity, str, str]] = []

    # --- engine side -----------------------------------------------------------------------------
    def advance(self, snapshot: MarketSnapshot) -> None:
        self._now = snapshot.time
        self._snapshot = snapshot
        self.broker.observe(snapshot)

    def queue(self, events: Sequence[OrderEvent]) -> None:
        self._pending.extend(events)

    # --- Platform --------------------------------------------------------------------------------
    @property
    def calendar(self) -> TradingCalendar:
        return self._calendar

    @property
    def store(self) -> StateStore:
        return self._store

    def now(self) -> datetime:
        if self._now is None:
            raise RuntimeError("the sim clock has not started")
        return self._now

    def snapshot(self) -> MarketSnapshot:
        if self._snapshot is None:
            raise RuntimeError("no market snapshot yet")
        return self._snapshot

    def account(self) -> AccountState:
        return self.broker.account(self.snapshot())

    def margin_required(self, legs: Sequence[Leg], quantity: int, snapshot: MarketSnapshot) -> float:
        return self._margin.margin_required(legs, quantity, snapshot)

    def submit_combo(self, order: ComboOrder) -> None:
        self._crash("submit.before_broker")
        self.queue(self.broker.submit(order, self.now()))
        self._crash("submit.after_broker")
        self.on_change()

    def cancel(self, tag: str) -> None:
        self._crash("cancel.before_broker")
        self.queue(self.broker.cancel(tag, self.now()))
        self._crash("cancel.after_broker")
        self.on_change()

    def liquidate(self, symbol: str, quantity: float, tag: str) -> None:
        """Market order for a stock / futures holding (the risk layer flattens assignments with it)."""
        self._crash("submit.before_broker")
        self.queue([liquidate(self.broker, symbol, quantity, self.snapshot(), self.now(), tag)])
        self._crash("submit.after_broker")
        self.on_change()

    def open_order_tags(self) -> Sequence[str]:
        return self.broker.open_order_tags()

    def known_order_tags(self) -> Collection[str]:
        return self.broker.known_order_tags()

    def pending_events(self) -> Sequence[OrderEvent]:
        return list(self._pending)

    def consumed(self, event: OrderEvent) -> None:
        """The first pending event was applied: it leaves the outbox only now (a crash before this
        delivers it again, as a brokerage re-sends what was not acknowledged)."""
        self._crash("deliver.consumed")
        if not self._pending or self._pending[0] is not event:
            raise RuntimeError(f"consumed {event.tag} out of order")
        self._pending.pop(0)
        self.on_change()

    def notify(self, severity: Severity, title: str, message: str) -> None:
        self.alerts.append((self.now(), severity, title, message))
        log.log(
            logging.CRITICAL if severity is Severity.CRITICAL else logging.WARNING, "%s: %s", title, message
        )

    def log(self, message: str) -> None:
        log.info(message)
