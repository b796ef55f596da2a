"""Order manager: ladder from mid toward natural, cancel-then-replace, terminal updates."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.settings import Settings
from core.types import LegFill, OrderEvent, OrderStatus, Purpose, UpdateKind
from execution.order_manager import OrderManager
from execution.pricing import ladder_price
from strategies.zero_dte import ZeroDteIronCondor
from tests.factories import FakeContext, account, friday, snapshot, zero_dte_chain

S = Settings()


class RecordingPlatform:
    def __init__(self, snap):
        self.snap, self.orders, self.cancels = snap, [], []

    def snapshot(self):
        return self.snap

    def submit_combo(self, order):
        self.orders.append(order)

    def cancel(self, tag):
        self.cancels.append(tag)


def test_ladder_prices_are_on_the_tick_and_never_past_the_concession():
    # credit of 1.27 mid, 1.07 natural (selling: negative prices), 3 steps, half the distance at most
    # unrounded: -1.27, -1.2367, -1.2033, -1.17; natural is always the higher signed price, so
    # rounding down on the 0.05 grid always concedes less than the ladder allows.
    prices = [ladder_price(-1.27, -1.07, k, 3, 0.5, 0.05) for k in range(4)]
    assert prices == [-1.3, -1.25, -1.25, -1.2]
    assert ladder_price(2.03, 2.40, 3, 3, 1.0, 0.05) == pytest.approx(2.40)
    assert ladder_price(2.03, 2.40, 0, 3, 1.0, 0.05) == pytest.approx(2.0)  # buying: round down


def _setup():
    now = friday()
    snap = snapshot(now, [zero_dte_chain(now)])
    (intent,) = ZeroDteIronCondor(S).propose(snap, FakeContext(account(now=now)))
    platform = RecordingPlatform(snap)
    return OrderManager(S, platform), platform, intent, snap


def test_reprices_only_after_the_cancel_is_confirmed_and_gives_up_after_the_ladder():
    om, platform, intent, snap = _setup()
    om.submit(intent, snap)
    first = platform.orders[-1]
    assert first.tag == f"{intent.group_id}|open|0" and first.quantity == intent.quantity
    later = snap.__class__(**{**snap.__dict__, "time": snap.time + timedelta(minutes=S.exec_step_minutes)})
    for attempt in range(S.exec_max_steps + 1):
        om.on_step(later)
        assert platform.cancels[-1] == f"{intent.group_id}|open|{attempt}"
        assert len(platform.orders) == attempt + 1  # nothing new until the cancel is confirmed
        updates = om.on_order_event(OrderEvent(platform.cancels[-1], OrderStatus.CANCELLED, later.time))
        later = later.__class__(
            **{**later.__dict__, "time": later.time + timedelta(minutes=S.exec_step_minutes)}
        )
    (update,) = updates
    assert update.kind is UpdateKind.ABANDONED and "not filled after 4 prices" in update.message
    assert not om.is_working(intent.group_id)
    credits = [-o.limit_price for o in platform.orders]
    assert credits == sorted(credits, reverse=True)  # each step concedes a little more


def test_a_fill_reports_the_net_price_and_fees_per_unit():
    om, platform, intent, snap = _setup()
    om.submit(intent, snap)
    tag = platform.orders[-1].tag
    fills = tuple(
        LegFill(leg.contract, leg.ratio * intent.quantity, price, 1.0 * intent.quantity)
        for leg, price in zip(intent.legs, (0.80, 0.15, 0.80, 0.15), strict=True)
    )
    (update,) = om.on_order_event(OrderEvent(tag, OrderStatus.FILLED, snap.time, fills))
    assert update.kind is UpdateKind.FILLED and update.purpose is Purpose.OPEN
    assert update.net_price == pytest.approx(-0.80 + 0.15 - 0.80 + 0.15)
    assert update.fees == pytest.approx(4.0 * intent.quantity)


def test_a_rejection_abandons_and_an_unknown_tag_is_ignored():
    om, platform, intent, snap = _setup()
    om.submit(intent, snap)
    assert om.on_order_event(OrderEvent("someone-else|open|0", OrderStatus.FILLED, snap.time)) == []
    (update,) = om.on_order_event(
        OrderEvent(platform.orders[-1].tag, OrderStatus.REJECTED, snap.time, message="no BP")
    )
    assert update.kind is UpdateKind.ABANDONED and "no BP" in update.message
