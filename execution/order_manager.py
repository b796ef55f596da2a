"""Works every intent as an order group until it is filled or flat, never half-done.

Each intent becomes an ``OrderGroup`` (see ``execution.group`` for the states), worked by four
parts over one shared desk (``execution.desk``): the price ladder with its timers and retries
(``execution.ladder``), the repair of legs that filled unevenly - complete them within a bounded
slippage, else unwind (``execution.repair``) -, the presence checks that keep every re-send
idempotent (``execution.presence``), and exit brackets (``execution.bracket_watch``).  This facade
is the ``core.ports.Executor`` both engines use: it takes intents and engine events, applies
fills, and hands the orchestrator one update per finished group.  Its state is one typed value
(``execution.state``) the system's persistence saves; tags are ``group_id|purpose|n``:
deterministic, so a restart recognises its own orders.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from core.ports import EventSink, Platform, Severity
from core.quote_screen import QuoteScreen
from core.settings import Settings
from core.types import (
    GroupUpdate,
    LegFill,
    MarketSnapshot,
    OrderEvent,
    OrderIntent,
    OrderStatus,
    PositionGroup,
    Purpose,
)
from execution.bracket_watch import BracketWatch
from execution.brackets import BracketSpec
from execution.desk import Desk
from execution.group import (
    FillRecord,
    GroupState,
    OrderGroup,
    OrderRecord,
    Outcome,
    RepairMode,
    Role,
    group_key,
)
from execution.ladder import Ladder
from execution.policy import ExecutionPolicy
from execution.presence import Presence
from execution.pricing import combo_tick
from execution.repair import Repairer
from execution.report import ExecutionStats
from execution.state import ExecutionState
from execution.validation import fill_problems, net_per_unit

__all__ = ["OrderManager"]

_RETAIN = timedelta(days=1)  # finished groups are kept this long for late events


class OrderManager:
    def __init__(
        self,
        settings: Settings,
        platform: Platform,
        sink: EventSink | None = None,
        policy: ExecutionPolicy | None = None,
        jitter_seed: int = 0,
        screen: QuoteScreen | None = None,
    ) -> None:
        self.s = settings
        self.policy = policy or ExecutionPolicy.from_settings(settings)
        self.desk = Desk(settings, platform, sink, self.policy, screen or QuoteScreen(settings), jitter_seed)
        self.presence = Presence(self.desk)
        self.desk.ladder, self.desk.repair = Ladder(self.desk), Repairer(self.desk)
        self.desk.presence, self.desk.brackets = self.presence, BracketWatch(self.desk)
        # Moved by every call that can change the state (persistence skips an unchanged executor):
        # the state lives in the desk's groups, which only these entry points touch.
        self.version = 0

    @property
    def groups(self) -> dict[str, OrderGroup]:
        return self.desk.groups

    @property
    def stats(self) -> ExecutionStats:
        return self.desk.stats

    # --- state ------------------------------------------------------------------------------------
    def state(self) -> ExecutionState:
        d = self.desk
        return ExecutionState(list(d.groups.values()), d.sequences, dict(d.seen), d.event_ids, d.stats)

    def restore(self, state: ExecutionState) -> None:
        """Continue exactly where the state was saved; reconciliation checks it against the engine."""
        d = self.desk
        self.version += 1
        d.groups = {g.key: g for g in state.groups}
        d.by_tag = {o.tag: (g, o) for g in state.groups for o in g.orders}
        d.sequences = dict(state.sequences)
        d.seen = defaultdict(int, state.seen)
        d.event_ids = set(state.event_ids)
        d.stats = state.stats

    # --- Executor ---------------------------------------------------------------------------------
    def is_working(self, group_id: str) -> bool:
        groups = self.desk.groups
        return any(
            not g.terminal for g in (groups.get(group_key(group_id, p)) for p in Purpose) if g is not None
        )

    def submit(self, intent: OrderIntent, snapshot: MarketSnapshot) -> None:
        d = self.desk
        d.snapshot = snapshot
        self.version += 1
        self.presence.forget()
        key = group_key(intent.group_id, intent.purpose)
        current = d.groups.get(key)
        if current is not None and not current.terminal:
            d.alert(Severity.WARNING, "Intent for a group already working", f"{key}: ignored")
            return
        d.ladder.send_entry(d.new_group(intent, snapshot.time), snapshot.time)

    def on_step(self, snapshot: MarketSnapshot) -> Sequence[GroupUpdate]:
        d = self.desk
        d.snapshot = snapshot
        self.presence.new_step()
        kept = len(d.groups)
        self._archive(snapshot.time)
        working = [g for g in d.groups.values() if not g.terminal]
        if working or len(d.groups) != kept:  # finished groups are only ever archived
            self.version += 1
        for group in working:
            d.ladder.tick(group, snapshot.time)
        self.presence.new_step()
        return d.drain()

    def on_order_event(
        self, event: OrderEvent, snapshot: MarketSnapshot | None = None
    ) -> Sequence[GroupUpdate]:
        """``snapshot``: the market now (default: the last one execution was given)."""
        d = self.desk
        if snapshot is not None:
            d.snapshot = snapshot
        self.version += 1
        self.presence.forget()
        found = d.by_tag.get(event.tag)
        if found is None:
            if event.fills:
                d.alert(Severity.CRITICAL, "Fill for an order execution did not send", f"{event}")
            return d.drain()
        group, order = found
        if event.event_id:
            if (event.tag, event.event_id) in d.event_ids or event.event_id in order.event_ids:
                d.stats.counts["duplicate_events"] += 1
                return d.drain()
            d.event_ids.add((event.tag, event.event_id))
            if event.fills:
                order.event_ids.append(event.event_id)  # kept with the fill: survives a restart
        if event.status is OrderStatus.SUBMITTED:
            if not order.acked:
                order.acked = True
                if group.state is GroupState.ACCEPTED:
                    group.move(GroupState.WORKING, event.time, f"{order.tag} acknowledged")
        elif event.status in (OrderStatus.FILLED, OrderStatus.PARTIALLY_FILLED):
            self._on_fill(group, order, event)
        elif not order.done:
            order.done = True
            order.outcome = Outcome.CANCELLED if event.status is OrderStatus.CANCELLED else Outcome.REJECTED
            order.message = event.message
            d.ladder.advance(group, event.time)
        return d.drain()

    def arm_bracket(self, group: PositionGroup, spec: BracketSpec, snapshot: MarketSnapshot) -> bool:
        """Rest ``spec``'s profit target and watch its stops for an open position group (see
        ``execution.bracket_watch``); False (and an alert) if the group has an exit working."""
        self.desk.snapshot = snapshot
        self.version += 1
        return self.desk.brackets.arm(group, spec, snapshot)

    # --- reports ------------------------------------------------------------------------------------
    def residual_exposure(self) -> list[dict[str, object]]:
        """Groups whose legs disagree right now (unhedged exposure), with their fills per leg."""
        return [
            {"group": g.key, "state": g.state.value, "filled": g.filled()}
            for g in self.desk.groups.values()
            if g.balanced_units() is None and not g.expired
        ]

    def report(self) -> dict[str, object]:
        return self.desk.stats.to_json(self.residual_exposure())

    # --- events -------------------------------------------------------------------------------------
    def _on_fill(self, group: OrderGroup, order: OrderRecord, event: OrderEvent) -> None:
        d = self.desk
        if order.done and order.outcome is Outcome.FILLED and not event.event_id and order.complete():
            d.stats.counts["duplicate_events"] += 1  # no id to tell: a complete order cannot fill again
            return
        problems = fill_problems(order, event.fills)
        if problems:
            d.stats.counts["fill_problems"] += len(problems)
            d.stats.problems.extend(f"{order.tag}: {p}" for p in problems)
            d.alert(Severity.CRITICAL, "Fill does not match its order", f"{order.tag}: {'; '.join(problems)}")
        for f in event.fills:
            symbol = f.contract.symbol
            order.filled[symbol] = order.filled.get(symbol, 0) + f.quantity
            group.fills.append(FillRecord(order.tag, symbol, f.quantity, f.price, f.fee, event.time))
            d.seen[symbol] += f.quantity
        d.stats.counts["fills" if event.status is OrderStatus.FILLED else "partial_fills"] += 1
        if order.cancel_at is not None and not order.done:
            d.stats.counts["cancel_races"] += 1
        if order.done:  # a fill after the order ended: real exposure nobody planned for
            d.alert(Severity.WARNING, "Late fill", f"{order.tag} after {order.outcome.value}")
            if group.terminal:
                group.move(GroupState.REPAIRING, event.time, f"late fill on {order.tag}")
                group.repair_mode = RepairMode.UNWIND
                group.repair_level = group.reported_units
                group.repair_started = event.time
                d.stats.counts["repairs_started"] += 1
            d.ladder.advance(group, event.time)
            return
        if event.status is OrderStatus.FILLED or order.complete():
            order.done = True
            order.outcome = Outcome.FILLED if order.complete() else Outcome.ENDED
            order.message = event.message
            self._fill_quality(group, order)
        elif group.state in (GroupState.ACCEPTED, GroupState.WORKING):
            group.move(GroupState.PARTIALLY_FILLED, event.time, f"{order.tag} partially filled")
        if order.done:
            d.ladder.advance(group, event.time)

    def _fill_quality(self, group: OrderGroup, order: OrderRecord) -> None:
        """Check the order's net fill against its limit; record slippage from the mid at sending."""
        d = self.desk
        contracts = group.contracts()
        fills = [
            LegFill(contracts[f.symbol], f.quantity, f.price, f.fee)
            for f in group.fills
            if f.tag == order.tag and f.symbol in contracts
        ]
        net = net_per_unit(order, fills)
        tick = combo_tick(group.intent.legs[0].contract)
        if net is not None and net > order.limit + tick / 2:
            problem = f"{order.tag}: net {net:+.4f} per unit is worse than the limit {order.limit:+.4f}"
            d.stats.counts["fill_problems"] += 1
            d.stats.problems.append(problem)
            d.alert(Severity.CRITICAL, "Fill worse than its limit", problem)
        if order.role is not Role.ENTRY:
            return
        first = next(iter(order.legs))
        units = round(order.filled.get(first, 0) * order.quantity / order.legs[first])
        if net is not None and units > 0:
            multiplier = group.intent.legs[0].contract.multiplier
            d.stats.quality.add(group.intent.strategy, order, net, units, multiplier)

    def _archive(self, now: datetime) -> None:
        """Forget groups finished over a day ago (no event can still come for them): the saved
        state stays the size of what is working, and their next tag numbers are kept."""
        d = self.desk
        for key, group in list(d.groups.items()):
            if not group.terminal or group.finished is None or now - group.finished < _RETAIN:
                continue
            if group.live_orders():
                continue
            d.sequences[key] = group.next_seq
            del d.groups[key]
            tags = {o.tag for o in group.orders}
            for tag in tags:
                d.by_tag.pop(tag, None)
            d.event_ids = {e for e in d.event_ids if e[0] not in tags}
