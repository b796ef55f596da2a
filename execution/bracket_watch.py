"""The part of execution that works exit brackets (``execution.brackets``): it rests the profit
target, watches the synthetic stop on the closing mark each step, and when the stop fires cancels
the target and sends the exit (one cancels the other)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from core.costs import net_mid, net_natural
from core.ports import Severity
from core.quote_screen import raw_chains
from core.types import GroupStatus, GroupUpdate, Leg, MarketSnapshot, OrderIntent, PositionGroup, Purpose
from execution.brackets import BracketSpec, observe, spec_from_notes
from execution.desk import Desk
from execution.group import GroupState, OrderGroup, group_key


class BracketWatch:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    def arm(self, group: PositionGroup, spec: BracketSpec, snapshot: MarketSnapshot) -> bool:
        """Rest ``spec``'s profit target and watch its stops for an open position group.

        While the bracket is armed the group counts as working (its exit is in hand); it ends
        when either side fills.  False (and an alert) if the group already has an exit working.
        """
        d = self.desk
        key = group_key(group.group_id, Purpose.CLOSE)
        current = d.groups.get(key)
        if current is not None and not current.terminal:
            d.alert(Severity.WARNING, "Bracket for a group already exiting", f"{key}: not armed")
            return False
        legs = tuple(Leg(leg.contract, -leg.ratio) for leg in group.legs)
        chains = raw_chains(snapshot.chains)
        quotes = [chains.quote(leg.contract) for leg in legs]
        valid = [q for q in quotes if q is not None]
        priced = len(valid) == len(legs)
        mid = net_mid(legs, valid) if priced else 0.0
        natural = net_natural(legs, valid) if priced else 0.0
        intent = OrderIntent(
            group.group_id, group.strategy, Purpose.CLOSE, legs, group.quantity, mid, natural, 0.0,
            "profit_target", snapshot.time,
        )  # fmt: skip
        og = d.new_group(intent, snapshot.time)
        og.bracket = spec.state()
        d.record("bracket_armed", snapshot.time, {"group": key, **asdict(og.bracket)})
        if spec.target is not None:
            d.ladder.send_entry(og, snapshot.time)
        else:
            og.move(GroupState.WORKING, snapshot.time, "stop monitor armed")
        return True

    def auto(self, group: OrderGroup, update: GroupUpdate) -> None:
        """Arm the bracket an opening intent asked for in its notes (single-part groups only)."""
        d = self.desk
        intent = group.intent
        if intent.purpose is not Purpose.OPEN or intent.parts or d.snapshot is None:
            return
        try:
            spec = spec_from_notes(intent.notes, update.net_price, intent.legs)
        except ValueError as exc:
            d.alert(Severity.WARNING, "Bracket not armed", f"{group.key}: {exc}")
            return
        if spec is None:
            return
        position = PositionGroup(
            intent.group_id, intent.strategy, intent.legs, update.quantity, GroupStatus.OPEN,
            opened_at=update.time, entry_price=update.net_price,
        )  # fmt: skip
        self.arm(position, spec, d.snapshot)

    def watch(self, group: OrderGroup, now: datetime) -> None:
        """The synthetic stop: fire on the closing mark, cancel the resting target."""
        d = self.desk
        state = group.bracket
        assert state is not None
        quotes = d.quotes(group)
        if quotes is None:
            return
        mark = sum(leg.ratio * quotes[leg.contract.symbol].mid for leg in group.intent.legs)
        kind = observe(state, mark)
        if kind is None:
            return
        state.fired, state.trigger, state.exit_reason, state.fired_seq = True, mark, kind, group.next_seq
        group.step = d.policy.max_steps
        d.record("bracket_fired", now, {"group": group.key, "kind": kind, "mark": mark})
        live = group.live_orders()
        for order in live:
            if order.cancel_at is None:
                order.cancel_at = now
                d.platform.cancel(order.tag)
        if not live:
            d.ladder.send_entry(group, now)
