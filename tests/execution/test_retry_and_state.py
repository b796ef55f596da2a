"""Rejection classes, backoff, tags, and execution's state read back identically at every transition."""

from __future__ import annotations

import dataclasses
import json
import random
from datetime import timedelta

import pytest

from core.settings import Settings
from core.types import Purpose
from execution.group import GroupState, OrderGroup, TransitionError, order_tag, parse_tag
from execution.order_manager import OrderManager
from execution.policy import ExecutionPolicy
from execution.retry import Rejection, backoff_delay, classify_rejection
from execution.state import ExecutionState
from persistence.typed import from_plain, to_plain
from strategies.zero_dte import ZeroDteIronCondor
from testing.execution_fakes import ManualBroker
from testing.factories import FakeContext, account, friday, snapshot, zero_dte_chain

S = Settings()


@pytest.mark.parametrize(
    ("message", "reduces", "expected"),
    [
        ("insufficient buying power: need $5,000.00", False, Rejection.PERMANENT),
        ("insufficient buying power", True, Rejection.PERMANENT),
        ("invalid order: no legs", False, Rejection.PERMANENT),
        ("broker busy, try again", False, Rejection.TRANSIENT),
        ("order routing timeout", False, Rejection.TRANSIENT),
        ("rate limit exceeded", False, Rejection.TRANSIENT),
        ("something odd", False, Rejection.PERMANENT),  # unknown + adds risk: fail closed
        ("something odd", True, Rejection.TRANSIENT),  # unknown + reduces risk: keep trying
    ],
)
def test_rejections_are_classified(message, reduces, expected):
    assert classify_rejection(message, reduces) is expected


def test_backoff_doubles_up_to_the_cap_with_bounded_jitter():
    rng = random.Random(3)
    base, cap = timedelta(seconds=30), timedelta(minutes=4)
    for attempt, full in [(1, 30), (2, 60), (3, 120), (4, 240), (9, 240)]:
        for _ in range(20):
            d = backoff_delay(attempt, base, cap, 0.5, rng).total_seconds()
            assert full / 2 <= d <= full
    assert backoff_delay(2, base, cap, 0.0, rng) == timedelta(seconds=60)


def test_tags_round_trip_and_foreign_tags_are_not_ours():
    tag = order_tag("zero_dte-20250307-001", Purpose.CLOSE, 12)
    assert tag == "zero_dte-20250307-001|close|12"
    assert parse_tag(tag) == ("zero_dte-20250307-001", Purpose.CLOSE, 12)
    assert parse_tag("manual order") is None and parse_tag("x|sideways|1") is None


def test_policy_refuses_nonsense():
    with pytest.raises(ValueError, match="max_attempts"):
        ExecutionPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="repair_complete_window"):
        ExecutionPolicy(repair_complete_window=timedelta(hours=2))


def test_every_transition_reads_back_identically_from_the_saved_state():
    now = friday()
    snap = snapshot(now, [zero_dte_chain(now)])
    (intent,) = ZeroDteIronCondor(S).propose(snap, FakeContext(account(now=now)))
    broker = ManualBroker(snap)
    om = OrderManager(S, broker)
    om.submit(intent, snap)
    key = f"{intent.group_id}|open"

    def saved() -> OrderGroup:
        """What persistence would hand back after a crash now: JSON text, types checked."""
        text = json.dumps(to_plain(om.state()))
        state = from_plain(ExecutionState, json.loads(text))
        assert to_plain(state) == to_plain(om.state()), "the round trip loses nothing"
        (group,) = [g for g in state.groups if g.key == key]
        return group

    assert saved().state is GroupState.WORKING
    om.on_order_event(broker.fill(broker.last().tag, legs=[0]))
    assert saved().state is GroupState.PARTIALLY_FILLED
    broker.advance(5)
    om.on_step(broker.snap)
    om.on_order_event(broker.confirm_cancel(broker.cancels[-1]))
    assert saved().state is GroupState.REPAIRING
    om.on_order_event(broker.fill(broker.last().tag))
    assert saved().state is GroupState.FILLED
    assert [h[2] for h in saved().history] == ["working", "partially_filled", "repairing", "filled"]
    assert saved().next_seq == 2


def test_finished_groups_are_forgotten_after_a_day_but_their_tags_never_reused():
    now = friday()
    snap = snapshot(now, [zero_dte_chain(now)])
    (intent,) = ZeroDteIronCondor(S).propose(snap, FakeContext(account(now=now)))
    broker = ManualBroker(snap)
    om = OrderManager(S, broker)
    om.submit(intent, snap)
    om.on_order_event(broker.fill(broker.last().tag))
    broker.advance(24 * 60 + 1)
    om.on_step(broker.snap)
    assert om.state().groups == [], "the saved state stays the size of what is working"
    assert om.state().sequences == {f"{intent.group_id}|open": 1}
    om.submit(dataclasses.replace(intent, created=broker.now()), broker.snap)
    assert broker.last().tag == f"{intent.group_id}|open|1"


def test_impossible_transitions_are_refused():
    now = friday()
    snap = snapshot(now, [zero_dte_chain(now)])
    (intent,) = ZeroDteIronCondor(S).propose(snap, FakeContext(account(now=now)))
    group = OrderGroup("k", intent, now)
    group.move(GroupState.WORKING, now, "sent")
    group.move(GroupState.FILLED, now, "filled")
    with pytest.raises(TransitionError):
        group.move(GroupState.WORKING, now, "again")


def test_a_zero_limit_never_reaches_lean_as_a_combo_market_order():
    from execution.pricing import combo_limit

    assert combo_limit(0.0, all_sell=True, tick=0.05) == -0.05
    assert combo_limit(0.0, all_sell=False, tick=0.05) == 0.05
    assert combo_limit(-0.01, all_sell=False, tick=0.05) == 0.05
    assert combo_limit(-1.25, all_sell=True, tick=0.05) == -1.25
