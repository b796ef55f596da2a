"""Works each intent as a combo limit order until it fills or its ladder runs out.

Repricing is cancel-then-replace: the next attempt is only sent once the engine confirms the
cancel, so a cancel race can end in a fill of the old order but never in two fills.  Entries give
up when their ladder runs out; exits reach the natural price and stay there, re-quoted each step,
until they fill (a position that must close is never left open because the spread was wide).
Tags are ``group_id|purpose|n`` with ``n`` counting every order sent for that group and purpose:
unique and deterministic, so a restart recognises its own orders.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from core.costs import net_mid, net_natural
from core.ports import Platform
from core.settings import Settings
from core.types import (
    ComboOrder,
    GroupUpdate,
    LegFill,
    MarketSnapshot,
    OrderEvent,
    OrderIntent,
    OrderStatus,
    Purpose,
    UpdateKind,
)
from execution.pricing import combo_tick, ladder_price


@dataclass
class _Working:
    intent: OrderIntent
    attempt: int  # step on the ladder
    tag: str
    submitted: datetime
    cancel_requested: bool = False
    fills: list[LegFill] = field(default_factory=list)


def order_tag(group_id: str, purpose: Purpose, sequence: int) -> str:
    return f"{group_id}|{purpose.value}|{sequence}"


class OrderManager:
    def __init__(self, settings: Settings, platform: Platform) -> None:
        self.s = settings
        self.platform = platform
        self._by_group: dict[str, _Working] = {}
        self._by_tag: dict[str, _Working] = {}
        self._sent: dict[tuple[str, Purpose], int] = {}

    def is_working(self, group_id: str) -> bool:
        return group_id in self._by_group

    def submit(self, intent: OrderIntent, snapshot: MarketSnapshot) -> None:
        self._send(intent, 0, intent.reference_price, intent.natural_price, snapshot.time)

    def on_step(self, snapshot: MarketSnapshot) -> Sequence[GroupUpdate]:
        """Ask for a cancel of every order that has waited a full step at its price."""
        due = timedelta(minutes=self.s.exec_step_minutes)
        for working in list(self._by_group.values()):
            if not working.cancel_requested and snapshot.time - working.submitted >= due:
                working.cancel_requested = True
                self.platform.cancel(working.tag)
        return []

    def on_order_event(self, event: OrderEvent) -> Sequence[GroupUpdate]:
        working = self._by_tag.get(event.tag)
        if working is None:
            return []
        if event.status is OrderStatus.FILLED or event.status is OrderStatus.PARTIALLY_FILLED:
            working.fills.extend(event.fills)
            if event.status is OrderStatus.FILLED:
                return [self._filled(working, event.time)]
            return []
        if event.status is OrderStatus.CANCELLED and working.cancel_requested:
            return self._reprice(working, event.time)
        if event.status in (OrderStatus.CANCELLED, OrderStatus.REJECTED):
            self._forget(working)
            return [self._abandoned(working, event.time, f"{event.status.value}: {event.message}")]
        return []

    # --- internals -------------------------------------------------------------------------------
    def _send(self, intent: OrderIntent, attempt: int, mid: float, natural: float, now: datetime) -> None:
        is_exit = intent.purpose is Purpose.CLOSE
        concession = 1.0 if is_exit else self.s.exec_max_concession  # exits may pay the full spread
        limit = ladder_price(
            mid, natural, attempt, self.s.exec_max_steps, concession, combo_tick(intent.legs[0].contract)
        )
        key = (intent.group_id, intent.purpose)
        sequence = self._sent.get(key, 0)
        self._sent[key] = sequence + 1
        tag = order_tag(intent.group_id, intent.purpose, sequence)
        working = _Working(intent, attempt, tag, now)
        self._by_group[intent.group_id] = working
        self._by_tag[tag] = working
        self.platform.submit_combo(ComboOrder(tag, intent.legs, intent.quantity, limit, now))

    def _reprice(self, working: _Working, now: datetime) -> list[GroupUpdate]:
        self._forget(working)
        if working.fills:
            # A partial fill was cancelled: partial-fill repair is the execution layer's next job.
            return [self._abandoned(working, now, "partially filled then cancelled")]
        is_exit = working.intent.purpose is Purpose.CLOSE
        if working.attempt >= self.s.exec_max_steps and not is_exit:
            return [self._abandoned(working, now, f"not filled after {working.attempt + 1} prices")]
        quotes = [self.platform.snapshot().chains.quote(leg.contract) for leg in working.intent.legs]
        if any(q is None for q in quotes):
            return [self._abandoned(working, now, "quotes unavailable for repricing")]
        legs = working.intent.legs
        valid = [q for q in quotes if q is not None]
        step = min(working.attempt + 1, self.s.exec_max_steps)
        self._send(working.intent, step, net_mid(legs, valid), net_natural(legs, valid), now)
        return []

    def _filled(self, working: _Working, now: datetime) -> GroupUpdate:
        self._forget(working)
        intent = working.intent
        net = sum(f.quantity * f.price for f in working.fills) / intent.quantity
        fees = sum(f.fee for f in working.fills)
        return GroupUpdate(
            intent.group_id, intent.purpose, UpdateKind.FILLED, now, intent.quantity, net, fees, intent.reason
        )

    def _abandoned(self, working: _Working, now: datetime, message: str) -> GroupUpdate:
        intent = working.intent
        return GroupUpdate(
            intent.group_id, intent.purpose, UpdateKind.ABANDONED, now, reason=intent.reason, message=message
        )

    def _forget(self, working: _Working) -> None:
        self._by_tag.pop(working.tag, None)
        if self._by_group.get(working.intent.group_id) is working:
            del self._by_group[working.intent.group_id]
