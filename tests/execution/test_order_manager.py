"""Order groups end filled or flat: ladder, fills, retries, partial-fill repair, drops, restarts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.ports import Severity
from core.settings import Settings
from core.types import OrderEvent, OrderStatus, Purpose, UpdateKind
from execution.group import GroupState
from execution.order_manager import OrderManager
from execution.policy import ExecutionPolicy
from execution.pricing import ladder_price
from strategies.zero_dte import ZeroDteIronCondor
from testing.execution_fakes import ManualBroker, restarted
from testing.factories import FakeContext, account, friday, snapshot, zero_dte_chain

S = Settings()


def test_ladder_prices_are_on_the_tick_and_never_past_the_concession():
    # credit of 1.27 mid, 1.07 natural (selling: negative prices), 3 steps, half the distance at most
    prices = [ladder_price(-1.27, -1.07, k, 3, 0.5, 0.05) for k in range(4)]
    assert prices == [-1.3, -1.25, -1.25, -1.2]
    assert ladder_price(2.03, 2.40, 3, 3, 1.0, 0.05) == pytest.approx(2.40)
    assert ladder_price(2.03, 2.40, 0, 3, 1.0, 0.05) == pytest.approx(2.0)  # buying: round down


def _setup(scale: float = 1.0, policy: ExecutionPolicy | None = None, broker: ManualBroker | None = None):
    now = friday()
    snap = snapshot(now, [zero_dte_chain(now, scale=scale)])
    (intent,) = ZeroDteIronCondor(S).propose(snap, FakeContext(account(now=now)))
    broker = broker or ManualBroker(snap)
    om = OrderManager(S, broker, policy=policy, jitter_seed=1)
    return om, broker, intent, snap


def _reprice_market(broker: ManualBroker, scale: float) -> None:
    broker.snap = snapshot(broker.snap.time, [zero_dte_chain(broker.snap.time, scale=scale)])


def test_reprices_only_after_the_cancel_is_confirmed_and_gives_up_after_the_ladder():
    om, broker, intent, snap = _setup()
    om.submit(intent, snap)
    first = broker.last()
    assert first.tag == f"{intent.group_id}|open|0" and first.quantity == intent.quantity
    updates = []
    for attempt in range(S.exec_max_steps + 1):
        om.on_order_event(broker.ack(broker.last().tag))
        broker.advance(S.exec_step_minutes)
        assert om.on_step(broker.snap) == []
        assert broker.cancels[-1] == f"{intent.group_id}|open|{attempt}"
        assert len(broker.sent) == attempt + 1  # nothing new until the cancel is confirmed
        updates = om.on_order_event(broker.confirm_cancel(broker.cancels[-1]))
    (update,) = updates
    assert update.kind is UpdateKind.ABANDONED and "not filled after 4 prices" in update.message
    assert not om.is_working(intent.group_id)
    credits = [-o.limit_price for o in broker.sent]
    assert credits == sorted(credits, reverse=True)  # each step concedes a little more
    group = om.groups[f"{intent.group_id}|open"]
    assert [h[2] for h in group.history] == ["working", "abandoned"]


def test_a_fill_reports_the_net_price_fees_and_leg_prices():
    om, broker, intent, snap = _setup()
    om.submit(intent, snap)
    event = broker.fill(broker.last().tag)
    (update,) = om.on_order_event(event)
    assert update.kind is UpdateKind.FILLED and update.purpose is Purpose.OPEN
    net = sum(f.quantity * f.price for f in event.fills) / intent.quantity
    assert update.net_price == pytest.approx(net) and update.quantity == intent.quantity
    assert update.fees == pytest.approx(4.0 * intent.quantity)
    assert update.leg_prices == pytest.approx([f.price for f in event.fills])
    assert om.report()["fill_quality"]["zero_dte"]["orders"] == 1


def test_insufficient_buying_power_is_not_retried():
    om, broker, intent, snap = _setup()
    om.submit(intent, snap)
    (update,) = om.on_order_event(broker.reject(broker.last().tag, "insufficient buying power: need $9"))
    assert update.kind is UpdateKind.ABANDONED and "insufficient buying power" in update.message
    assert len(broker.sent) == 1


def test_transient_rejections_back_off_and_give_up_after_the_attempt_limit():
    policy = ExecutionPolicy.from_settings(S, max_attempts=3)
    om, broker, intent, snap = _setup(policy=policy)
    om.submit(intent, snap)
    resend_waits = []
    updates = []
    for _ in range(3):
        sent_at = broker.now()
        updates = om.on_order_event(broker.reject(broker.last().tag, "broker busy, try again"))
        if updates:
            break
        count = len(broker.sent)
        for _ in range(60):  # step a minute at a time until the backoff lets it re-send
            broker.advance(0.25)
            om.on_step(broker.snap)
            if len(broker.sent) > count:
                break
        resend_waits.append(broker.now() - sent_at)
    (update,) = updates
    assert update.kind is UpdateKind.ABANDONED and "gave up after 3 attempts" in update.message
    assert len(broker.sent) == 3 and len({o.tag for o in broker.sent}) == 3
    assert resend_waits[1] > resend_waits[0] >= timedelta(seconds=15)  # exponential, with jitter
    assert om.stats.counts["rejections_transient"] == 3


def test_unknown_tags_are_ignored_and_unknown_fills_alert():
    om, broker, intent, snap = _setup()
    om.submit(intent, snap)
    assert om.on_order_event(OrderEvent("someone-else|open|0", OrderStatus.CANCELLED, snap.time)) == []
    assert broker.alerts == []


def test_uneven_legs_are_completed_when_the_price_stays_within_bounds():
    om, broker, intent, snap = _setup()
    om.submit(intent, snap)
    tag = broker.last().tag
    assert om.on_order_event(broker.fill(tag, legs=[0, 1])) == []  # the put spread only
    group = om.groups[f"{intent.group_id}|open"]
    assert group.state is GroupState.PARTIALLY_FILLED
    broker.advance(S.exec_step_minutes)
    om.on_step(broker.snap)
    assert om.on_order_event(broker.confirm_cancel(tag)) == []
    repair = broker.last()
    assert group.state is GroupState.REPAIRING and repair.tag.endswith("|open|1")
    assert {leg.contract.symbol for leg in repair.legs} == {leg.contract.symbol for leg in intent.legs[2:]}
    (update,) = om.on_order_event(broker.fill(repair.tag))
    assert update.kind is UpdateKind.FILLED and update.quantity == intent.quantity
    assert "completed" in update.message
    assert broker.positions == {leg.contract.symbol: leg.ratio * intent.quantity for leg in intent.legs}
    (record,) = om.stats.repairs
    assert record["how"] == "completed" and not record["past_deadline"]


def test_uneven_legs_are_unwound_when_completion_got_too_expensive():
    om, broker, intent, snap = _setup()
    om.submit(intent, snap)
    tag = broker.last().tag
    om.on_order_event(broker.fill(tag, legs=[0, 1]))
    _reprice_market(broker, 0.3)  # the call spread now pays 30% of the credit: no completion
    broker.advance(S.exec_step_minutes)
    om.on_step(broker.snap)
    om.on_order_event(broker.confirm_cancel(tag))
    unwind = broker.last()
    assert {leg.contract.symbol for leg in unwind.legs} == {leg.contract.symbol for leg in intent.legs[:2]}
    (update,) = om.on_order_event(broker.fill(unwind.tag))
    assert update.kind is UpdateKind.UNWOUND and update.quantity == 0
    assert all(q == 0 for q in broker.positions.values())
    (record,) = om.stats.repairs
    assert record["how"] == "unwound"
    all_fills = [f for f in om.groups[f"{intent.group_id}|open"].fills]
    assert record["realized_dollars"] == pytest.approx(
        -sum(f.quantity * f.price for f in all_fills) * 100 - sum(f.fee for f in all_fills)
    )


def test_balanced_partial_units_are_kept_when_the_ladder_runs_out():
    om, broker, intent, snap = _setup()
    assert intent.quantity > 1
    om.submit(intent, snap)
    om.on_order_event(broker.fill(broker.last().tag, units=1))
    for _ in range(S.exec_max_steps + 1):
        broker.advance(S.exec_step_minutes)
        om.on_step(broker.snap)
        updates = om.on_order_event(broker.confirm_cancel(broker.cancels[-1]))
    (update,) = updates
    assert update.kind is UpdateKind.FILLED and update.quantity == 1
    assert all(o.quantity == intent.quantity - 1 for o in broker.sent[1:])  # only the rest re-sent


def test_a_silently_dropped_order_is_resent_only_after_the_broker_and_holdings_confirm_it_is_gone():
    om, broker, intent, snap = _setup()
    om.submit(intent, snap)
    first = broker.last().tag  # never acknowledged, still working: must not be re-sent
    broker.advance(3)
    om.on_step(broker.snap)
    assert len(broker.sent) == 1
    om2, broker2, intent2, snap2 = _setup()
    om2.submit(intent2, snap2)
    broker2.drop(broker2.last().tag)
    broker2.advance(3)
    om2.on_step(broker2.snap)
    assert om2.stats.counts["lost_orders"] == 1
    broker2.advance(3)
    om2.on_step(broker2.snap)
    assert len(broker2.sent) == 2 and broker2.last().tag.endswith("|open|1")
    assert first.endswith("|open|0")


def test_a_vanished_order_whose_fill_we_never_saw_is_not_resent():
    om, broker, intent, snap = _setup()
    om.submit(intent, snap)
    broker.fill(broker.last().tag)  # the broker filled it but the event is lost
    broker.advance(3)
    om.on_step(broker.snap)
    broker.advance(30)
    om.on_step(broker.snap)
    assert len(broker.sent) == 1, "holdings moved without an event: never re-send"
    assert any(title == "Holdings changed without a fill event" for _, title, _ in broker.alerts)


def test_duplicate_fill_events_are_applied_once():
    om, broker, intent, snap = _setup()
    om.submit(intent, snap)
    event = broker.fill(broker.last().tag, legs=[0, 1])
    event = OrderEvent(event.tag, event.status, event.time, event.fills, event_id="7")
    om.on_order_event(event)
    om.on_order_event(event)
    group = om.groups[f"{intent.group_id}|open"]
    assert group.filled()[intent.legs[0].contract.symbol] == intent.legs[0].ratio * intent.quantity
    assert om.stats.counts["duplicate_events"] == 1


def test_a_repair_that_cannot_fill_raises_a_critical_alert_at_the_deadline():
    om, broker, intent, snap = _setup()
    om.submit(intent, snap)
    tag = broker.last().tag
    om.on_order_event(broker.fill(tag, legs=[0]))
    broker.advance(5)
    om.on_step(broker.snap)
    om.on_order_event(broker.confirm_cancel(tag))
    for _ in range(40):  # every repair order is rejected for a transient reason
        broker.advance(1)
        om.on_step(broker.snap)
        live = [o for o in broker.sent if o.tag in broker.working]
        for order in live:
            om.on_order_event(broker.reject(order.tag, "timeout"))
    critical = [a for a in broker.alerts if a[0] == Severity.CRITICAL.value]
    assert any("repair deadline" in title for _, title, _ in critical)
    assert om.stats.counts["deadline_alerts"] == 1


def test_an_exit_with_uneven_fills_is_completed_never_unwound():
    om, broker, intent, snap = _setup()
    om.submit(intent, snap)
    om.on_order_event(broker.fill(broker.last().tag))
    from dataclasses import replace

    from core.types import Leg

    close = replace(
        intent,
        purpose=Purpose.CLOSE,
        legs=tuple(Leg(leg.contract, -leg.ratio) for leg in intent.legs),
        reference_price=-intent.reference_price,
        natural_price=-intent.reference_price + 0.2,
    )
    _reprice_market(broker, 3.0)
    om.submit(close, broker.snap)
    tag = broker.last().tag
    assert tag.endswith("|close|0")
    om.on_order_event(broker.fill(tag, legs=[2, 3]))
    broker.advance(5)
    om.on_step(broker.snap)
    om.on_order_event(broker.confirm_cancel(tag))
    repair = broker.last()
    assert all(leg.ratio * repair.quantity == -orig.ratio * intent.quantity
               for leg, orig in zip(repair.legs, sorted(intent.legs[:2], key=lambda x: x.contract.symbol), strict=True))  # fmt: skip
    (update,) = om.on_order_event(broker.fill(repair.tag))
    assert update.kind is UpdateKind.FILLED and update.purpose is Purpose.CLOSE
    assert all(q == 0 for q in broker.positions.values())


def test_a_restart_recognises_its_orders_and_never_reuses_a_tag():
    om, broker, intent, snap = _setup()
    om.submit(intent, snap)
    tag = broker.last().tag
    om.on_order_event(broker.ack(tag))
    om.on_order_event(broker.fill(tag, legs=[0, 1]))
    # the process dies; a new manager continues from the saved state, on the same broker
    again = restarted(om, broker, jitter_seed=1)
    assert again.is_working(intent.group_id), "restored exactly: its group is still working"
    broker.advance(5)
    again.on_step(broker.snap)
    assert again.is_working(intent.group_id)
    assert broker.cancels[-1] == tag  # its old order is still at the broker: repriced via cancel
    again.on_order_event(broker.confirm_cancel(tag))
    repair = broker.last()
    assert repair.tag.endswith("|open|1")
    (update,) = again.on_order_event(broker.fill(repair.tag))
    assert update.kind is UpdateKind.FILLED and update.quantity == intent.quantity


def test_a_fill_worse_than_the_limit_is_booked_and_flagged():
    om, broker, intent, snap = _setup()
    om.submit(intent, snap)
    (update,) = om.on_order_event(broker.fill(broker.last().tag, price_shift=0.5))  # 0.50 worse per leg
    assert update.kind is UpdateKind.FILLED, "the broker's positions changed: book them"
    assert om.stats.counts["fill_problems"] == 1
    assert any(title == "Fill worse than its limit" for _, title, _ in broker.alerts)


def test_a_repair_whose_contracts_expire_ends_with_a_critical_alert_not_an_endless_loop():
    om, broker, intent, snap = _setup()
    om.submit(intent, snap)
    tag = broker.last().tag
    om.on_order_event(broker.fill(tag, legs=[0]))
    broker.advance(24 * 60)  # the next day: the 0DTE legs have expired and were settled
    om.on_step(broker.snap)
    updates = om.on_order_event(broker.confirm_cancel(tag))
    (update,) = updates or om.on_step(broker.snap)
    assert update.kind is UpdateKind.ABANDONED and "expired" in update.message
    assert not om.is_working(intent.group_id) and om.residual_exposure() == []
    assert any(title.startswith("Contracts expired") for _, title, _ in broker.alerts)
    sent = len(broker.sent)
    broker.advance(5)
    om.on_step(broker.snap)
    assert len(broker.sent) == sent, "nothing more is sent for expired contracts"
