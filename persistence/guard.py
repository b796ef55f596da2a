"""The platform execution and risk talk to: every order, cancel and liquidation is journaled before
the engine sees it (the act journal), and the sink whose records count into the saved state.

After a restart the system re-runs the interrupted work deterministically; an order or cancel it
re-derives that the journal shows was already sent is not sent again when the engine already has
it (re-attached by tag), and is sent when the crash came before it reached the engine.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from core.ports import EventSink, Platform, Severity, StateStore, TradingCalendar
from core.types import AccountState, ComboOrder, Leg, MarketSnapshot, OrderEvent
from persistence.bookkeeping import Bookkeeping

if TYPE_CHECKING:
    from persistence.manager import StateManager


class GuardedPlatform:
    """``Platform`` whose order calls pass the act journal; everything else is the engine's own."""

    def __init__(self, platform: Platform, manager: StateManager) -> None:
        self._platform = platform
        self._manager = manager

    # --- acts: journaled first -------------------------------------------------------------------
    def submit_combo(self, order: ComboOrder) -> None:
        if self._manager.before_submit(order):
            self._platform.submit_combo(order)

    def cancel(self, tag: str) -> None:
        if self._manager.before_cancel(tag):
            self._platform.cancel(tag)

    def liquidate(self, symbol: str, quantity: float, tag: str) -> None:
        if self._manager.before_liquidate(symbol, quantity, tag):
            self._platform.liquidate(symbol, quantity, tag)

    # --- the engine's own ------------------------------------------------------------------------
    def now(self) -> datetime:
        return self._platform.now()

    @property
    def calendar(self) -> TradingCalendar:
        return self._platform.calendar

    @property
    def store(self) -> StateStore:
        return self._platform.store

    @property
    def is_live(self) -> bool:
        return self._platform.is_live

    def snapshot(self) -> MarketSnapshot:
        return self._platform.snapshot()

    def account(self) -> AccountState:
        return self._platform.account()

    def margin_required(self, legs: Sequence[Leg], quantity: int, snapshot: MarketSnapshot) -> float:
        return self._platform.margin_required(legs, quantity, snapshot)

    def open_order_tags(self) -> Sequence[str]:
        return self._platform.open_order_tags()

    def known_order_tags(self) -> Collection[str] | None:
        return self._platform.known_order_tags()

    def pending_events(self) -> Sequence[OrderEvent]:
        return self._platform.pending_events()

    def consumed(self, event: OrderEvent) -> None:
        self._platform.consumed(event)

    def notify(self, severity: Severity, title: str, message: str) -> None:
        self._platform.notify(severity, title, message)

    def log(self, message: str) -> None:
        self._platform.log(message)


class AuditSink:
    """Forwards records to the run's sink and counts them (kinds, risk codes) into the saved state."""

    def __init__(self, sink: EventSink, books: Callable[[], Bookkeeping]) -> None:
        self._sink = sink
        self._books = books

    def record(self, kind: str, time: datetime, payload: Mapping[str, Any]) -> None:
        self._books().count(kind, payload)
        self._sink.record(kind, time, payload)
