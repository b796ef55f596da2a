"""A minimal system and engine for exercising the state manager without a market."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from core.book import Book, BookState
from core.pauses import Pauses, PauseState
from core.ports import StatePart
from core.types import AccountState, ComboOrder, GroupStatus, Holding, Leg, PositionGroup, Right
from persistence import StateManager
from sim.store import MemoryStore
from testing.factories import spxw

T0 = datetime(2025, 3, 7, 10, 0)


class FakeEngine:
    def __init__(self) -> None:
        self.time = T0
        self.holdings: dict[str, Holding] = {}
        self.open_tags: list[str] = []
        self.known: list[str] = []
        self.sent: list[str] = []
        self.cancelled: list[str] = []
        self.alerts: list[tuple[Any, str, str]] = []
        self.calendar = None
        self.is_live = True

    def now(self) -> datetime:
        return self.time

    def account(self) -> AccountState:
        return AccountState(self.time, 100_000.0, 100_000.0, 0.0, dict(self.holdings))

    def open_order_tags(self) -> list[str]:
        return list(self.open_tags)

    def known_order_tags(self) -> list[str]:
        return list(self.known)

    def submit_combo(self, order: ComboOrder) -> None:
        self.sent.append(order.tag)
        self.open_tags.append(order.tag)
        self.known.append(order.tag)

    def cancel(self, tag: str) -> None:
        self.cancelled.append(tag)
        if tag in self.open_tags:
            self.open_tags.remove(tag)

    def liquidate(self, symbol: str, quantity: float, tag: str) -> None:
        self.sent.append(tag)
        self.known.append(tag)

    def pending_events(self) -> list[Any]:
        return []

    def consumed(self, event: Any) -> None:
        return None

    def notify(self, severity: Any, title: str, message: str) -> None:
        self.alerts.append((severity, title, message))

    def log(self, message: str) -> None:
        pass

    def step(self, minutes: int = 5) -> None:
        self.time += timedelta(minutes=minutes)


class Sink:
    def __init__(self) -> None:
        self.records: list[tuple[str, dict[str, Any]]] = []

    def record(self, kind: str, time: datetime, payload: Any) -> None:
        self.records.append((kind, dict(payload)))

    def kinds(self) -> list[str]:
        return [k for k, _ in self.records]


class FakeSystem:
    """What the state manager asks of the trading system: its platform, sink, pauses and parts."""

    def __init__(self, engine: FakeEngine, parts: tuple[StatePart[Any], ...] = ()) -> None:
        self.platform, self.book, self.sink, self.pauses = engine, Book(), Sink(), Pauses()
        self.parts = parts
        self.resets: list[str] = []

    def state_parts(self) -> tuple[StatePart[Any], ...]:
        return (
            StatePart("book", BookState, self.book),
            StatePart("pauses", PauseState, self.pauses),
            *self.parts,
        )

    def request_risk_reset(self, source: str) -> None:
        self.resets.append(source)

    def safe_mode(self) -> bool:
        return self.pauses.has("persistence", "safe_mode")


def make_system(engine: FakeEngine) -> FakeSystem:
    return FakeSystem(engine)


def start(store: MemoryStore, engine: FakeEngine | None = None) -> tuple[StateManager, FakeSystem]:
    """A fresh process: new manager and system on ``store``, recovered."""
    engine = engine or FakeEngine()
    manager = StateManager(store, compact_after=8)
    system = make_system(engine)
    manager.recover(system)
    return manager, system


def condor_group(
    group_id: str = "zero_dte-20250307-001", status: GroupStatus = GroupStatus.OPEN
) -> PositionGroup:
    expiry = date(2025, 3, 7)
    legs = (
        Leg(spxw(5600, Right.CALL, expiry), -1),
        Leg(spxw(5650, Right.CALL, expiry), 1),
        Leg(spxw(5400, Right.PUT, expiry), -1),
        Leg(spxw(5350, Right.PUT, expiry), 1),
    )
    return PositionGroup(
        group_id, "zero_dte", legs, 2, status, opened_at=T0, entry_price=-2.5, max_loss_per_unit=4750
    )


def holdings_of(group: PositionGroup) -> dict[str, Holding]:
    return {
        leg.contract.symbol: Holding(leg.contract.symbol, leg.ratio * group.quantity, 1.0, leg.contract)
        for leg in group.legs
    }


def order(tag: str, group: PositionGroup | None = None) -> ComboOrder:
    group = group or condor_group()
    return ComboOrder(tag, group.legs, group.quantity, -2.5, T0)
