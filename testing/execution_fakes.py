"""A hand-driven broker that implements the Platform port: nothing happens to an order until a
test says so, which lets tests (and the stateful property test) play any broker behaviour."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta

from core.ports import Severity
from core.types import (
    AccountState,
    ComboOrder,
    Holding,
    Leg,
    LegFill,
    MarketSnapshot,
    OrderEvent,
    OrderStatus,
)
from execution.order_manager import OrderManager
from execution.state import ExecutionState
from persistence.typed import from_plain, to_plain
from testing.factories import WeekdayCalendar


class MemStore:
    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}
        self.writes = 0

    def save(self, key: str, data: bytes) -> None:
        self.writes += 1
        self.data[key] = bytes(data)

    def load(self, key: str) -> bytes | None:
        return self.data.get(key)


class ManualBroker:
    """The ``core.ports.Platform`` port, structurally (pyright checks it wherever it is passed as one)."""

    is_live = False

    def __init__(self, snap: MarketSnapshot, store: MemStore | None = None) -> None:
        self.snap = snap
        self.store = store or MemStore()
        self.orders: dict[str, ComboOrder] = {}
        self.sent: list[ComboOrder] = []
        self.working: dict[str, ComboOrder] = {}
        self.filled: dict[str, Counter[str]] = {}  # tag -> symbol -> signed contracts
        self.positions: Counter[str] = Counter()
        self.fees = 0.0
        self.cancels: list[str] = []
        self.alerts: list[tuple[str, str, str]] = []
        self.calendar = WeekdayCalendar()

    # --- Platform ---------------------------------------------------------------------------------
    def now(self) -> datetime:
        return self.snap.time

    def snapshot(self) -> MarketSnapshot:
        return self.snap

    def account(self) -> AccountState:
        holdings = {s: Holding(s, float(q), 0.0) for s, q in self.positions.items() if q}
        return AccountState(self.snap.time, 1e6, 1e6, 0.0, holdings)

    def margin_required(self, legs: Sequence[Leg], quantity: int, snapshot: MarketSnapshot) -> float:
        return 0.0

    def submit_combo(self, order: ComboOrder) -> None:
        assert order.tag not in self.orders, f"tag re-used: {order.tag}"
        self.orders[order.tag] = order
        self.sent.append(order)
        self.working[order.tag] = order
        self.filled[order.tag] = Counter()

    def cancel(self, tag: str) -> None:
        self.cancels.append(tag)

    def open_order_tags(self) -> list[str]:
        return list(self.working)

    def known_order_tags(self) -> list[str]:
        return list(self.orders)

    def liquidate(self, symbol: str, quantity: float, tag: str) -> None:
        self.positions[symbol] += round(quantity)

    def pending_events(self) -> list[OrderEvent]:
        return []  # tests hand every event to the manager themselves

    def consumed(self, event: OrderEvent) -> None:
        return None

    def notify(self, severity: Severity, title: str, message: str) -> None:
        self.alerts.append((severity.value, title, message))

    def log(self, message: str) -> None:
        pass

    # --- what the test makes the broker do --------------------------------------------------------
    def advance(self, minutes: float) -> None:
        self.snap = dataclasses.replace(self.snap, time=self.snap.time + timedelta(minutes=minutes))

    def last(self) -> ComboOrder:
        return self.sent[-1]

    def remaining(self, tag: str) -> dict[str, int]:
        order = self.orders[tag]
        done = self.filled[tag]
        return {
            leg.contract.symbol: leg.ratio * order.quantity - done[leg.contract.symbol] for leg in order.legs
        }

    def ack(self, tag: str) -> OrderEvent:
        return OrderEvent(tag, OrderStatus.SUBMITTED, self.now())

    def fill(
        self, tag: str, legs: list[int] | None = None, units: int | None = None, price_shift: float = 0.0
    ) -> OrderEvent:
        """Fill the chosen legs (indices; default all) for ``units`` (default what remains) at each
        leg's natural quote made ``price_shift`` worse for us; FILLED when nothing remains."""
        order = self.orders[tag]
        fills = []
        for i, leg in enumerate(order.legs):
            if legs is not None and i not in legs:
                continue
            symbol = leg.contract.symbol
            left = self.remaining(tag)[symbol]
            if units is not None:
                qty = min(abs(left), abs(leg.ratio) * units) * (1 if left > 0 else -1)
            else:
                qty = left
            if qty == 0:
                continue
            q = self.snap.chains.quote(leg.contract)
            assert q is not None
            price = max(0.0, q.ask + price_shift if qty > 0 else q.bid - price_shift)
            fee = abs(qty) * 1.0
            fills.append(LegFill(leg.contract, qty, price, fee))
            self.filled[tag][symbol] += qty
            self.positions[symbol] += qty
            self.fees += fee
        done = all(v == 0 for v in self.remaining(tag).values())
        if done:
            self.working.pop(tag, None)
        status = OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED
        return OrderEvent(tag, status, self.now(), tuple(fills))

    def confirm_cancel(self, tag: str) -> OrderEvent | None:
        if self.working.pop(tag, None) is None:
            return None
        return OrderEvent(tag, OrderStatus.CANCELLED, self.now())

    def reject(self, tag: str, message: str) -> OrderEvent:
        self.working.pop(tag, None)
        return OrderEvent(tag, OrderStatus.REJECTED, self.now(), message=message)

    def drop(self, tag: str) -> None:
        """The order vanishes: no event, not working."""
        self.working.pop(tag, None)


def restarted(om: OrderManager, broker: ManualBroker, jitter_seed: int = 0) -> OrderManager:
    """The process dies and a new manager continues from ``om``'s state as persistence would hand
    it back: encoded to JSON text and decoded with its types checked."""
    saved = json.loads(json.dumps(to_plain(om.state())))
    again = OrderManager(om.s, broker, policy=om.policy, jitter_seed=jitter_seed)
    again.restore(from_plain(ExecutionState, saved))
    return again
