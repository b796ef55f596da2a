"""Brokerage outages: entries pause, intents are held with a TTL, reconcile before release."""

from __future__ import annotations

from datetime import datetime, timedelta

from brokers.outage import BrokerageState, OutageGuard
from core.types import OrderIntent, Purpose

T0 = datetime(2025, 3, 7, 10, 30)


def intent(gid: str, purpose: Purpose = Purpose.OPEN) -> OrderIntent:
    return OrderIntent(gid, "zero_dte", purpose, (), 1, -1.0, -0.9, 500.0, "test", T0)


def test_connected_passes_through():
    g = OutageGuard()
    assert g.submit(intent("a"), T0).approved and g.entries_allowed(T0).approved


def test_disconnect_holds_then_reconcile_releases_unexpired():
    g = OutageGuard(ttl=timedelta(minutes=5))
    g.on_disconnect(T0, "LEAN brokerage message: disconnected")
    assert not g.entries_allowed(T0).approved
    d = g.submit(intent("old"), T0)
    assert not d.approved and d.code == "held_outage"
    g.submit(intent("new", Purpose.CLOSE), T0 + timedelta(minutes=4))
    g.on_reconnect(T0 + timedelta(minutes=6))
    assert g.state is BrokerageState.RECONCILING
    assert not g.entries_allowed(T0 + timedelta(minutes=6)).approved  # not before reconciling
    assert g.submit(intent("x"), T0 + timedelta(minutes=6)).code == "held_outage"
    released = g.on_reconciled(True, T0 + timedelta(minutes=7))
    assert [i.group_id for i in released] == ["new", "x"]
    assert [(d.intent.group_id, d.code) for d in g.dropped] == [("old", "intent_expired")]
    assert g.state is BrokerageState.CONNECTED and g.entries_allowed(T0).approved
    assert g.outages == 1


def test_reconcile_mismatch_halts_and_drops():
    g = OutageGuard()
    g.on_disconnect(T0)
    g.submit(intent("a"), T0)
    g.on_reconnect(T0 + timedelta(minutes=1))
    assert g.on_reconciled(False, T0 + timedelta(minutes=1), "missing SPXW 5000P") == []
    assert g.state is BrokerageState.HALTED and "missing SPXW" in g.reason
    assert [d.code for d in g.dropped] == ["reconcile_mismatch"]
    assert g.submit(intent("b"), T0 + timedelta(minutes=2)).code == "brokerage_halted"
    g.clear_halt(T0 + timedelta(minutes=3))
    assert g.entries_allowed(T0).approved


def test_reconcile_while_still_disconnected_releases_nothing_and_hold_is_bounded():
    g = OutageGuard(max_held=2)
    g.on_disconnect(T0)
    for gid in "abc":
        g.submit(intent(gid), T0)
    assert [d.code for d in g.dropped] == ["hold_full"]
    assert g.on_reconciled(True, T0) == [] and len(g.held) == 2
    assert g.down_for(T0 + timedelta(minutes=2)) == timedelta(minutes=2)


class Inner:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def submit(self, intent, snapshot) -> None:
        self.sent.append(intent.group_id)

    def on_step(self, snapshot):
        return []

    def on_order_event(self, event):
        return []

    def is_working(self, group_id: str) -> bool:
        return False


def _snap(t: datetime):
    from core.types import MarketSnapshot

    return MarketSnapshot(t, {}, None, {}, None)


def test_held_executor_passes_holds_releases_and_reports_drops():
    from brokers.held_executor import HeldExecutor
    from core.types import UpdateKind

    g, inner = OutageGuard(ttl=timedelta(minutes=5)), Inner()
    ex = HeldExecutor(inner, g)
    ex.submit(intent("live"), _snap(T0))
    assert inner.sent == ["live"]
    g.on_disconnect(T0)
    ex.submit(intent("exit", Purpose.CLOSE), _snap(T0))
    ex.submit(intent("late"), _snap(T0 + timedelta(minutes=1)))
    assert inner.sent == ["live"] and ex.is_working("exit")
    g.on_reconnect(T0 + timedelta(minutes=2))
    assert ex.on_step(_snap(T0 + timedelta(minutes=2))) == [] and inner.sent == ["live"]
    g.on_reconciled(True, T0 + timedelta(minutes=5, seconds=30))  # "exit" expired, "late" still valid
    (update,) = ex.on_step(_snap(T0 + timedelta(minutes=5, seconds=30)))
    assert inner.sent == ["live", "late"] and not ex.is_working("late")
    assert (update.group_id, update.purpose, update.kind) == ("exit", Purpose.CLOSE, UpdateKind.ABANDONED)
    assert update.message.startswith("intent_expired")


def test_halt_during_an_outage_then_clean_reconciliation_while_still_down_releases_nothing():
    g = OutageGuard()
    g.on_disconnect(T0)
    g.submit(intent("a"), T0)
    assert g.on_reconciled(False, T0, "x") == [] and g.state is BrokerageState.HALTED
    g.submit(intent("b"), T0)  # refused while halted
    assert g.on_reconciled(True, T0) == [] and g.state is BrokerageState.DISCONNECTED
    g.on_reconnect(T0)
    assert g.state is BrokerageState.RECONCILING
    assert [d.code for d in g.take_dropped()] == ["reconcile_mismatch", "reconcile_mismatch"]
