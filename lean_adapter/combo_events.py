"""LEAN reports a combo order as one order per leg; the trading system wants one ``OrderEvent``
per combo tag.  This aggregation is engine-neutral (the LEAN adapter maps LEAN's order events to
``LegUpdate``s), so it is unit-tested without LEAN."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from fractions import Fraction

from core.types import LegFill, OptionContract, OrderEvent, OrderStatus


class LegStatus(StrEnum):
    """LEAN order statuses as the aggregator needs them (the adapter maps LEAN's enum)."""

    SUBMITTED = "submitted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    INVALID = "invalid"
    OTHER = "other"  # new, cancel pending, update submitted, none: nothing to report


@dataclass(frozen=True, slots=True)
class LegUpdate:
    """One LEAN order event of one leg order of a combo."""

    order_id: int
    leg: str  # core symbol of the leg's contract (OptionContract.symbol)
    status: LegStatus
    fill_quantity: int = 0  # signed, + bought / - sold, this event only
    fill_price: float = 0.0
    fee: float = 0.0
    message: str = ""


@dataclass
class _Combo:
    contracts: dict[str, OptionContract]
    targets: dict[str, int]
    filled: dict[str, int]
    terminal: set[str] = field(default_factory=set)
    buffer: list[LegFill] = field(default_factory=list)
    submitted_sent: bool = False
    outcome: OrderStatus | None = None


class ComboEventAggregator:
    """Turns LEAN's per-leg order events of a combo into core ``OrderEvent``s for its tag.

    * SUBMITTED once, on the first leg LEAN reports submitted.
    * Fills are buffered per leg and released as one PARTIALLY_FILLED event only when every leg
      has filled the same share of its target (whole units), and as FILLED when all legs are
      complete.  The fills of each event are the increments since the previous one.
    * CANCELLED once every leg has ended (filled or cancelled), after releasing any buffered fills
      (so a broken combo is reported, never hidden).
    * REJECTED at once on the first invalid leg (after releasing buffered fills); the adapter then
      cancels the remaining legs.
    Events for unregistered tags yield nothing; fills for a tag that already ended are reported as
    PARTIALLY_FILLED with a "late fill" message so the position is never lost.
    """

    def __init__(self) -> None:
        self._combos: dict[str, _Combo] = {}

    def register(self, tag: str, legs: Mapping[str, tuple[OptionContract, int]]) -> None:
        """``legs``: core symbol -> (contract, signed total quantity of that leg)."""
        if not legs or any(qty == 0 for _, qty in legs.values()):
            raise ValueError(f"{tag}: every leg needs a non-zero quantity")
        self._combos[tag] = _Combo(
            contracts={k: c for k, (c, _) in legs.items()},
            targets={k: q for k, (_, q) in legs.items()},
            filled={k: 0 for k in legs},
        )

    def is_known(self, tag: str) -> bool:
        return tag in self._combos

    def outcome(self, tag: str) -> OrderStatus | None:
        combo = self._combos.get(tag)
        return None if combo is None else combo.outcome

    def forget(self, tag: str) -> None:
        self._combos.pop(tag, None)

    def on_leg_event(self, tag: str, time: datetime, update: LegUpdate) -> list[OrderEvent]:
        combo = self._combos.get(tag)
        if combo is None or update.leg not in combo.targets:
            return []
        is_fill = update.status in (LegStatus.PARTIALLY_FILLED, LegStatus.FILLED) and update.fill_quantity
        if combo.outcome is not None:
            if not is_fill:
                return []
            fill = self._record_fill(combo, update)
            combo.buffer.clear()
            return [
                OrderEvent(
                    tag,
                    OrderStatus.PARTIALLY_FILLED,
                    time,
                    (fill,),
                    f"late fill after the order ended ({combo.outcome.value})",
                )
            ]
        events: list[OrderEvent] = []
        if update.status is LegStatus.SUBMITTED:
            if not combo.submitted_sent:
                combo.submitted_sent = True
                events.append(OrderEvent(tag, OrderStatus.SUBMITTED, time, (), update.message))
            return events
        if is_fill:
            self._record_fill(combo, update)
        if update.status in (LegStatus.FILLED, LegStatus.CANCELED):
            combo.terminal.add(update.leg)
        elif update.status is LegStatus.INVALID:
            combo.terminal.add(update.leg)
            events += self._release(combo, tag, time, OrderStatus.PARTIALLY_FILLED, "")
            combo.outcome = OrderStatus.REJECTED
            events.append(OrderEvent(tag, OrderStatus.REJECTED, time, (), update.message or "invalid"))
            return events
        if all(combo.filled[k] == combo.targets[k] for k in combo.targets):
            combo.outcome = OrderStatus.FILLED
            events += self._release(combo, tag, time, OrderStatus.FILLED, update.message, force=True)
            return events
        if combo.buffer and _whole_units(combo):
            events += self._release(combo, tag, time, OrderStatus.PARTIALLY_FILLED, update.message)
        if len(combo.terminal) == len(combo.targets):
            events += self._release(combo, tag, time, OrderStatus.PARTIALLY_FILLED, "")
            combo.outcome = OrderStatus.CANCELLED
            events.append(OrderEvent(tag, OrderStatus.CANCELLED, time, (), update.message))
        return events

    @staticmethod
    def _record_fill(combo: _Combo, update: LegUpdate) -> LegFill:
        fill = LegFill(combo.contracts[update.leg], update.fill_quantity, update.fill_price, update.fee)
        combo.filled[update.leg] += update.fill_quantity
        combo.buffer.append(fill)
        return fill

    @staticmethod
    def _release(
        combo: _Combo, tag: str, time: datetime, status: OrderStatus, message: str, force: bool = False
    ) -> list[OrderEvent]:
        if not combo.buffer and not force:
            return []
        fills, combo.buffer = tuple(combo.buffer), []
        return [OrderEvent(tag, status, time, fills, message)]


def _whole_units(combo: _Combo) -> bool:
    """True when every leg has filled the same share of its target quantity."""
    shares = {Fraction(combo.filled[k], combo.targets[k]) for k in combo.targets}
    return len(shares) == 1
