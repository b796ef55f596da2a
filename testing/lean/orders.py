"""LEAN's orders as the algorithm sees them: types, statuses, legs, tickets and order events.

Mirrors Common/Orders/OrderTypes.cs (OrderType and OrderStatus values, :143-183), Common/Orders/
Leg.cs, Common/Orders/GroupOrderManager.cs (a combo's direction is the sign of its quantity),
Common/Orders/OrderTicket.cs (an invalid submit request gives a ticket with status Invalid and no
order event, :648-652; Cancel(tag) overwrites the order's tag) and Common/Orders/OrderEvent.cs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from types import SimpleNamespace
from typing import Any

from testing.lean.symbols import Symbol


class OrderType(IntEnum):
    MARKET = 0
    LIMIT = 1
    STOP_MARKET = 2
    STOP_LIMIT = 3
    MARKET_ON_OPEN = 4
    MARKET_ON_CLOSE = 5
    OPTION_EXERCISE = 6
    LIMIT_IF_TOUCHED = 7
    COMBO_MARKET = 8
    COMBO_LIMIT = 9
    COMBO_LEG_LIMIT = 10


class OrderStatus(IntEnum):
    NEW = 0
    SUBMITTED = 1
    PARTIALLY_FILLED = 2
    FILLED = 3
    CANCELED = 5
    NONE = 6
    INVALID = 7
    CANCEL_PENDING = 8
    UPDATE_SUBMITTED = 9


CLOSED = (OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.INVALID)  # OrderExtensions.IsClosed


@dataclass
class Leg:
    symbol: Symbol
    quantity: int
    order_price: float | None = None

    @staticmethod
    def create(symbol: Symbol, quantity: int, order_price: float | None = None) -> Leg:
        return Leg(symbol, int(quantity), order_price)


@dataclass
class GroupOrderManager:
    id: int
    count: int
    quantity: int
    limit_price: float
    order_ids: list[int] = field(default_factory=list)

    @property
    def direction(self) -> int:
        return 1 if self.quantity > 0 else -1 if self.quantity < 0 else 0


@dataclass
class Order:
    id: int
    symbol: Symbol
    quantity: float  # signed: the leg ratio times the group quantity for combo legs
    type: OrderType
    tag: str
    time: datetime
    limit_price: float = 0.0
    group: GroupOrderManager | None = None
    status: OrderStatus = OrderStatus.NEW
    filled: float = 0.0
    broker_id: str = ""

    @property
    def group_order_manager(self) -> GroupOrderManager | None:
        return self.group

    @property
    def ratio(self) -> int:
        """GetOrderLegRatio: the leg quantity divided by the group quantity."""
        return round(self.quantity / self.group.quantity) if self.group else round(self.quantity)


@dataclass
class CashAmount:
    amount: float
    currency: str = "USD"


@dataclass
class OrderFee:
    value: CashAmount

    @staticmethod
    def zero() -> OrderFee:
        return OrderFee(CashAmount(0.0))


@dataclass
class OrderEvent:
    order_id: int
    symbol: Symbol
    utc_time: datetime
    status: OrderStatus
    fill_price: float = 0.0
    fill_quantity: float = 0.0
    order_fee: OrderFee = field(default_factory=OrderFee.zero)
    message: str = ""
    is_assignment: bool = False
    is_in_the_money: bool = False
    ticket: OrderTicket | None = None
    quantity: float = 0.0


class OrderTicket:
    """What ``combo_limit_order`` returns per leg; ``cancel()`` asks the transaction manager."""

    def __init__(self, order: Order, cancel: Callable[[OrderTicket, str | None], None], response: Any = None):
        self._order = order
        self._cancel = cancel
        self._status_override: OrderStatus | None = None
        self.submit_request = SimpleNamespace(
            response=response or SimpleNamespace(is_error=False, error_message="")
        )

    @staticmethod
    def invalid(order: Order, message: str) -> OrderTicket:
        ticket = OrderTicket(
            order, lambda t, tag: None, SimpleNamespace(is_error=True, error_message=message)
        )
        ticket._status_override = OrderStatus.INVALID
        return ticket

    @property
    def order_id(self) -> int:
        return self._order.id

    @property
    def symbol(self) -> Symbol:
        return self._order.symbol

    @property
    def quantity(self) -> float:
        return self._order.quantity

    @property
    def quantity_filled(self) -> float:
        return self._order.filled

    @property
    def tag(self) -> str:
        return self._order.tag

    @property
    def order_type(self) -> OrderType:
        return self._order.type

    @property
    def status(self) -> OrderStatus:
        return self._status_override if self._status_override is not None else self._order.status

    def cancel(self, tag: str | None = None) -> Any:
        if tag is not None:
            self._order.tag = tag  # OrderTicket.Cancel(tag): the cancel request's tag replaces the order's
        self._cancel(self, tag)
        return SimpleNamespace(is_success=True)

    @property
    def order(self) -> Order:
        return self._order
