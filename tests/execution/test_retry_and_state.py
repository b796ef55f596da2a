"""Rejection classes, backoff, tags, and order groups saved at every transition."""

from __future__ import annotations

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
from execution.store import INDEX_KEY, GroupStore, group_store_key
from strategies.zero_dte import ZeroDteIronCondor
from testing.execution_fakes import ManualBroker, MemStore
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


def test_every_transition_is_saved_and_reads_back_identically():
    now = friday()
    snap = snapshot(now, [zero_dte_chain(now)])
    (intent,) = ZeroDteIronCondor(S).propose(snap, FakeContext(account(now=now)))
    store = MemStore()
    broker = ManualBroker(snap, store)
    om = OrderManager(S, broker, rng=random.Random(0))
    om.submit(intent, snap)
    key = f"{intent.group_id}|open"
    saved = lambda: OrderGroup.from_json(json.loads(store.data[group_store_key(key)]))  # noqa: E731
    assert saved().state is GroupState.WORKING and json.loads(store.data[INDEX_KEY])["active"] == [key]
    om.on_order_event(broker.fill(broker.last().tag, legs=[0]))
    assert saved().state is GroupState.PARTIALLY_FILLED
    group = om.groups[key]
    assert saved().to_json() == group.to_json()
    broker.advance(5)
    om.on_step(broker.snap)
    om.on_order_event(broker.confirm_cancel(broker.cancels[-1]))
    assert saved().state is GroupState.REPAIRING
    om.on_order_event(broker.fill(broker.last().tag))
    assert saved().state is GroupState.FILLED
    index = json.loads(store.data[INDEX_KEY])
    assert index["active"] == [] and index["sequences"][key] == 2
    assert [h[2] for h in saved().history] == ["working", "partially_filled", "repairing", "filled"]


def test_impossible_transitions_are_refused():
    now = friday()
    snap = snapshot(now, [zero_dte_chain(now)])
    (intent,) = ZeroDteIronCondor(S).propose(snap, FakeContext(account(now=now)))
    group = OrderGroup("k", intent, now)
    group.move(GroupState.WORKING, now, "sent")
    group.move(GroupState.FILLED, now, "filled")
    with pytest.raises(TransitionError):
        group.move(GroupState.WORKING, now, "again")


def test_unreadable_state_alerts_instead_of_crashing():
    now = friday()
    snap = snapshot(now, [zero_dte_chain(now)])
    store = MemStore()
    store.save(INDEX_KEY, b"{not json")
    broker = ManualBroker(snap, store)
    om = OrderManager(S, broker)
    assert om.on_step(snap) == []
    assert any(title == "Execution state unreadable" for _, title, _ in broker.alerts)
    assert GroupStore(store).store is store


def test_a_zero_limit_never_reaches_lean_as_a_combo_market_order():
    from execution.pricing import combo_limit

    assert combo_limit(0.0, all_sell=True, tick=0.05) == -0.05
    assert combo_limit(0.0, all_sell=False, tick=0.05) == 0.05
    assert combo_limit(-0.01, all_sell=False, tick=0.05) == 0.05
    assert combo_limit(-1.25, all_sell=True, tick=0.05) == -1.25
