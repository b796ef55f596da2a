"""Exit brackets: a resting profit target and a synthetic stop, one cancelling the other."""

from __future__ import annotations

import dataclasses

import pytest

from core.settings import Settings
from core.types import GroupStatus, PositionGroup, Purpose, UpdateKind
from execution.brackets import NOTE_STOP_MULTIPLE, NOTE_TARGET_SHARE, BracketSpec, spec_from_notes
from execution.order_manager import OrderManager
from strategies.zero_dte import ZeroDteIronCondor
from testing.execution_fakes import ManualBroker
from testing.factories import FakeContext, account, friday, snapshot, zero_dte_chain

S = Settings()


def _opened(scale_now: float = 1.0):
    now = friday()
    snap = snapshot(now, [zero_dte_chain(now)])
    (intent,) = ZeroDteIronCondor(S).propose(snap, FakeContext(account(now=now)))
    broker = ManualBroker(snap)
    om = OrderManager(S, broker, jitter_seed=0)
    om.submit(intent, snap)
    (opened,) = om.on_order_event(broker.fill(broker.last().tag))
    group = PositionGroup(
        intent.group_id, intent.strategy, intent.legs, opened.quantity, GroupStatus.OPEN,
        opened_at=now, entry_price=opened.net_price,
    )  # fmt: skip
    return om, broker, group


def _market(broker: ManualBroker, scale: float) -> None:
    broker.snap = snapshot(broker.snap.time, [zero_dte_chain(broker.snap.time, scale=scale)])


def _step(om, broker, minutes=5):
    broker.advance(minutes)
    return list(om.on_step(broker.snap))


def test_the_profit_target_rests_without_repricing_and_fills_as_profit_target():
    om, broker, group = _opened()
    credit = -group.entry_price
    assert om.arm_bracket(group, BracketSpec(target=0.5 * credit, stop=3 * credit), broker.snap)
    target = broker.last()
    assert target.tag == f"{group.group_id}|close|0"
    assert target.limit_price == pytest.approx(round(0.5 * credit / 0.05) * 0.05)
    for _ in range(6):
        assert _step(om, broker) == []
    assert broker.cancels == [] and om.is_working(group.group_id)
    (update,) = om.on_order_event(broker.fill(target.tag))
    assert update.kind is UpdateKind.FILLED and update.purpose is Purpose.CLOSE
    assert update.reason == "profit_target" and not om.is_working(group.group_id)


def test_the_stop_cancels_the_target_then_exits_at_natural():
    om, broker, group = _opened()
    credit = -group.entry_price
    om.arm_bracket(group, BracketSpec(target=0.5 * credit, stop=2 * credit), broker.snap)
    target = broker.last()
    _market(broker, 3.0)  # the condor now costs about three times the credit to close
    _step(om, broker)
    assert broker.cancels == [target.tag]
    assert len(broker.sent) == 2, "nothing new until the target's cancel is confirmed"
    om.on_order_event(broker.confirm_cancel(target.tag))
    exit_order = broker.last()
    assert exit_order.tag.endswith("|close|1")
    (update,) = om.on_order_event(broker.fill(exit_order.tag))
    assert update.kind is UpdateKind.FILLED and update.reason == "stop_loss"


def test_a_target_that_fills_while_the_stop_cancels_it_ends_the_bracket():
    om, broker, group = _opened()
    credit = -group.entry_price
    om.arm_bracket(group, BracketSpec(target=0.5 * credit, stop=2 * credit), broker.snap)
    target = broker.last()
    _market(broker, 3.0)
    _step(om, broker)
    (update,) = om.on_order_event(broker.fill(target.tag))  # the race: it filled before the cancel
    assert update.reason == "profit_target"
    assert len(broker.sent) == 2 and om.stats.counts["cancel_races"] == 1
    assert _step(om, broker) == [] and len(broker.sent) == 2


def test_a_trailing_stop_follows_the_best_mark():
    om, broker, group = _opened()
    credit = -group.entry_price
    om.arm_bracket(group, BracketSpec(trail=0.3 * credit), broker.snap)
    assert len(broker.sent) == 1, "no target: only the monitor"
    _market(broker, 0.5)  # profit: the best closing mark halves
    _step(om, broker)
    _market(broker, 0.9)  # gives back more than the trail from the best mark
    _step(om, broker)
    exit_order = broker.last()
    assert exit_order.tag.endswith("|close|0")
    (update,) = om.on_order_event(broker.fill(exit_order.tag))
    assert update.reason == "trailing_stop"


def test_a_stop_limit_never_pays_more_than_its_limit():
    om, broker, group = _opened()
    credit = -group.entry_price
    om.arm_bracket(group, BracketSpec(stop=2 * credit, stop_limit=0.0), broker.snap)
    _market(broker, 3.0)
    _step(om, broker)
    order = broker.last()
    bracket = om.groups[f"{group.group_id}|close"].bracket
    assert order.limit_price <= bracket.trigger + 1e-9 < order.limit_price + 0.05 + 1e-9


def test_an_opening_intent_can_ask_for_its_bracket_in_notes():
    now = friday()
    snap = snapshot(now, [zero_dte_chain(now)])
    (intent,) = ZeroDteIronCondor(S).propose(snap, FakeContext(account(now=now)))
    intent = dataclasses.replace(
        intent, notes={**intent.notes, NOTE_TARGET_SHARE: 0.5, NOTE_STOP_MULTIPLE: 2.0}
    )
    broker = ManualBroker(snap)
    om = OrderManager(S, broker)
    om.submit(intent, snap)
    (opened,) = om.on_order_event(broker.fill(broker.last().tag))
    target = broker.last()
    assert target.tag == f"{intent.group_id}|close|0" and om.is_working(intent.group_id)
    spec = spec_from_notes(intent.notes, opened.net_price, intent.legs)
    assert spec is not None and spec.stop == pytest.approx(3 * -opened.net_price)
    fees_points = 4.0 / 100  # $1 per contract to open, nothing to close, 4 legs, x100
    assert spec.target == pytest.approx(-opened.net_price * 0.5 - fees_points)


def test_bad_brackets_are_refused():
    with pytest.raises(ValueError, match="needs a target"):
        BracketSpec()
    with pytest.raises(ValueError, match="above the target"):
        BracketSpec(target=2.0, stop=1.0)
