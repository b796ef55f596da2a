"""Idempotency: before anything is sent again, make sure the broker does not already have it.

Silent drops are detected by an acknowledgement timeout: an order that went quiet is looked for
among the broker's open orders; one that is gone is written off only when the account's holdings
moved exactly as the fills seen explain (else a critical alert, and nothing is re-sent until they
do).  Before any re-send, an order written off that turned up at the broker is taken down first.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from core.ports import Severity
from core.types import Holding
from execution.desk import Desk
from execution.group import OrderGroup, OrderRecord, Outcome


class Presence:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self._open_tags: set[str] | None = None  # the broker's open orders, read once per step
        self._pair: tuple[Mapping[str, Holding], dict[str, int]] | None = None

    def forget(self) -> None:
        """Drop what was read from the broker (a new step or event: it may have changed)."""
        self._pair = None

    def new_step(self) -> None:
        self._open_tags, self._pair = None, None

    def check(self, group: OrderGroup, order: OrderRecord, now: datetime, cancelling: bool) -> None:
        """An order that went quiet: still at the broker, or gone without a word?"""
        d = self.desk
        if order.tag in self._tags_at_broker():
            order.acked = True
            if cancelling:
                order.cancel_at = now
                d.platform.cancel(order.tag)
            return
        if not self._holdings_explained(order):
            if order.unexplained_since is None:
                order.unexplained_since = now
                d.stats.counts["unexplained_holdings"] += 1
            elif now - order.unexplained_since >= d.policy.unexplained_alert:
                order.unexplained_since = now  # alert again after another window, not every step
                d.alert(
                    Severity.CRITICAL,
                    "Holdings changed without a fill event",
                    f"{order.tag}: the broker no longer has the order; not re-sending until explained",
                )
            return
        order.done = True
        order.outcome = Outcome.CANCELLED if cancelling else Outcome.LOST
        order.message = "no confirmation; not at the broker"
        if not cancelling:
            d.stats.counts["lost_orders"] += 1
        d.ladder.advance(group, now)

    def baseline(self) -> tuple[Mapping[str, Holding], dict[str, int]]:
        """Holdings and the fills seen, read together once per call: the pair an order's
        idempotency check compares against later (reading the account per order is costly)."""
        if self._pair is None:
            self._pair = (self.desk.platform.account().holdings, dict(self.desk.seen))
        return self._pair

    def clear_to_send(self, group: OrderGroup, now: datetime) -> bool:
        """None of the group's orders may still be at the broker before a re-send."""
        d = self.desk
        at_broker = set(d.platform.open_order_tags())  # fresh: a cached list could be stale here
        alive = [o for o in group.orders if o.tag in at_broker]
        if not alive:
            return True
        for order in alive:  # an order we wrote off turned up: take it down and look again later
            order.done, order.acked, order.cancel_at = False, True, now
            order.outcome = Outcome.NONE
            d.platform.cancel(order.tag)
        return False

    def _tags_at_broker(self) -> set[str]:
        if self._open_tags is None:
            self._open_tags = set(self.desk.platform.open_order_tags())
        return self._open_tags

    def _holdings_explained(self, order: OrderRecord) -> bool:
        holdings = self.desk.platform.account().holdings
        seen = self.desk.seen
        for symbol in order.legs:
            held = holdings[symbol].quantity if symbol in holdings else 0.0
            moved = held - order.baseline_holdings.get(symbol, 0.0)
            fills = seen[symbol] - order.baseline_seen.get(symbol, 0)
            if abs(moved - fills) > 1e-9:
                return False
        return True
