"""Live trading on the double: the Tastytrade brokerage's reports and LEAN's threads.

Mirrors Lean.Brokerages.Tastytrade TastytradeBrokerage.Brokerage.cs:525-650: a placed order is
reported Submitted only when the brokerage says Routed/Live (``acknowledge``); fills are reported
only when the brokerage order is Filled, all legs at once, with fee 0 (``fill``); Cancelled and
Expired become Canceled (``confirm_cancel``); a Rejected order produces no event at all
(``reject``: nothing happens).  ``GetOpenOrders`` after a restart (:177-222) rebuilds open orders
without a tag (``restore``).  Events can be delivered from another thread, as LEAN's brokerage
and transaction threads do (BrokerageTransactionHandler.cs HandleOrderEvents).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from testing.lean.algorithm import QCAlgorithm
from testing.lean.orders import GroupOrderManager, Order, OrderEvent, OrderStatus


class LiveTastytrade:
    def __init__(self, algorithm: QCAlgorithm) -> None:
        self.algorithm = algorithm
        algorithm.live_mode = True
        algorithm.transactions.live = True
        algorithm.transactions.on_live_place = self._placed
        self.placed: list[list[Order]] = []

    def _placed(self, orders: list[Order]) -> None:
        self.placed.append(list(orders))

    def combo(self, tag: str) -> list[Order]:
        return next(o for o in self.placed if o[0].tag == tag)

    def _emit(self, order: Order, status: OrderStatus, **kw: float) -> None:
        tx = self.algorithm.transactions
        tx.emit(OrderEvent(order.id, order.symbol, self.algorithm.utc_time, status, **kw))  # type: ignore[arg-type]

    def acknowledge(self, tag: str) -> None:
        for order in self.combo(tag):
            self._emit(order, OrderStatus.SUBMITTED)

    def reject(self, tag: str) -> None:
        """Tastytrade rejected it: the brokerage plugin reports nothing (default: return)."""

    def fill(self, tag: str) -> None:
        tx = self.algorithm.transactions
        for order in self.combo(tag):
            sec = self.algorithm.securities[order.symbol]
            price = sec.ask_price if order.quantity > 0 else sec.bid_price
            tx.fill(order, price, order.quantity - order.filled, fee=0.0)

    def confirm_cancel(self, tag: str) -> None:
        for order in self.combo(tag):
            if order.status == OrderStatus.CANCEL_PENDING:
                order.status = OrderStatus.CANCELED
                self._emit(order, OrderStatus.CANCELED)

    def restore(self, orders: list[Order]) -> None:
        """The open orders a restarted algorithm gets from the brokerage: same legs, no tag."""
        tx = self.algorithm.transactions
        group = GroupOrderManager(900, len(orders), orders[0].group.quantity, orders[0].group.limit_price)  # type: ignore[union-attr]
        for o in orders:
            copy = Order(
                o.id, o.symbol, o.quantity, o.type, "", o.time, o.limit_price, group, OrderStatus.SUBMITTED
            )
            tx.restore_open_order(copy)


def on_thread(action: Callable[[], None]) -> threading.Thread:
    thread = threading.Thread(target=action, name="brokerage", daemon=True)
    thread.start()
    return thread
