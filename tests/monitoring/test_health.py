"""The health snapshot: verdicts with reasons, cadence of writes to the state store, and the
loopback JSON endpoint."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import datetime, timedelta

import pytest

from monitoring.health import HEALTH_KEY, HealthInputs, HealthMonitor, HealthServer, assess
from sim.store import MemoryStore

NOW = datetime(2025, 3, 7, 11, 0)


def _inputs(**kw):
    base = dict(
        connections={"brokerage": True, "dxlink": True},
        last_quote_times={"SPX": NOW - timedelta(seconds=5)},
        open_groups=2,
        net_liquidation=100_000.0,
        buying_power_used=30_000.0,
        last_order_time=NOW - timedelta(minutes=3),
    )
    base.update(kw)
    return HealthInputs(**base)


def test_healthy_system_is_ok():
    snap = assess(_inputs(), NOW)
    assert snap.status == "ok" and snap.reasons == ()
    assert snap.bp_share == pytest.approx(0.30)
    assert snap.feed_age_seconds == {"SPX": 5.0}
    assert snap.last_order_time == "2025-03-07T10:57:00"


@pytest.mark.parametrize(
    ("change", "status", "reason"),
    [
        (dict(connections={"brokerage": False}), "critical", "brokerage disconnected"),
        (dict(breaker_state="tripped:daily_loss"), "critical", "breaker tripped:daily_loss"),
        (dict(net_liquidation=0.0), "critical", "net liquidation unknown"),
        (dict(last_quote_times={"SPX": NOW - timedelta(seconds=120)}), "degraded", "SPX feed 120 s old"),
        (dict(buying_power_used=90_000.0), "degraded", "buying power use 90%"),
        (dict(errors_last_hour=9), "degraded", "9 errors in the last hour"),
        (dict(unavailable_channels={"apprise": "not installed"}), "degraded", "apprise unavailable"),
    ],
)
def test_each_problem_changes_the_verdict_and_says_why(change, status, reason):
    snap = assess(_inputs(**change), NOW)
    assert snap.status == status
    assert any(reason in r for r in snap.reasons), snap.reasons


def test_monitor_writes_to_the_store_at_its_cadence():
    t = [NOW]
    store = MemoryStore()
    monitor = HealthMonitor(lambda: t[0], store, interval=timedelta(minutes=1))
    monitor.update(_inputs(open_groups=1))
    assert json.loads(store.load(HEALTH_KEY))["open_groups"] == 1
    t[0] += timedelta(seconds=30)
    monitor.update(_inputs(open_groups=2))
    assert json.loads(store.load(HEALTH_KEY))["open_groups"] == 1, "not yet a minute"
    assert monitor.latest().open_groups == 2, "the endpoint still sees the newest"
    t[0] += timedelta(seconds=30)
    monitor.update(_inputs(open_groups=3))
    assert json.loads(store.load(HEALTH_KEY))["open_groups"] == 3


def _get(port: int, path: str = "/health"):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_endpoint_serves_the_latest_snapshot_on_loopback():
    t = [NOW]
    monitor = HealthMonitor(lambda: t[0], MemoryStore())
    with HealthServer(monitor, port=0) as server:
        assert _get(server.port) == (503, {"status": "starting", "reasons": ["no snapshot yet"]})
        monitor.update(_inputs())
        code, body = _get(server.port)
        assert code == 200 and body["status"] == "ok" and body["open_groups"] == 2
        monitor.update(_inputs(connections={"brokerage": False}))
        code, body = _get(server.port)
        assert code == 503 and body["status"] == "critical"
        assert _get(server.port, "/other")[0] == 404


def test_endpoint_refuses_non_loopback_addresses():
    with pytest.raises(ValueError, match="loopback"):
        HealthServer(HealthMonitor(lambda: NOW, MemoryStore()), host="0.0.0.0", port=0)
