"""What the monitoring layer records for the reports and the health snapshot: unrealised P&L per
strategy next to its Greeks, implied-vol context for the futures roots (/ES, /CL, /GC) as for the
index and ETFs, and every order the engine acknowledges (for ``last_order_time``)."""

from __future__ import annotations

from dataclasses import fields
from datetime import date, timedelta

import pytest

from core.settings import Settings
from monitoring.health import HealthInputs
from monitoring.sampler import DEFAULT_VOL_ROOTS, MonitoringSampler
from monitoring.service import MonitoringService, OrderActivity
from monitoring.volatility import VolContext
from sim.store import MemoryStore
from testing.factories import account
from tests.monitoring.test_greeks import NOW, _snapshot, _strangle
from tests.monitoring.test_service import Sink


class Events:
    def __init__(self):
        self.events = []

    def record(self, kind, time, payload):
        self.events.append((kind, time, dict(payload)))


def test_each_strategy_sample_carries_its_unrealised_pnl_and_unmarked_positions():
    sink = Events()
    sampler = MonitoringSampler(sink, Settings(), vol_roots={})
    two = [_strangle(), _strangle(qty=1, group_id="strangle-20250307-002")]
    sampler.on_step(_snapshot(), two, account(100_000.0))
    ((_, _, sample),) = [e for e in sink.events if e[0] == "portfolio_greeks"]
    row = sample["by_strategy"]["strangle"]
    assert row["positions"] == 2 and row["unmarked"] == 0
    assert row["unrealized_pnl"] == pytest.approx(sum(p["unrealized_pnl"] for p in sample["positions"]))
    assert row["theta_day"] == pytest.approx(sum(p["theta_day"] for p in sample["positions"]))


def test_futures_roots_get_implied_vol_context_like_the_index():
    from sim.calendar import ExchangeCalendar
    from sim.markets.synthetic import SyntheticConfig, SyntheticMarket

    start, end = date(2025, 1, 2), date(2025, 1, 10)
    market = SyntheticMarket(SyntheticConfig(seed=7, start=start, end=end),
                             ExchangeCalendar(start - timedelta(days=7), end + timedelta(days=800)))  # fmt: skip
    day = market.trading_days()[0]
    snap = market.snapshot_at(market.step_times(day)[-1])
    sink = Events()
    MonitoringSampler(sink, Settings()).on_end_of_day(day, snap, [], account(100_000.0))
    ctx = {p["underlying"]: p for k, _, p in sink.events if k == "vol_context"}
    assert {"/ES", "/CL", "/GC", "SPX"} <= set(ctx) and set(ctx) <= set(DEFAULT_VOL_ROOTS)
    assert list(ctx["SPX"]) == [f.name for f in fields(VolContext)], "every field, in order"
    assert ctx["SPX"]["expiry"] == date.fromisoformat(ctx["SPX"]["expiry"]).isoformat()
    for root in ("/ES", "/CL", "/GC"):
        assert ctx[root]["root"] == root[1:] and 0.01 < ctx[root]["atm_iv"] < 2.0
        assert ctx[root]["quotes"] > 10


def test_order_activity_forwards_everything_and_notes_each_submitted_order():
    inner = Sink()
    orders = OrderActivity(inner)
    orders.record("order_event", NOW, {"tag": "a|open|0", "status": "submitted"})
    orders.record("order_event", NOW + timedelta(minutes=5), {"tag": "a|open|0", "status": "filled"})
    orders.record("order_event", NOW + timedelta(minutes=9), {"tag": "b|open|0", "status": "submitted"})
    orders.record("trade_closed", NOW + timedelta(minutes=10), {})
    assert inner.kinds == ["order_event", "order_event", "order_event", "trade_closed"]
    assert orders.submitted == 2 and orders.last_submitted == NOW + timedelta(minutes=9)


def test_the_service_fills_order_fields_from_the_sink_the_system_writes_to():
    sink = OrderActivity(Sink())  # as main.py would build it: the system's sink, wrapped
    service = MonitoringService.from_settings(Settings(), sink, MemoryStore(), lambda: NOW)
    before = service.update_health(HealthInputs(connections={"brokerage": True}, net_liquidation=1e5))
    assert before is not None and before.orders_submitted == 0 and before.last_order_time is None
    assert before.not_available["last_order_time"] == "no order submitted since start"
    sink.record("order_event", NOW - timedelta(minutes=2), {"status": "submitted"})
    after = service.update_health(HealthInputs(connections={"brokerage": True}, net_liquidation=1e5))
    assert after is not None and after.orders_submitted == 1
    assert after.last_order_time == (NOW - timedelta(minutes=2)).isoformat()
    assert "last_order_time" not in after.not_available


def test_without_order_activity_the_snapshot_says_the_engine_does_not_report_orders():
    service = MonitoringService.from_settings(Settings(), Sink(), MemoryStore(), lambda: NOW)
    snap = service.update_health(HealthInputs(net_liquidation=1e5))
    assert snap is not None and snap.last_order_time is None and snap.orders_submitted is None
    assert snap.not_available == {
        "connections": "the engine reports no connections to watch",
        "feed_age_seconds": "the engine reported no quote times",
        "last_order_time": "the engine does not report its orders",
        "orders_submitted": "the engine does not report its orders",
        "errors_last_hour": "the engine does not count its alerts",
        "unavailable_channels": "no alert router: channels not checked",
    }
