"""The offline engine's implementation of ``core.ports.Platform``.

Orders go to the broker simulator; the events it answers with are queued and delivered by the
engine loop after the current call returns, as a real engine would deliver them asynchronously.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from core.ports import MarginModel, Severity, StateStore, TradingCalendar
from core.types import AccountState, ComboOrder, Leg, MarketSnapshot, OrderEvent
from sim.broker import SimBroker
from sim.broker.assignment import liquidate

log = logging.getLogger("sim")


class SimPlatform:
    is_live = False

    def __init__(
        self, calendar: TradingCalendar, store: StateStore, broker: SimBroker, margin: MarginModel
    ) -> None:
        self._calendar = calendar
        self._store = store
        self.broker = broker
        self._margin = margin
        self._now: datetime | None = None
        self._snapshot: MarketSnapshot | None = None
        self._pending: list[OrderEvent] = []
        self.alerts: list[tuple[datetime, Severity, str, str]] = []

    # --- engine side -----------------------------------------------------------------------------
    def advance(self, snapshot: MarketSnapshot) -> None:
        self._now = snapshot.time
        self._snapshot = snapshot

    def queue(self, events: Sequence[OrderEvent]) -> None:
        self._pending.extend(events)

    def drain(self) -> list[OrderEvent]:
        events, self._pending = self._pending, []
        return events

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
        self.queue(self.broker.submit(order, self.now()))

    def cancel(self, tag: str) -> None:
        self.queue(self.broker.cancel(tag, self.now()))

    def liquidate(self, symbol: str, quantity: float, tag: str) -> None:
        """Market order for a stock / futures holding (the risk layer flattens assignments with it)."""
        self.queue([liquidate(self.broker, symbol, quantity, self.snapshot(), self.now(), tag)])

    def open_order_tags(self) -> Sequence[str]:
        return self.broker.open_order_tags()

    def notify(self, severity: Severity, title: str, message: str) -> None:
        self.alerts.append((self.now(), severity, title, message))
        log.log(
            logging.CRITICAL if severity is Severity.CRITICAL else logging.WARNING, "%s: %s", title, message
        )

    def log(self, message: str) -> None:
        log.info(message)
