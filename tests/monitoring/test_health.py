"""The health snapshot: verdicts with reasons, cadence of writes to the state store, and the
loopback JSON endpoint (loopback by resolved address, bounded connections, strict JSON)."""

from __future__ import annotations

import json
import select
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from monitoring.health import HEALTH_KEY, HealthInputs, HealthMonitor, HealthServer, assess
from sim.store import MemoryStore

ROOT = Path(__file__).resolve().parents[2]

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


def _strict(raw: bytes):
    def refuse(token: str):
        raise AssertionError(f"non-strict JSON token {token}")

    return json.loads(raw, parse_constant=refuse)


def _get(port: int, path: str = "/health", host: str = "127.0.0.1"):
    try:
        with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=5) as resp:
            return resp.status, _strict(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, _strict(err.read())


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


def _resolver(*addresses: str):
    """An /etc/hosts stand-in: every name resolves to ``addresses``."""

    def resolve(host, port, type=0):
        fam = {True: socket.AF_INET6, False: socket.AF_INET}
        return [
            (fam[":" in a], socket.SOCK_STREAM, 6, "", (a, port, 0, 0) if ":" in a else (a, port))
            for a in addresses
        ]

    return resolve


@pytest.mark.parametrize("mapped", [("0.0.0.0",), ("127.0.0.1", "0.0.0.0"), ("192.168.1.5",), ("::",)])
def test_localhost_is_resolved_and_must_be_loopback(mapped):
    monitor = HealthMonitor(lambda: NOW, MemoryStore())
    with pytest.raises(ValueError, match="only listens on loopback") as err:
        HealthServer(monitor, host="localhost", port=0, resolver=_resolver(*mapped))
    assert mapped[-1] in str(err.value)


def test_localhost_resolving_to_loopback_binds_that_address():
    monitor = HealthMonitor(lambda: NOW, MemoryStore())
    with HealthServer(monitor, host="localhost", port=0, resolver=_resolver("127.0.0.1")) as server:
        assert server.address == "127.0.0.1"
        assert _get(server.port)[0] == 503  # no snapshot yet, but it answers


def test_unresolvable_host_is_one_clear_error():
    def fail(host, port, type=0):
        raise socket.gaierror(-2, "Name or service not known")

    with pytest.raises(ValueError, match="does not resolve"):
        HealthServer(HealthMonitor(lambda: NOW, MemoryStore()), host="nosuch.invalid", port=0, resolver=fail)


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback on this machine")
def test_ipv6_loopback_serves():
    monitor = HealthMonitor(lambda: NOW, MemoryStore())
    monitor.update(_inputs())
    with HealthServer(monitor, host="::1", port=0) as server:
        assert server.address == "::1"
        code, body = _get(server.port, host="[::1]")
        assert code == 200 and body["status"] == "ok"


def test_nan_and_infinity_are_served_as_strict_json():
    store = MemoryStore()
    monitor = HealthMonitor(lambda: NOW, store)
    monitor.update(_inputs(net_liquidation=float("nan"), buying_power_used=float("inf")))
    stored = _strict(store.load(HEALTH_KEY))
    assert stored["net_liquidation"] is None and stored["buying_power_used"] is None
    with HealthServer(monitor, port=0) as server:
        code, body = _get(server.port)
    assert code == 503 and body["net_liquidation"] is None
    assert "net liquidation unknown or not positive" in body["reasons"]


def _closed_by_server(socks: list[socket.socket], want: int, limit_s: float = 30.0) -> int:
    """Wait (select, no sleeps) until ``want`` of ``socks`` read EOF; return how many did."""
    pending, closed = set(socks), 0
    deadline = time.monotonic() + limit_s  # a bound on a hang, never part of what is asserted
    while closed < want and pending and time.monotonic() < deadline:
        ready, _, _ = select.select(list(pending), [], [], 0.5)
        for s in ready:
            pending.discard(s)
            try:
                data = s.recv(1)
            except OSError:
                data = b""
            closed += data == b""
    return closed


def test_a_thousand_idle_connections_hold_a_bounded_number_of_threads():
    monitor = HealthMonitor(lambda: NOW, MemoryStore())
    monitor.update(_inputs())
    threads_before = threading.active_count()
    with HealthServer(monitor, port=0, max_connections=4, idle_timeout=60.0) as server:
        socks = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(1000)]
        try:
            assert _closed_by_server(socks, want=996) == 996  # all but the 4 served
            assert server.connections == 4 and server.refused >= 900
            assert threading.active_count() <= threads_before + 1 + 4
        finally:
            for s in socks:
                s.close()
        assert _get(server.port)[0] == 200  # slots come back as clients go


def test_idle_connection_is_closed_after_the_timeout():
    monitor = HealthMonitor(lambda: NOW, MemoryStore())
    with (
        HealthServer(monitor, port=0, idle_timeout=0.2) as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=10) as idle,
    ):
        idle.sendall(b"GET /hea")  # a request that never finishes
        assert idle.recv(1024) == b""  # the server hung up (10 s would fail the test)


CHILD = textwrap.dedent(
    """
    import os, resource, sys
    from datetime import datetime
    from pathlib import Path
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
    from monitoring.health import HealthInputs, HealthMonitor, HealthServer
    from sim.store import FileStore
    store = FileStore(Path(sys.argv[1]), durable=False)
    monitor = HealthMonitor(datetime.now, store)
    with HealthServer(monitor, port=0, idle_timeout=60.0) as server:
        print(server.port, flush=True)
        sys.stdin.readline()  # the parent holds its idle connections open now
        try:
            for i in range(50):  # the trading loop's own state writes
                store.save(f"state/{i}.json", b"{}")
            print("ok", len(os.listdir("/proc/self/fd")), server.connections, flush=True)
        except OSError as exc:
            print("failed", exc, flush=True)
    """
)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to count descriptors")
@pytest.mark.slow  # starts a Python child process (imports numpy/pandas anew)
def test_idle_connections_never_starve_the_trading_process_of_descriptors(tmp_path):
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    socks: list[socket.socket] = []
    try:
        assert child.stdout is not None and child.stdin is not None
        port = int(child.stdout.readline())
        socks = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(300)]
        assert _closed_by_server(socks, want=300 - 8) == 300 - 8  # the default cap of 8 served
        child.stdin.write("go\n")
        child.stdin.flush()
        status, fds, served = child.stdout.readline().split()[:3]
        assert status == "ok", f"state write failed with 300 idle clients: {fds} {served}"
        assert int(served) == 8 and int(fds) < 64
    finally:
        for s in socks:
            s.close()
        child.kill()
        child.wait(10)
