"""LEAN's transaction handling: order book, brokerage model checks, fills, cancels, events.

Mirrors Engine/TransactionHandlers/BrokerageTransactionHandler.cs: a combo is handled once all
of its leg orders are added; the brokerage model is asked about every leg (:924-940) and a refusal
invalidates every leg with one Invalid order event each (InvalidateOrders :1920-1931); otherwise
the brokerage places it.  In a backtest (BacktestingTransactionHandler.cs) requests are processed
synchronously, so Submitted and Invalid events reach ``on_order_event`` *inside* the call that
placed the order, and fills are scanned once per time slice before scheduled events
(Engine/AlgorithmManager.cs:340).  Fees come from the security's fee model (Tastytrade's).
In live mode the ``LiveTastytrade`` rules of ``testing.lean.brokerage`` shape what is reported.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from testing.lean.brokerage import TastytradeBrokerageModel, combo_limit_fill, tastytrade_fee
from testing.lean.orders import (
    CLOSED,
    CashAmount,
    GroupOrderManager,
    Order,
    OrderEvent,
    OrderFee,
    OrderStatus,
    OrderTicket,
    OrderType,
)
from testing.lean.securities import Portfolio, Security, SecurityManager


class Transactions:
    """``algorithm.transactions`` plus the transaction handler behind it."""

    def __init__(
        self,
        securities: SecurityManager,
        utc_now: Callable[[], datetime],
        deliver: Callable[[OrderEvent], None],
        portfolio: Portfolio,
        live: bool = False,
    ) -> None:
        self._securities = securities
        self._portfolio = portfolio
        self._utc_now = utc_now
        self._deliver = deliver  # algorithm.on_order_event (through the portfolio update)
        self.live = live
        self.model = TastytradeBrokerageModel()
        self.orders: dict[int, Order] = {}
        self.tickets: dict[int, OrderTicket] = {}
        self._groups: dict[int, list[Order]] = {}
        self._next_id = 1
        self._next_group = 1
        self.broker_outbox: list[OrderEvent] = []  # live: events the brokerage thread will deliver
        self.on_live_place: Callable[[list[Order]], None] | None = None

    # --- the API the algorithm uses ----------------------------------------------------------------
    @property
    def orders_count(self) -> int:
        return len(self.orders)

    def get_open_order_tickets(
        self, predicate: Callable[[OrderTicket], bool] | None = None
    ) -> list[OrderTicket]:
        out = [t for t in self.tickets.values() if t.status not in CLOSED]
        return [t for t in out if predicate is None or predicate(t)]

    def get_order_tickets(self, predicate: Callable[[OrderTicket], bool] | None = None) -> list[OrderTicket]:
        return [t for t in self.tickets.values() if predicate is None or predicate(t)]

    def get_order_by_id(self, order_id: int) -> Order:
        return self.orders[order_id]

    def get_open_orders(self) -> list[Order]:
        return [o for o in self.orders.values() if o.status not in CLOSED]

    # --- orders ----------------------------------------------------------------------------------
    def new_group(self, count: int, quantity: int, limit: float) -> GroupOrderManager:
        group = GroupOrderManager(self._next_group, count, quantity, limit)
        self._next_group += 1
        return group

    def make_order(self, symbol: Any, quantity: float, kind: OrderType, tag: str, **kw: Any) -> Order:
        order = Order(self._next_id, symbol, quantity, kind, tag, self._utc_now(), **kw)
        self._next_id += 1
        return order

    def add_order(self, order: Order) -> OrderTicket:
        self.orders[order.id] = order
        ticket = OrderTicket(order, self._request_cancel)
        self.tickets[order.id] = ticket
        if order.group is None:
            self._handle([order])
        else:
            members = self._groups.setdefault(order.group.id, [])
            members.append(order)
            order.group.order_ids.append(order.id)
            if len(members) == order.group.count:  # "an Order of the group is missing" until then
                self._handle(members)
        return ticket

    def restore_open_order(self, order: Order) -> OrderTicket:
        """BrokerageSetupHandler.GetOpenOrders: an open order the brokerage reports at start."""
        if order.group is not None:
            self._groups.setdefault(order.group.id, []).append(order)
        self.orders[order.id] = order
        ticket = OrderTicket(order, self._request_cancel)
        self.tickets[order.id] = ticket
        self._next_id = max(self._next_id, order.id + 1)
        return ticket

    def _handle(self, orders: list[Order]) -> None:
        for order in orders:
            ok, why = self.model.can_submit_order(self._securities[order.symbol], order)
            if not ok:
                message = f"BrokerageModel declared unable to submit order: [{','.join(str(o.id) for o in orders)}] {why}"
                for o in orders:
                    o.status = OrderStatus.INVALID
                    self.emit(
                        OrderEvent(o.id, o.symbol, self._utc_now(), OrderStatus.INVALID, message=message)
                    )
                return
        if self.live:
            for o in orders:
                o.status = OrderStatus.SUBMITTED  # the brokerage acknowledges later (Routed/Live)
            if self.on_live_place is not None:
                self.on_live_place(orders)
            return
        for o in orders:  # BacktestingBrokerage.PlaceOrder
            o.status = OrderStatus.SUBMITTED
            self.emit(OrderEvent(o.id, o.symbol, self._utc_now(), OrderStatus.SUBMITTED))

    def _request_cancel(self, ticket: OrderTicket, tag: str | None) -> None:
        order = ticket.order
        if order.status in CLOSED:
            return
        order.status = OrderStatus.CANCEL_PENDING
        if self.live:
            return  # the brokerage reports Cancelled later (or never, see LiveTastytrade)
        order.status = OrderStatus.CANCELED
        self.emit(OrderEvent(order.id, order.symbol, self._utc_now(), OrderStatus.CANCELED))

    # --- fills -----------------------------------------------------------------------------------
    def scan_fills(self) -> None:
        """BacktestingBrokerage.Scan: every open combo limit order against the current bars."""
        for members in list(self._groups.values()):
            if any(o.status not in (OrderStatus.SUBMITTED, OrderStatus.PARTIALLY_FILLED) for o in members):
                continue
            group = members[0].group
            assert group is not None
            legs = [(o, self._securities[o.symbol]) for o in members]
            for fill in combo_limit_fill(legs, group.limit_price, group.direction):
                self.fill(fill.order, fill.price, fill.quantity)

    def fill(self, order: Order, price: float, quantity: float, fee: float | None = None) -> None:
        sec = self._securities[order.symbol]
        fee = tastytrade_fee(sec, quantity) if fee is None else fee
        self._apply_fill(sec, quantity, price, fee)
        order.filled += quantity
        order.status = (
            OrderStatus.FILLED if abs(order.filled - order.quantity) < 1e-9 else OrderStatus.PARTIALLY_FILLED
        )
        self.emit(
            OrderEvent(
                order.id,
                order.symbol,
                self._utc_now(),
                order.status,
                price,
                quantity,
                OrderFee(CashAmount(fee)),
            )
        )

    def _apply_fill(self, sec: Security, quantity: float, price: float, fee: float) -> None:
        """SecurityPortfolioManager.ProcessFills: cash and the average price of the holding."""
        h = sec.holdings
        mult = sec.symbol_properties.contract_multiplier
        sec_cash = -quantity * price * mult if sec.type.name != "FUTURE" else 0.0
        new = h.quantity + quantity
        if h.quantity == 0 or (h.quantity > 0) == (quantity > 0):
            h.average_price = (h.average_price * h.quantity + price * quantity) / new if new else 0.0
        elif new == 0 or (new > 0) != (h.quantity > 0):
            if sec.type.name == "FUTURE":
                sec_cash = (price - h.average_price) * -h.quantity * mult if new == 0 else 0.0
            h.average_price = price if new != 0 else 0.0
        elif sec.type.name == "FUTURE":
            sec_cash = (price - h.average_price) * -quantity * mult
        h.quantity = new
        self._portfolio.cash += sec_cash - fee

    def emit(self, event: OrderEvent) -> None:
        event.ticket = self.tickets.get(event.order_id)
        order = self.orders.get(event.order_id)
        event.quantity = order.quantity if order is not None else 0.0
        self._deliver(event)


def invalid_ticket(order: Order, message: str) -> OrderTicket:
    return OrderTicket.invalid(order, message)
