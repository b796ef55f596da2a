"""What the parts of execution share: the groups and their orders, the engine, the policy, the
figures, and the few moves every part makes (open a group, send an order, finish a group).

``OrderManager`` is the facade; the ladder (``execution.ladder``: timers, the price ladder,
retries), the repair (``execution.repair``), the presence checks (``execution.presence``:
idempotency before any re-send) and the brackets (``execution.bracket_watch``) each hold this desk
and reach one another through it, typed by the protocols below, so no part imports another.
Prices come from the snapshot execution was given last (``snapshot``), never from re-reading the
platform.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from core.ports import EventSink, Platform, Severity
from core.quote_screen import QuoteScreen, raw_chains
from core.settings import Settings
from core.types import (
    ComboOrder,
    GroupUpdate,
    Holding,
    Leg,
    MarketSnapshot,
    OptionQuote,
    OrderIntent,
    PositionGroup,
    UpdateKind,
)
from execution.brackets import BracketSpec, closing_reason
from execution.group import GroupState, OrderGroup, OrderRecord, Role, group_key, order_tag
from execution.policy import ExecutionPolicy
from execution.pricing import combo_limit, combo_tick
from execution.report import ExecutionStats


class LadderPart(Protocol):
    def tick(self, group: OrderGroup, now: datetime) -> None: ...

    def send_entry(self, group: OrderGroup, now: datetime) -> None: ...

    def advance(self, group: OrderGroup, now: datetime) -> None: ...

    def give_up(self, group: OrderGroup, now: datetime, balanced: int, why: str) -> None: ...

    def schedule_retry(self, group: OrderGroup, now: datetime) -> None: ...


class RepairPart(Protocol):
    def repair(self, group: OrderGroup, now: datetime) -> None: ...

    def order_failed(self, group: OrderGroup, order: OrderRecord, now: datetime) -> None: ...

    def close(self, group: OrderGroup, now: datetime, units: int, how: str) -> None: ...


class PresencePart(Protocol):
    def check(self, group: OrderGroup, order: OrderRecord, now: datetime, cancelling: bool) -> None: ...

    def baseline(self) -> tuple[Mapping[str, Holding], dict[str, int]]: ...

    def clear_to_send(self, group: OrderGroup, now: datetime) -> bool: ...

    def forget(self) -> None: ...


class BracketPart(Protocol):
    def watch(self, group: OrderGroup, now: datetime) -> None: ...

    def arm(self, group: PositionGroup, spec: BracketSpec, snapshot: MarketSnapshot) -> bool: ...

    def auto(self, group: OrderGroup, update: GroupUpdate) -> None: ...


class Desk:
    ladder: LadderPart
    repair: RepairPart
    presence: PresencePart
    brackets: BracketPart

    def __init__(
        self,
        settings: Settings,
        platform: Platform,
        sink: EventSink | None,
        policy: ExecutionPolicy,
        screen: QuoteScreen,
        jitter_seed: int,
    ) -> None:
        self.s = settings
        self.platform = platform
        self.sink = sink
        self.policy = policy
        self.screen = screen  # orders are priced only from quotes that pass it
        self.jitter_seed = jitter_seed
        self.stats = ExecutionStats()
        self.groups: dict[str, OrderGroup] = {}  # by "group_id|purpose"; finished ones kept a while
        self.by_tag: dict[str, tuple[OrderGroup, OrderRecord]] = {}
        self.seen: defaultdict[str, int] = defaultdict(int)  # signed contracts of every fill seen
        self.event_ids: set[tuple[str, str]] = set()
        self.sequences: dict[str, int] = {}  # next tag number of each group key no longer kept
        self.out: list[GroupUpdate] = []
        self.snapshot: MarketSnapshot | None = None

    # --- groups and orders --------------------------------------------------------------------------
    def new_group(self, intent: OrderIntent, now: datetime) -> OrderGroup:
        """A group for ``intent`` whose tags continue after every earlier one of its key."""
        key = group_key(intent.group_id, intent.purpose)
        group = OrderGroup(key, intent, now, next_seq=self.sequences.get(key, 0))
        current = self.groups.get(key)
        if current is not None:
            group.next_seq = max(group.next_seq, current.next_seq)
        self.groups[key] = group
        return group

    def quotes(self, group: OrderGroup) -> dict[str, OptionQuote] | None:
        """Usable quotes of every leg, from the snapshot execution was given; None if one lacks."""
        if self.snapshot is None:
            return None
        chains = raw_chains(self.snapshot.chains)  # priced off raw quotes that pass, never marked ones
        out = {}
        for symbol, contract in group.contracts().items():
            q = chains.quote(contract)
            if q is None or not self.screen.usable(q):
                return None
            out[symbol] = q
        return out

    def emit(
        self,
        group: OrderGroup,
        role: Role,
        legs: Sequence[Leg],
        quantity: int,
        limit: float,
        mid: float,
        natural: float,
        now: datetime,
        step: int,
    ) -> None:
        """Send one combo order of ``group`` under its next tag."""
        tick = combo_tick(legs[0].contract)
        limit = combo_limit(limit, all(leg.ratio < 0 for leg in legs), tick)
        tag = order_tag(group.group_id, group.purpose, group.next_seq)
        group.next_seq += 1
        contracts = {leg.contract.symbol: leg.ratio * quantity for leg in legs}
        holdings, seen = self.presence.baseline()
        order = OrderRecord(
            tag=tag,
            role=role,
            legs=contracts,
            quantity=quantity,
            limit=limit,
            step=step,
            sent=now,
            mid=mid,
            natural=natural,
            baseline_holdings={s: holdings[s].quantity if s in holdings else 0.0 for s in contracts},
            baseline_seen={s: seen.get(s, 0) for s in contracts},
        )
        group.orders.append(order)
        self.by_tag[tag] = (group, order)
        if role is Role.ENTRY:
            group.move(GroupState.WORKING, now, f"sent {tag} at {limit:+.2f}")
        self.stats.counts["orders_sent"] += 1
        self.platform.submit_combo(ComboOrder(tag, tuple(legs), quantity, limit, now))

    # --- endings --------------------------------------------------------------------------------------
    def finish(self, group: OrderGroup, state: GroupState, now: datetime, units: int, how: str) -> None:
        """End ``group`` in ``state`` and tell the orchestrator once."""
        repaired = group.repair_started is not None
        message = f"repaired ({how}): {units} of {group.intent.quantity} units" if repaired else how
        group.move(state, now, message)
        if repaired:
            self.repair.close(group, now, units, how)
        if group.reported:
            return
        group.reported, group.reported_units = True, units
        intent = group.intent
        reason = intent.reason
        if group.bracket is not None:
            reason = closing_reason(group.bracket, [int(f.tag.rsplit("|", 1)[1]) for f in group.fills])
        if state is GroupState.FILLED:
            update = GroupUpdate(
                intent.group_id, intent.purpose, UpdateKind.FILLED, now, units,
                group.cash_points() / units, group.fees(), reason, message,
                leg_prices=_leg_prices(group, units),
            )  # fmt: skip
            self.brackets.auto(group, update)
        else:
            kind = UpdateKind.UNWOUND if state is GroupState.UNWOUND else UpdateKind.ABANDONED
            update = GroupUpdate(
                intent.group_id, intent.purpose, kind, now, 0, 0.0, group.fees(), intent.reason, message
            )
        self.out.append(update)

    def end_if_expired(self, group: OrderGroup, now: datetime) -> bool:
        """A group with fills whose contracts expired has nothing left to trade (the broker settled
        the legs): end it with a critical alert instead of re-sending orders that cannot fill."""
        expired = sorted(leg.contract.symbol for leg in group.intent.legs if leg.contract.expiry < now.date())
        if not expired or group.terminal or group.live_orders() or not any(group.filled().values()):
            return False
        if group.balanced_units() == group.intent.quantity:
            return False
        group.expired = True
        self.alert(
            Severity.CRITICAL,
            "Contracts expired during a repair"
            if group.repair_started
            else "Contracts expired while working",
            f"{group.key}: filled {group.filled()} of {group.target()}; {', '.join(expired)} settled",
        )
        group.move(GroupState.REPAIRING, now, "contracts expired")
        self.finish(group, GroupState.ABANDONED, now, 0, "expired")
        return True

    def drain(self) -> list[GroupUpdate]:
        self.presence.forget()
        out, self.out = self.out, []
        return out

    # --- output ---------------------------------------------------------------------------------------
    def alert(self, severity: Severity, title: str, message: str) -> None:
        self.platform.notify(severity, title, message)
        if self.sink is not None:
            self.sink.record(
                "alert", self.platform.now(), {"severity": severity.value, "title": title, "message": message}
            )

    def record(self, kind: str, now: datetime, payload: dict[str, object]) -> None:
        if self.sink is not None:
            self.sink.record(kind, now, payload)


def _leg_prices(group: OrderGroup, units: int) -> tuple[float, ...]:
    """Per-contract price of each leg that makes the legs add up to the group's net price."""
    cash: defaultdict[str, float] = defaultdict(float)
    for f in group.fills:
        cash[f.symbol] += f.quantity * f.price
    return tuple(cash[leg.contract.symbol] / (leg.ratio * units) for leg in group.intent.legs)
