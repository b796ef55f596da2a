"""The price ladder, the timers and the retries of an order group.

An entry starts at mid and steps toward the natural price every ``policy.step`` up to the maximum
concession; entries give up after the ladder, exits stay at natural until they fill.  An intent's
``worst_price`` note caps every limit of its ladder (the price its strategy decided at: a profit
target's exit never realises less than its target); such an exit gives up after its ladder like an
entry, and its position stays open.  Repricing is cancel-then-replace: nothing new is sent while an
order of the group may still be working, so a cancel race can end in a fill of the old order but
never in two fills.  Rejections are classified
(transient ones retry with capped, jittered exponential backoff up to a limit); an order that went
quiet is handed to the presence checks.
"""

from __future__ import annotations

import random
from datetime import datetime

from core.costs import WORST_PRICE, net_mid, net_natural
from core.ports import Severity
from core.ticks import worst_limit
from core.types import Purpose
from execution.brackets import limit_for
from execution.desk import Desk
from execution.group import GroupState, OrderGroup, Outcome, RepairMode, Role
from execution.pricing import combo_tick, ladder_price
from execution.retry import Rejection, backoff_delay, classify_rejection


class Ladder:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    # --- timers -------------------------------------------------------------------------------------
    def tick(self, group: OrderGroup, now: datetime) -> None:
        d, policy = self.desk, self.desk.policy
        resting = group.bracket is not None and not group.bracket.fired
        if resting:
            d.brackets.watch(group, now)
            resting = group.bracket is not None and not group.bracket.fired
        for order in group.live_orders():
            waited = now - order.sent
            if order.cancel_at is not None:
                if now - order.cancel_at >= policy.ack_timeout:
                    d.presence.check(group, order, now, cancelling=True)
            elif not order.acked and waited >= policy.ack_timeout:
                d.presence.check(group, order, now, cancelling=False)
            if order.done or order.cancel_at is not None or (resting and order.role is Role.ENTRY):
                continue
            if waited >= (policy.repair_step if order.role is not Role.ENTRY else policy.step):
                order.cancel_at = now
                d.platform.cancel(order.tag)
        if group.terminal:
            return
        if not group.live_orders():
            if group.state is GroupState.RETRY_WAIT and group.retry_at is not None and now >= group.retry_at:
                self._resume(group, now)
            elif group.state is GroupState.REPAIRING:
                d.repair.repair(group, now)
        if (
            group.repair_started is not None
            and not group.terminal
            and not group.deadline_alerted
            and now - group.repair_started >= policy.repair_deadline
            and group.balanced_units() is None
        ):
            group.deadline_alerted = True
            d.stats.counts["deadline_alerts"] += 1
            d.alert(
                Severity.CRITICAL,
                "Unhedged legs past the repair deadline",
                f"{group.key}: filled {group.filled()} of {group.target()} since {group.repair_started}",
            )

    # --- sending ------------------------------------------------------------------------------------
    def send_entry(self, group: OrderGroup, now: datetime) -> None:
        d = self.desk
        intent = group.intent
        units = intent.quantity - (group.balanced_units() or 0)
        quotes = d.quotes(group)
        if quotes is None:
            if group.orders or intent.purpose is Purpose.CLOSE:  # an exit's intent may carry marks
                self.give_up(group, now, group.balanced_units() or 0, "no usable quotes to price the order")
                return
            mid, natural = intent.reference_price, intent.natural_price
        else:
            ordered = [quotes[leg.contract.symbol] for leg in intent.legs]
            mid, natural = net_mid(intent.legs, ordered), net_natural(intent.legs, ordered)
        concession = 1.0 if intent.purpose is Purpose.CLOSE else d.policy.max_concession
        tick = combo_tick(intent.legs[0].contract)
        limit = ladder_price(mid, natural, group.step, d.policy.max_steps, concession, tick)
        if WORST_PRICE in intent.notes:  # never beyond the price its strategy's decision was made at
            limit = worst_limit(limit, intent.notes[WORST_PRICE], tick)
        if group.bracket is not None:
            limit = limit_for(group.bracket, limit, tick)
        d.emit(group, Role.ENTRY, intent.legs, units, limit, mid, natural, now, group.step)

    # --- decisions ----------------------------------------------------------------------------------
    def advance(self, group: OrderGroup, now: datetime) -> None:
        """Decide the next move once no order of the group is working."""
        d, policy = self.desk, self.desk.policy
        if group.live_orders() or d.end_if_expired(group, now):
            return
        n = group.intent.quantity
        balanced = group.balanced_units()
        last = group.orders[-1] if group.orders else None
        is_exit = group.purpose is Purpose.CLOSE
        if group.state is GroupState.REPAIRING or balanced is None:
            if (
                last is not None
                and last.role is not Role.ENTRY
                and last.outcome in (Outcome.REJECTED, Outcome.LOST)
            ):
                d.repair.order_failed(group, last, now)
            d.repair.repair(group, now)
            return
        if balanced == n:
            d.finish(group, GroupState.FILLED, now, n, f"filled {n} units")
            return
        if last is None:
            self.send_entry(group, now)
            return
        if last.outcome is Outcome.CANCELLED and last.cancel_at is None:
            # The broker cancelled on its own (an expired contract, a halt): a new price won't help.
            self.give_up(group, now, balanced, f"cancelled by the broker: {last.message}")
            return
        if last.outcome in (Outcome.CANCELLED, Outcome.FILLED, Outcome.ENDED):
            capped = WORST_PRICE in group.intent.notes  # an exit capped so ends like an entry
            if (not is_exit or capped) and group.step >= policy.max_steps:
                self.give_up(group, now, balanced, f"not filled after {group.step + 1} prices")
                return
            group.step = min(group.step + 1, policy.max_steps)
            group.attempts = 0
            self.send_entry(group, now)
            return
        # rejected, or lost without a trace
        if last.outcome is Outcome.LOST:
            kind = Rejection.TRANSIENT
        else:
            kind = classify_rejection(last.message, reduces_risk=is_exit)
            d.stats.counts[f"rejections_{kind.value}"] += 1
        group.attempts += 1
        must_finish = is_exit and balanced > 0  # a half-closed position keeps trying
        if not must_finish and (kind is Rejection.PERMANENT or group.attempts >= policy.max_attempts):
            why = last.message if kind is Rejection.PERMANENT else f"gave up after {group.attempts} attempts"
            self.give_up(group, now, balanced, f"{last.outcome.value}: {why}")
            return
        self.schedule_retry(group, now)

    def give_up(self, group: OrderGroup, now: datetime, balanced: int, why: str) -> None:
        d = self.desk
        if balanced > 0 and group.purpose is Purpose.OPEN:
            d.finish(
                group, GroupState.FILLED, now, balanced, f"{balanced} of {group.intent.quantity} units; {why}"
            )
        elif balanced > 0:
            group.attempts = 0
            self.schedule_retry(group, now)  # a half-closed position is never given up
        else:
            d.finish(group, GroupState.ABANDONED, now, 0, why)

    def schedule_retry(self, group: OrderGroup, now: datetime) -> None:
        d, policy = self.desk, self.desk.policy
        jitter = random.Random(f"{d.jitter_seed}|{group.key}|{group.attempts}")  # stateless, deterministic
        delay = backoff_delay(
            group.attempts, policy.backoff_base, policy.backoff_cap, policy.backoff_jitter, jitter
        )
        group.retry_at = now + delay
        d.stats.counts["retries"] += 1
        if group.state is not GroupState.REPAIRING:
            group.move(GroupState.RETRY_WAIT, now, f"retry in {delay.total_seconds():.0f}s")

    def _resume(self, group: OrderGroup, now: datetime) -> None:
        d = self.desk
        if not d.presence.clear_to_send(group, now):
            return
        group.retry_at = None
        if group.repair_mode is not RepairMode.NONE:
            d.repair.repair(group, now)
        else:
            self.send_entry(group, now)
