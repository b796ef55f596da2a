"""Works every intent as an order group until it is filled or flat, never half-done.

Each intent becomes an ``OrderGroup`` (see ``execution.group`` for the states).  Its combo limit
order starts at mid and steps toward the natural price every ``policy.step`` up to the maximum
concession; entries give up after the ladder, exits stay at natural until they fill.  Repricing
is cancel-then-replace: nothing new is sent while an order of the group may still be working, so
a cancel race can end in a fill of the old order but never in two fills.

When the legs disagree (a partial combo fill, a late fill after a cancel) the group repairs:
complete the missing legs while the price stays within a bounded slippage of the entry, else
unwind what filled; a critical alert fires if exposure remains past the repair deadline.
Rejections are classified (transient ones retry with capped, jittered exponential backoff up to a
limit), silent drops are detected by an acknowledgement timeout, and before any re-send the
broker's open orders and the account's holdings are checked so a re-send never duplicates an
order the broker already has.  Every transition is saved to the state store.
Tags are ``group_id|purpose|n``: deterministic, so a restart recognises its own orders.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from core.costs import net_mid, net_natural
from core.ports import EventSink, Platform, Severity
from core.quote_screen import QuoteScreen
from core.settings import Settings
from core.types import (
    ComboOrder,
    GroupStatus,
    GroupUpdate,
    Holding,
    Leg,
    LegFill,
    MarketSnapshot,
    OptionQuote,
    OrderEvent,
    OrderIntent,
    OrderStatus,
    PositionGroup,
    Purpose,
    UpdateKind,
)
from execution.brackets import BracketSpec, closing_reason, limit_for, observe, spec_from_notes
from execution.group import (
    FillRecord,
    GroupState,
    OrderGroup,
    OrderRecord,
    Role,
    group_key,
    order_tag,
)
from execution.policy import ExecutionPolicy
from execution.pricing import combo_limit, combo_tick, ladder_price
from execution.repair import build_order, completion_net, levels, moves_to
from execution.report import ExecutionStats
from execution.retry import Rejection, backoff_delay, classify_rejection
from execution.state import ExecutionState
from execution.validation import fill_problems, net_per_unit

__all__ = ["OrderManager", "leg_fill_prices", "order_tag"]

_RETAIN = timedelta(days=1)  # finished groups are kept this long for late events


class OrderManager:
    """The ``core.ports.Executor`` both engines use."""

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
        self.screen = screen or QuoteScreen(settings)  # orders are priced only from quotes that pass it
        self.platform = platform
        self.sink = sink
        self.policy = policy or ExecutionPolicy.from_settings(settings)
        self.jitter_seed = jitter_seed
        self.stats = ExecutionStats()
        self.groups: dict[str, OrderGroup] = {}  # by "group_id|purpose"; finished groups stay for late events
        self._by_tag: dict[str, tuple[OrderGroup, OrderRecord]] = {}
        self._seen: defaultdict[str, int] = defaultdict(int)  # signed contracts of every fill seen
        self._event_ids: set[tuple[str, str]] = set()
        self.sequences: dict[str, int] = {}  # next tag number of each group key no longer kept
        self._out: list[GroupUpdate] = []
        self._open_tags: set[str] | None = None
        self._pair: tuple[Mapping[str, Holding], dict[str, int]] | None = None

    # --- state ------------------------------------------------------------------------------------
    def state(self) -> ExecutionState:
        return ExecutionState(
            list(self.groups.values()), self.sequences, dict(self._seen), self._event_ids, self.stats
        )

    def restore(self, state: ExecutionState) -> None:
        """Continue exactly where the state was saved; reconciliation checks it against the engine."""
        self.groups = {g.key: g for g in state.groups}
        self._by_tag = {o.tag: (g, o) for g in state.groups for o in g.orders}
        self.sequences = dict(state.sequences)
        self._seen = defaultdict(int, state.seen)
        self._event_ids = set(state.event_ids)
        self.stats = state.stats

    # --- Executor ---------------------------------------------------------------------------------
    def is_working(self, group_id: str) -> bool:
        return any(
            not g.terminal
            for g in (self.groups.get(group_key(group_id, p)) for p in Purpose)
            if g is not None
        )

    def submit(self, intent: OrderIntent, snapshot: MarketSnapshot) -> None:
        self._pair = None
        key = group_key(intent.group_id, intent.purpose)
        current = self.groups.get(key)
        if current is not None and not current.terminal:
            self._alert(Severity.WARNING, "Intent for a group already working", f"{key}: ignored")
            return
        group = self._new_group(intent, snapshot.time)
        self._send_entry(group, snapshot.time)

    def _new_group(self, intent: OrderIntent, now: datetime) -> OrderGroup:
        """A group for ``intent`` whose tags continue after every earlier one of its key."""
        key = group_key(intent.group_id, intent.purpose)
        group = OrderGroup(key, intent, now, next_seq=self.sequences.get(key, 0))
        current = self.groups.get(key)
        if current is not None:
            group.next_seq = max(group.next_seq, current.next_seq)
        self.groups[key] = group
        return group

    def on_step(self, snapshot: MarketSnapshot) -> Sequence[GroupUpdate]:
        self._open_tags, self._pair = None, None
        self._archive(snapshot.time)
        for group in [g for g in self.groups.values() if not g.terminal]:
            self._tick(group, snapshot.time)
        self._open_tags = None
        return self._drain()

    def on_order_event(self, event: OrderEvent) -> Sequence[GroupUpdate]:
        self._pair = None
        found = self._by_tag.get(event.tag)
        if found is None:
            if event.fills:
                self._alert(Severity.CRITICAL, "Fill for an order execution did not send", f"{event}")
            return self._drain()
        group, order = found
        if event.event_id:
            if (event.tag, event.event_id) in self._event_ids or event.event_id in order.event_ids:
                self.stats.counts["duplicate_events"] += 1
                return self._drain()
            self._event_ids.add((event.tag, event.event_id))
            if event.fills:
                order.event_ids.append(event.event_id)  # saved with the fill: survives a restart
        if event.status is OrderStatus.SUBMITTED:
            if not order.acked:
                order.acked = True
                if group.state is GroupState.ACCEPTED:
                    group.move(GroupState.WORKING, event.time, f"{order.tag} acknowledged")
        elif event.status in (OrderStatus.FILLED, OrderStatus.PARTIALLY_FILLED):
            self._on_fill(group, order, event)
        elif not order.done:
            order.done = True
            order.outcome = "cancelled" if event.status is OrderStatus.CANCELLED else "rejected"
            order.message = event.message
            self._advance(group, event.time)
        return self._drain()

    def arm_bracket(self, group: PositionGroup, spec: BracketSpec, snapshot: MarketSnapshot) -> bool:
        """Rest ``spec``'s profit target and watch its stops for an open position group.

        While the bracket is armed the group counts as working (its exit is in hand); it ends
        when either side fills.  False (and an alert) if the group already has an exit working.
        """
        key = group_key(group.group_id, Purpose.CLOSE)
        current = self.groups.get(key)
        if current is not None and not current.terminal:
            self._alert(Severity.WARNING, "Bracket for a group already exiting", f"{key}: not armed")
            return False
        legs = tuple(Leg(leg.contract, -leg.ratio) for leg in group.legs)
        quotes = [snapshot.chains.quote(leg.contract) for leg in legs]
        valid = [q for q in quotes if q is not None]
        priced = len(valid) == len(legs)
        mid = net_mid(legs, valid) if priced else 0.0
        natural = net_natural(legs, valid) if priced else 0.0
        intent = OrderIntent(
            group.group_id, group.strategy, Purpose.CLOSE, legs, group.quantity, mid, natural, 0.0,
            "profit_target", snapshot.time,
        )  # fmt: skip
        og = self._new_group(intent, snapshot.time)
        og.bracket = spec.state()
        self._record("bracket_armed", snapshot.time, {"group": key, **spec.state()})
        if spec.target is not None:
            self._send_entry(og, snapshot.time)
        else:
            og.move(GroupState.WORKING, snapshot.time, "stop monitor armed")
        return True

    # --- reports ------------------------------------------------------------------------------------
    def residual_exposure(self) -> list[dict[str, object]]:
        """Groups whose legs disagree right now (unhedged exposure), with their fills per leg."""
        out: list[dict[str, object]] = []
        for g in self.groups.values():
            if g.balanced_units() is None and not g.expired:
                out.append({"group": g.key, "state": g.state.value, "filled": g.filled()})
        return out

    def report(self) -> dict[str, object]:
        return self.stats.to_json(self.residual_exposure())

    # --- events -------------------------------------------------------------------------------------
    def _on_fill(self, group: OrderGroup, order: OrderRecord, event: OrderEvent) -> None:
        if order.done and order.outcome == "filled" and not event.event_id and order.complete():
            self.stats.counts["duplicate_events"] += 1  # no id to tell: a complete order cannot fill again
            return
        problems = fill_problems(order, event.fills)
        if problems:
            self.stats.counts["fill_problems"] += len(problems)
            self.stats.problems.extend(f"{order.tag}: {p}" for p in problems)
            self._alert(
                Severity.CRITICAL, "Fill does not match its order", f"{order.tag}: {'; '.join(problems)}"
            )
        for f in event.fills:
            symbol = f.contract.symbol
            order.filled[symbol] = order.filled.get(symbol, 0) + f.quantity
            group.fills.append(FillRecord(order.tag, symbol, f.quantity, f.price, f.fee, event.time))
            self._seen[symbol] += f.quantity
        self.stats.counts["fills" if event.status is OrderStatus.FILLED else "partial_fills"] += 1
        if order.cancel_at is not None and not order.done:
            self.stats.counts["cancel_races"] += 1
        if order.done:  # a fill after the order ended: real exposure nobody planned for
            self._alert(Severity.WARNING, "Late fill", f"{order.tag} after {order.outcome}")
            if group.terminal:
                group.move(GroupState.REPAIRING, event.time, f"late fill on {order.tag}")
                group.repair_mode = "unwind"
                group.repair_level = group.reported_units
                group.repair_started = event.time
                self.stats.counts["repairs_started"] += 1
            self._advance(group, event.time)
            return
        if event.status is OrderStatus.FILLED or order.complete():
            order.done = True
            order.outcome = "filled" if order.complete() else "ended"
            order.message = event.message
            self._fill_quality(group, order)
        elif group.state in (GroupState.ACCEPTED, GroupState.WORKING):
            group.move(GroupState.PARTIALLY_FILLED, event.time, f"{order.tag} partially filled")
        if order.done:
            self._advance(group, event.time)

    def _fill_quality(self, group: OrderGroup, order: OrderRecord) -> None:
        """Check the order's net fill against its limit; record slippage from the mid at sending."""
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
            self.stats.counts["fill_problems"] += 1
            self.stats.problems.append(problem)
            self._alert(Severity.CRITICAL, "Fill worse than its limit", problem)
        if order.role is not Role.ENTRY:
            return
        first = next(iter(order.legs))
        units = round(order.filled.get(first, 0) * order.quantity / order.legs[first])
        if net is not None and units > 0:
            multiplier = group.intent.legs[0].contract.multiplier
            self.stats.quality.add(group.intent.strategy, order, net, units, multiplier)

    # --- timers -------------------------------------------------------------------------------------
    def _tick(self, group: OrderGroup, now: datetime) -> None:
        resting = group.bracket is not None and not group.bracket["fired"]
        if resting:
            self._watch_bracket(group, now)
            resting = not group.bracket["fired"]  # type: ignore[index]
        for order in group.live_orders():
            waited = now - order.sent
            if order.cancel_at is not None:
                if now - order.cancel_at >= self.policy.ack_timeout:
                    self._check_presence(group, order, now, cancelling=True)
            elif not order.acked and waited >= self.policy.ack_timeout:
                self._check_presence(group, order, now, cancelling=False)
            if order.done or order.cancel_at is not None or (resting and order.role is Role.ENTRY):
                continue
            if waited >= (self.policy.repair_step if order.role is not Role.ENTRY else self.policy.step):
                order.cancel_at = now  # not saved: after a restart every live order is checked anyway
                self.platform.cancel(order.tag)
        if group.terminal:
            return
        if not group.live_orders():
            if group.state is GroupState.RETRY_WAIT and group.retry_at is not None and now >= group.retry_at:
                self._resume(group, now)
            elif group.state is GroupState.REPAIRING:
                self._repair(group, now)
        if (
            group.repair_started is not None
            and not group.terminal
            and not group.deadline_alerted
            and now - group.repair_started >= self.policy.repair_deadline
            and group.balanced_units() is None
        ):
            group.deadline_alerted = True
            self.stats.counts["deadline_alerts"] += 1
            self._alert(
                Severity.CRITICAL,
                "Unhedged legs past the repair deadline",
                f"{group.key}: filled {group.filled()} of {group.target()} since {group.repair_started}",
            )

    def _watch_bracket(self, group: OrderGroup, now: datetime) -> None:
        """The synthetic stop: fire on the closing mark, cancel the resting target (one cancels the other)."""
        state = group.bracket
        assert state is not None
        quotes = self._quotes(group)
        if quotes is None:
            return
        mark = sum(leg.ratio * quotes[leg.contract.symbol].mid for leg in group.intent.legs)
        kind = observe(state, mark)
        if kind is None:
            return
        state.update(fired=True, trigger=mark, exit_reason=kind, fired_seq=group.next_seq)
        group.step = self.policy.max_steps
        self._record("bracket_fired", now, {"group": group.key, "kind": kind, "mark": mark})
        live = group.live_orders()
        for order in live:
            if order.cancel_at is None:
                order.cancel_at = now
                self.platform.cancel(order.tag)
        if not live:
            self._send_entry(group, now)

    def _check_presence(self, group: OrderGroup, order: OrderRecord, now: datetime, cancelling: bool) -> None:
        """An order that went quiet: still at the broker, or gone without a word?"""
        if order.tag in self._tags_at_broker():
            order.acked = True
            if cancelling:
                order.cancel_at = now
                self.platform.cancel(order.tag)
            return
        if not self._holdings_explained(order):
            if order.unexplained_since is None:
                order.unexplained_since = now
                self.stats.counts["unexplained_holdings"] += 1
            elif now - order.unexplained_since >= self.policy.unexplained_alert:
                order.unexplained_since = now  # alert again after another window, not every step
                self._alert(
                    Severity.CRITICAL,
                    "Holdings changed without a fill event",
                    f"{order.tag}: the broker no longer has the order; not re-sending until explained",
                )
            return
        order.done = True
        order.outcome = "cancelled" if cancelling else "lost"
        order.message = "no confirmation; not at the broker"
        if not cancelling:
            self.stats.counts["lost_orders"] += 1
        self._advance(group, now)

    def _baseline(self) -> tuple[Mapping[str, Holding], dict[str, int]]:
        """Holdings and the fills seen, read together once per call: the pair an order's
        idempotency check compares against later (reading the account per order is costly)."""
        if self._pair is None:
            self._pair = (self.platform.account().holdings, dict(self._seen))
        return self._pair

    def _tags_at_broker(self) -> set[str]:
        if self._open_tags is None:
            self._open_tags = set(self.platform.open_order_tags())
        return self._open_tags

    def _holdings_explained(self, order: OrderRecord) -> bool:
        holdings = self.platform.account().holdings
        for symbol in order.legs:
            held = holdings[symbol].quantity if symbol in holdings else 0.0
            moved = held - order.baseline_holdings.get(symbol, 0.0)
            seen = self._seen[symbol] - order.baseline_seen.get(symbol, 0)
            if abs(moved - seen) > 1e-9:
                return False
        return True

    # --- decisions ----------------------------------------------------------------------------------
    def _end_if_expired(self, group: OrderGroup, now: datetime) -> bool:
        """A group with fills whose contracts expired has nothing left to trade (the broker settled
        the legs): end it with a critical alert instead of re-sending orders that cannot fill."""
        expired = sorted(leg.contract.symbol for leg in group.intent.legs if leg.contract.expiry < now.date())
        if not expired or group.terminal or group.live_orders() or not any(group.filled().values()):
            return False
        if group.balanced_units() == group.intent.quantity:
            return False
        group.expired = True
        self._alert(
            Severity.CRITICAL,
            "Contracts expired during a repair"
            if group.repair_started
            else "Contracts expired while working",
            f"{group.key}: filled {group.filled()} of {group.target()}; {', '.join(expired)} settled",
        )
        group.move(GroupState.REPAIRING, now, "contracts expired")
        self._finish(group, GroupState.ABANDONED, now, 0, "expired")
        return True

    def _advance(self, group: OrderGroup, now: datetime) -> None:
        """Decide the next move once no order of the group is working."""
        if group.live_orders() or self._end_if_expired(group, now):
            return
        n = group.intent.quantity
        balanced = group.balanced_units()
        last = group.orders[-1] if group.orders else None
        is_exit = group.purpose is Purpose.CLOSE
        if group.state is GroupState.REPAIRING or balanced is None:
            if last is not None and last.role is not Role.ENTRY and last.outcome in ("rejected", "lost"):
                self._repair_order_failed(group, last, now)
            self._repair(group, now)
            return
        if balanced == n:
            self._finish(group, GroupState.FILLED, now, n, f"filled {n} units")
            return
        if last is None:
            self._send_entry(group, now)
            return
        if last.outcome == "cancelled" and last.cancel_at is None:
            # The broker cancelled on its own (an expired contract, a halt): a new price won't help.
            self._give_up(group, now, balanced, f"cancelled by the broker: {last.message}")
            return
        if last.outcome in ("cancelled", "filled", "ended"):
            if not is_exit and group.step >= self.policy.max_steps:
                self._give_up(group, now, balanced, f"not filled after {group.step + 1} prices")
                return
            group.step = min(group.step + 1, self.policy.max_steps)
            group.attempts = 0
            self._send_entry(group, now)
            return
        # rejected, or lost without a trace
        if last.outcome == "lost":
            kind = Rejection.TRANSIENT
        else:
            kind = classify_rejection(last.message, reduces_risk=is_exit)
            self.stats.counts[f"rejections_{kind.value}"] += 1
        group.attempts += 1
        must_finish = is_exit and balanced > 0  # a half-closed position keeps trying
        if not must_finish and (kind is Rejection.PERMANENT or group.attempts >= self.policy.max_attempts):
            why = last.message if kind is Rejection.PERMANENT else f"gave up after {group.attempts} attempts"
            self._give_up(group, now, balanced, f"{last.outcome}: {why}")
            return
        self._schedule_retry(group, now)

    def _repair_order_failed(self, group: OrderGroup, order: OrderRecord, now: datetime) -> None:
        """A repair order was rejected or lost: unwind instead of completing, or back off and retry."""
        kind = Rejection.TRANSIENT
        if order.outcome == "rejected":
            kind = classify_rejection(order.message, reduces_risk=order.role is Role.UNWIND)
            self.stats.counts[f"rejections_{kind.value}"] += 1
        if kind is Rejection.PERMANENT and group.repair_mode == "complete" and group.purpose is Purpose.OPEN:
            group.repair_mode = "unwind"  # e.g. no buying power to complete: take the legs off instead
            return
        if kind is Rejection.PERMANENT:
            self._alert(Severity.CRITICAL, "Repair order rejected", f"{order.tag}: {order.message}; retrying")
        group.attempts += 1
        self._schedule_retry(group, now)

    def _schedule_retry(self, group: OrderGroup, now: datetime) -> None:
        delay = backoff_delay(
            group.attempts,
            self.policy.backoff_base,
            self.policy.backoff_cap,
            self.policy.backoff_jitter,
            random.Random(f"{self.jitter_seed}|{group.key}|{group.attempts}"),  # stateless, deterministic
        )
        group.retry_at = now + delay
        self.stats.counts["retries"] += 1
        if group.state is not GroupState.REPAIRING:
            group.move(GroupState.RETRY_WAIT, now, f"retry in {delay.total_seconds():.0f}s")

    def _resume(self, group: OrderGroup, now: datetime) -> None:
        if not self._clear_to_send(group, now):
            return
        group.retry_at = None
        if group.repair_mode:
            self._repair(group, now)
        else:
            self._send_entry(group, now)

    def _clear_to_send(self, group: OrderGroup, now: datetime) -> bool:
        """Idempotency: none of the group's orders may still be at the broker before a re-send."""
        at_broker = set(self.platform.open_order_tags())  # fresh: a cached list could be stale here
        alive = [o for o in group.orders if o.tag in at_broker]
        if not alive:
            return True
        for order in alive:  # an order we wrote off turned up: take it down and look again later
            order.done, order.acked, order.cancel_at = False, True, now
            order.outcome = ""
            self.platform.cancel(order.tag)
        return False

    def _give_up(self, group: OrderGroup, now: datetime, balanced: int, why: str) -> None:
        if balanced > 0 and group.purpose is Purpose.OPEN:
            self._finish(
                group, GroupState.FILLED, now, balanced, f"{balanced} of {group.intent.quantity} units; {why}"
            )
        elif balanced > 0:
            group.attempts = 0
            self._schedule_retry(group, now)  # a half-closed position is never given up
        else:
            self._finish(group, GroupState.ABANDONED, now, 0, why)

    # --- repair -------------------------------------------------------------------------------------
    def _repair(self, group: OrderGroup, now: datetime) -> None:
        if group.repair_started is None:
            group.repair_started = now
            self.stats.counts["repairs_started"] += 1
            self._record("repair_started", now, {"group": group.key, "filled": group.filled()})
        group.move(GroupState.REPAIRING, now, "legs filled unevenly")
        if self._end_if_expired(group, now):
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
                    self._finish(group, state, now, balanced, "late_fill_reversed")
                    return
            elif balanced == n:
                self._finish(group, GroupState.FILLED, now, n, "completed")
                return
            elif not is_exit and (not group.repair_mode or balanced == group.repair_level):
                state = GroupState.UNWOUND if balanced == 0 else GroupState.FILLED
                self._finish(group, state, now, balanced, "unwound" if balanced == 0 else "reduced")
                return
        if not self._clear_to_send(group, now):
            return
        quotes = self._quotes(group)
        if quotes is None:
            return  # no prices: try again next step (the deadline alert watches the clock)
        ratios, filled = group.ratios(), group.filled()
        up, down = levels(ratios, filled, n)
        bound = group.intent.natural_price + self.policy.repair_slippage * abs(
            group.intent.natural_price - group.intent.reference_price
        )
        tick = combo_tick(group.intent.legs[0].contract)
        if group.reported:
            mode, level = "unwind", group.reported_units
        elif is_exit:
            mode, level = "complete", n
        else:
            mode = group.repair_mode
            if mode != "unwind":
                late = now - group.repair_started >= self.policy.repair_complete_window
                net = (
                    completion_net(group.cash_points(), moves_to(ratios, filled, up), quotes, up)
                    if up
                    else 0.0
                )
                mode = "complete" if up > 0 and not late and net <= bound + 1e-9 else "unwind"
            level = up if mode == "complete" else down
        moves = moves_to(ratios, filled, level)
        if not moves:
            return
        max_limit = None
        if mode == "complete" and not is_exit and not group.reported:
            units = _gcd_units(moves)
            max_limit = (bound * level - group.cash_points()) / units
        order = build_order(
            moves, group.contracts(), quotes, tick, self.policy.repair_cushion_ticks, max_limit
        )
        if max_limit is not None and order.limit < order.natural - 1e-9:
            mode, level = "unwind", down  # completion no longer fits the bound: flatten instead
            moves = moves_to(ratios, filled, level)
            order = build_order(moves, group.contracts(), quotes, tick, self.policy.repair_cushion_ticks)
        if mode != group.repair_mode:
            self._record(
                "repair_plan", now, {"group": group.key, "mode": mode, "level": level, "moves": moves}
            )
        group.repair_mode, group.repair_level = mode, level
        role = Role.COMPLETE if mode == "complete" else Role.UNWIND
        self._emit(group, role, order.legs, order.quantity, order.limit, order.mid, order.natural, now, 0)

    # --- sending ------------------------------------------------------------------------------------
    def _send_entry(self, group: OrderGroup, now: datetime) -> None:
        intent = group.intent
        units = intent.quantity - (group.balanced_units() or 0)
        quotes = self._quotes(group)
        if quotes is None:
            if group.orders or intent.purpose is Purpose.CLOSE:  # an exit's intent may carry marks
                self._give_up(group, now, group.balanced_units() or 0, "no usable quotes to price the order")
                return
            mid, natural = intent.reference_price, intent.natural_price
        else:
            ordered = [quotes[leg.contract.symbol] for leg in intent.legs]
            mid, natural = net_mid(intent.legs, ordered), net_natural(intent.legs, ordered)
        concession = 1.0 if intent.purpose is Purpose.CLOSE else self.policy.max_concession
        tick = combo_tick(intent.legs[0].contract)
        limit = ladder_price(mid, natural, group.step, self.policy.max_steps, concession, tick)
        if group.bracket is not None:
            limit = limit_for(group.bracket, limit, tick)
        self._emit(group, Role.ENTRY, intent.legs, units, limit, mid, natural, now, group.step)

    def _emit(
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
        tick = combo_tick(legs[0].contract)
        limit = combo_limit(limit, all(leg.ratio < 0 for leg in legs), tick)
        tag = order_tag(group.group_id, group.purpose, group.next_seq)
        group.next_seq += 1
        contracts = {leg.contract.symbol: leg.ratio * quantity for leg in legs}
        holdings, seen = self._baseline()
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
        self._by_tag[tag] = (group, order)
        if role is Role.ENTRY:
            group.move(GroupState.WORKING, now, f"sent {tag} at {limit:+.2f}")
        self.stats.counts["orders_sent"] += 1
        self.platform.submit_combo(ComboOrder(tag, tuple(legs), quantity, limit, now))

    # --- endings ------------------------------------------------------------------------------------
    def _finish(self, group: OrderGroup, state: GroupState, now: datetime, units: int, how: str) -> None:
        repaired = group.repair_started is not None
        message = f"repaired ({how}): {units} of {group.intent.quantity} units" if repaired else how
        group.move(state, now, message)
        if repaired:
            self._close_repair(group, now, units, how)
        if group.reported:
            return
        group.reported, group.reported_units = True, units
        intent = group.intent
        reason = intent.reason if group.bracket is None else _bracket_reason(group)
        if state is GroupState.FILLED:
            update = GroupUpdate(
                intent.group_id, intent.purpose, UpdateKind.FILLED, now, units,
                group.cash_points() / units, group.fees(), reason, message,
                leg_prices=self._leg_prices(group, units),
            )  # fmt: skip
            self._auto_bracket(group, update)
        else:
            kind = UpdateKind.UNWOUND if state is GroupState.UNWOUND else UpdateKind.ABANDONED
            update = GroupUpdate(
                intent.group_id, intent.purpose, kind, now, 0, 0.0, group.fees(), intent.reason, message
            )
        self._out.append(update)

    def _auto_bracket(self, group: OrderGroup, update: GroupUpdate) -> None:
        """Arm the bracket an opening intent asked for in its notes (single-part groups only)."""
        intent = group.intent
        if intent.purpose is not Purpose.OPEN or getattr(intent, "parts", ()):
            return
        try:
            spec = spec_from_notes(intent.notes, update.net_price, intent.legs)
        except ValueError as exc:
            self._alert(Severity.WARNING, "Bracket not armed", f"{group.key}: {exc}")
            return
        if spec is None:
            return
        position = PositionGroup(
            intent.group_id, intent.strategy, intent.legs, update.quantity, GroupStatus.OPEN,
            opened_at=update.time, entry_price=update.net_price,
        )  # fmt: skip
        self.arm_bracket(position, spec, self.platform.snapshot())

    def _close_repair(self, group: OrderGroup, now: datetime, units: int, how: str) -> None:
        repair_tags = {o.tag for o in group.orders if o.role is not Role.ENTRY}
        repair_fills = [f for f in group.fills if f.tag in repair_tags]
        multiplier = group.intent.legs[0].contract.multiplier
        moved: defaultdict[str, int] = defaultdict(int)
        for f in repair_fills:
            moved[f.symbol] += f.quantity
        self.stats.counts[f"repairs_{how}"] += 1
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
        self.stats.repairs.append(record)
        self._record("repair_finished", now, record)
        group.repair_started = None

    @staticmethod
    def _leg_prices(group: OrderGroup, units: int) -> tuple[float, ...]:
        """Per-contract price of each leg that makes the legs add up to the group's net price."""
        cash: defaultdict[str, float] = defaultdict(float)
        for f in group.fills:
            cash[f.symbol] += f.quantity * f.price
        return tuple(cash[leg.contract.symbol] / (leg.ratio * units) for leg in group.intent.legs)

    # --- plumbing -----------------------------------------------------------------------------------
    def _quotes(self, group: OrderGroup) -> dict[str, OptionQuote] | None:
        chains = self.platform.snapshot().chains
        out = {}
        for symbol, contract in group.contracts().items():
            q = chains.quote(contract)
            if q is None or not self.screen.usable(q):
                return None
            out[symbol] = q
        return out

    def _archive(self, now: datetime) -> None:
        """Forget groups finished over a day ago (no event can still come for them): the saved
        state stays the size of what is working, and their next tag numbers are kept."""
        for key, group in list(self.groups.items()):
            if group.terminal and group.finished is not None and now - group.finished >= _RETAIN:
                if group.live_orders():
                    continue
                self.sequences[key] = group.next_seq
                del self.groups[key]
                tags = {o.tag for o in group.orders}
                for tag in tags:
                    self._by_tag.pop(tag, None)
                self._event_ids = {e for e in self._event_ids if e[0] not in tags}

    def _drain(self) -> list[GroupUpdate]:
        self._pair = None
        out, self._out = self._out, []
        return out

    def _alert(self, severity: Severity, title: str, message: str) -> None:
        self.platform.notify(severity, title, message)
        if self.sink is not None:
            self.sink.record(
                "alert",
                self.platform.now(),
                {"severity": severity.value, "title": title, "message": message},
            )

    def _record(self, kind: str, now: datetime, payload: dict[str, object]) -> None:
        if self.sink is not None:
            self.sink.record(kind, now, payload)


def _bracket_reason(group: OrderGroup) -> str:
    assert group.bracket is not None
    return closing_reason(group.bracket, [int(f.tag.rsplit("|", 1)[1]) for f in group.fills])


def _gcd_units(moves: dict[str, int]) -> int:
    from math import gcd

    out = 0
    for q in moves.values():
        out = gcd(out, abs(q))
    return out or 1


def leg_fill_prices(legs: Sequence[Leg], fills: Sequence[LegFill]) -> tuple[float, ...]:
    """Volume-weighted fill price per contract of each leg, or () if a leg has no fill."""
    prices = []
    for leg in legs:
        matched = [f for f in fills if f.contract == leg.contract and f.quantity]
        size = sum(abs(f.quantity) for f in matched)
        if not size:
            return ()
        prices.append(sum(abs(f.quantity) * f.price for f in matched) / size)
    return tuple(prices)
