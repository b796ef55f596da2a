"""What to do with a group whose legs disagree: complete the missing legs, or unwind to flat.

Pure functions of the group's fills and the current quotes, so the decision is testable alone.
Completion is only chosen when the whole position, priced with the missing legs at their natural
price now, costs no more per unit than the natural price at submission plus a bounded share of the
entry spread; otherwise the legs already filled are unwound to the largest balanced level below.
A closing group never unwinds (that would re-open what we meant to close): it always completes.
``Repairer`` is the part of execution that acts on these decisions: it plans, sends and ends a
group's repair, and alerts when exposure remains past the repair deadline (``execution.ladder``).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import reduce

from core.ports import Severity
from core.types import Leg, OptionContract, OptionQuote, Purpose
from execution.desk import Desk
from execution.group import GroupState, OrderGroup, OrderRecord, Outcome, RepairMode, Role
from execution.pricing import combo_tick
from execution.retry import Rejection, classify_rejection


@dataclass(frozen=True, slots=True)
class RepairOrder:
    """A combo that moves positions by ``contracts`` (signed per symbol): legs, units and limit."""

    legs: tuple[Leg, ...]
    quantity: int
    natural: float  # per combo unit
    mid: float
    limit: float


def levels(ratios: Mapping[str, int], filled: Mapping[str, int], target_units: int) -> tuple[int, int]:
    """(up, down): units to complete to (the most-filled leg, never past the intent) and units to
    unwind to (the least-filled leg, never below flat)."""
    units = [filled.get(s, 0) / r for s, r in ratios.items()]
    up = min(target_units, max(math.ceil(u - 1e-9) for u in units))
    down = max(0, min(math.floor(u + 1e-9) for u in units))
    return max(up, 0), min(down, target_units)


def moves_to(ratios: Mapping[str, int], filled: Mapping[str, int], units: int) -> dict[str, int]:
    """Signed contracts per symbol that bring every leg to ``units`` (zeros left out)."""
    out = {}
    for s, r in ratios.items():
        delta = r * units - filled.get(s, 0)
        if delta:
            out[s] = delta
    for s, q in filled.items():  # a symbol that is not a leg of the intent goes back to flat
        if s not in ratios and q:
            out[s] = -q
    return out


def leg_natural(quantity: int, quote: OptionQuote) -> float:
    return quote.ask if quantity > 0 else quote.bid


def price_moves(moves: Mapping[str, int], quotes: Mapping[str, OptionQuote]) -> float:
    """Points paid (debit +) to trade ``moves`` at the natural price of each leg."""
    return sum(q * leg_natural(q, quotes[s]) for s, q in moves.items())


def completion_net(
    cash_points: float, moves: Mapping[str, int], quotes: Mapping[str, OptionQuote], units: int
) -> float:
    """Net price per unit of the whole position once ``moves`` fill at natural."""
    return (cash_points + price_moves(moves, quotes)) / units


def build_order(
    moves: Mapping[str, int],
    contracts: Mapping[str, OptionContract],
    quotes: Mapping[str, OptionQuote],
    tick: float,
    cushion_ticks: int,
    max_limit: float | None = None,
) -> RepairOrder:
    """A marketable combo for ``moves``: limit at the natural price plus a cushion, on the tick grid,
    capped at ``max_limit`` (per combo unit) when given; never a debit for selling every leg."""
    symbols = sorted(moves)
    units = reduce(math.gcd, (abs(moves[s]) for s in symbols))
    legs = tuple(Leg(contracts[s], moves[s] // units) for s in symbols)
    natural = sum(leg.ratio * leg_natural(leg.ratio, quotes[s]) for leg, s in zip(legs, symbols, strict=True))
    mid = sum(leg.ratio * quotes[s].mid for leg, s in zip(legs, symbols, strict=True))
    limit = math.ceil((natural + cushion_ticks * tick) / tick - 1e-9) * tick
    if max_limit is not None:
        limit = min(limit, math.floor(max_limit / tick + 1e-9) * tick)
    if all(leg.ratio < 0 for leg in legs):
        limit = min(limit, 0.0)
    return RepairOrder(legs, units, natural, mid, round(limit, 10))


class Repairer:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    def repair(self, group: OrderGroup, now: datetime) -> None:
        d, policy = self.desk, self.desk.policy
        if group.repair_started is None:
            group.repair_started = now
            d.stats.counts["repairs_started"] += 1
            d.record("repair_started", now, {"group": group.key, "filled": group.filled()})
        group.move(GroupState.REPAIRING, now, "legs filled unevenly")
        if d.end_if_expired(group, now):
            return
        if group.live_orders() or (group.retry_at is not None and now < group.retry_at):
            return
        n = group.intent.quantity
        is_exit = group.purpose is Purpose.CLOSE
        balanced = group.balanced_units()
        if balanced is not None:
            if group.reported:
                if balanced == group.reported_units:
                    state = GroupState.FILLED if balanced > 0 else GroupState.UNWOUND
                    d.finish(group, state, now, balanced, "late_fill_reversed")
                    return
            elif balanced == n:
                d.finish(group, GroupState.FILLED, now, n, "completed")
                return
            elif not is_exit and (group.repair_mode is RepairMode.NONE or balanced == group.repair_level):
                state = GroupState.UNWOUND if balanced == 0 else GroupState.FILLED
                d.finish(group, state, now, balanced, "unwound" if balanced == 0 else "reduced")
                return
        if not d.presence.clear_to_send(group, now):
            return
        quotes = d.quotes(group)
        if quotes is None:
            return  # no prices: try again next step (the deadline alert watches the clock)
        ratios, filled = group.ratios(), group.filled()
        up, down = levels(ratios, filled, n)
        bound = group.intent.natural_price + policy.repair_slippage * abs(
            group.intent.natural_price - group.intent.reference_price
        )
        tick = combo_tick(group.intent.legs[0].contract)
        if group.reported:
            mode, level = RepairMode.UNWIND, group.reported_units
        elif is_exit:
            mode, level = RepairMode.COMPLETE, n
        else:
            mode = group.repair_mode
            if mode is not RepairMode.UNWIND:
                late = now - group.repair_started >= policy.repair_complete_window
                net = (
                    completion_net(group.cash_points(), moves_to(ratios, filled, up), quotes, up)
                    if up
                    else 0.0
                )
                fits = up > 0 and not late and net <= bound + 1e-9
                mode = RepairMode.COMPLETE if fits else RepairMode.UNWIND
            level = up if mode is RepairMode.COMPLETE else down
        moves = moves_to(ratios, filled, level)
        if not moves:
            return
        max_limit = None
        if mode is RepairMode.COMPLETE and not is_exit and not group.reported:
            max_limit = (bound * level - group.cash_points()) / _gcd_units(moves)
        cushion = policy.repair_cushion_ticks
        order = build_order(moves, group.contracts(), quotes, tick, cushion, max_limit)
        if max_limit is not None and order.limit < order.natural - 1e-9:
            mode, level = RepairMode.UNWIND, down  # completion no longer fits the bound: flatten instead
            moves = moves_to(ratios, filled, level)
            order = build_order(moves, group.contracts(), quotes, tick, cushion)
        if mode is not group.repair_mode:
            d.record(
                "repair_plan", now, {"group": group.key, "mode": mode.value, "level": level, "moves": moves}
            )
        group.repair_mode, group.repair_level = mode, level
        role = Role.COMPLETE if mode is RepairMode.COMPLETE else Role.UNWIND
        d.emit(group, role, order.legs, order.quantity, order.limit, order.mid, order.natural, now, 0)

    def order_failed(self, group: OrderGroup, order: OrderRecord, now: datetime) -> None:
        """A repair order was rejected or lost: unwind instead of completing, or back off and retry."""
        d = self.desk
        kind = Rejection.TRANSIENT
        if order.outcome is Outcome.REJECTED:
            kind = classify_rejection(order.message, reduces_risk=order.role is Role.UNWIND)
            d.stats.counts[f"rejections_{kind.value}"] += 1
        complete = group.repair_mode is RepairMode.COMPLETE
        if kind is Rejection.PERMANENT and complete and group.purpose is Purpose.OPEN:
            group.repair_mode = RepairMode.UNWIND  # e.g. no buying power to complete: take the legs off
            return
        if kind is Rejection.PERMANENT:
            d.alert(Severity.CRITICAL, "Repair order rejected", f"{order.tag}: {order.message}; retrying")
        group.attempts += 1
        d.ladder.schedule_retry(group, now)

    def close(self, group: OrderGroup, now: datetime, units: int, how: str) -> None:
        """Record how the repair ended and what its trades cost."""
        d = self.desk
        repair_tags = {o.tag for o in group.orders if o.role is not Role.ENTRY}
        repair_fills = [f for f in group.fills if f.tag in repair_tags]
        multiplier = group.intent.legs[0].contract.multiplier
        moved: defaultdict[str, int] = defaultdict(int)
        for f in repair_fills:
            moved[f.symbol] += f.quantity
        d.stats.counts[f"repairs_{how}"] += 1
        record = {
            "group": group.key,
            "strategy": group.intent.strategy,
            "started": group.repair_started.isoformat() if group.repair_started else "",
            "ended": now.isoformat(),
            "how": how,
            "units": units,
            "repair_orders": len(repair_tags),
            "moved": dict(moved),
            "cost_dollars": -sum(f.quantity * f.price for f in repair_fills) * multiplier
            - sum(f.fee for f in repair_fills),
            "past_deadline": group.deadline_alerted,
            # a group left flat never reaches the trade log: its whole round trip is realised here
            "realized_dollars": -group.cash_points() * multiplier - group.fees() if units == 0 else None,
        }
        d.stats.repairs.append(record)
        d.record("repair_finished", now, record)
        group.repair_started = None


def _gcd_units(moves: dict[str, int]) -> int:
    return reduce(math.gcd, (abs(q) for q in moves.values()), 0) or 1
