"""One health snapshot of the running system, written to the state store at a fixed cadence and,
in local live mode, served as JSON on a loopback port for a watchdog or a curious human.

The engine fills :class:`HealthInputs` from what it knows; :func:`assess` turns them into a
verdict with the reasons behind it, so "degraded" always says why.

The endpoint lives inside the trading process, so it must never cost that process anything it
needs: it binds only to an address the host name *resolves* to a loopback address (a hosts file
can map ``localhost`` anywhere), serves at most ``max_connections`` clients at once from that
many threads (the rest are closed on arrival), closes a client idle for ``idle_timeout``
seconds, and answers strict JSON (a NaN becomes ``null``).  A flood of idle connections
therefore holds a handful of descriptors, never the ones the state store needs.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import math
import socket
import socketserver
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any

from core.ports import StateStore

HEALTH_KEY = "monitoring/health.json"
Resolver = Callable[..., list[tuple[Any, ...]]]  # socket.getaddrinfo's signature and result


@dataclass(frozen=True)
class HealthInputs:
    """What the engine knows.  ``None`` (and an empty mapping for connections and quote times)
    means the engine does not report that input: the snapshot then says so, field by field."""

    connections: Mapping[str, bool] = field(default_factory=dict)  # e.g. brokerage, dxlink
    last_quote_times: Mapping[str, datetime] = field(default_factory=dict)  # per feed/underlying
    open_groups: int = 0
    breaker_state: str = "armed"  # the risk layer's breaker: armed | tripped:<reason> | paused:<reason>
    net_liquidation: float = 0.0
    buying_power_used: float = 0.0
    last_order_time: datetime | None = None  # the last order the engine acknowledged as submitted
    orders_submitted: int | None = None  # since start; None: the engine does not count orders
    errors_last_hour: int | None = None  # warnings and critical alerts; None: not counted
    unavailable_channels: Mapping[str, str] | None = None  # None: no alert router checked them


@dataclass(frozen=True)
class HealthLimits:
    max_feed_age: timedelta = timedelta(seconds=60)  # STRATEGY_RULES.md: stale quote in live trading
    max_bp_share: float = 0.80  # the largest regime cap; above it something is wrong
    max_errors_per_hour: int = 5


@dataclass(frozen=True)
class HealthSnapshot:
    time: str
    status: str  # ok | degraded | critical
    reasons: tuple[str, ...]
    connections: dict[str, bool]
    feed_age_seconds: dict[str, float]
    open_groups: int
    breaker_state: str
    net_liquidation: float
    buying_power_used: float
    bp_share: float | None
    last_order_time: str | None
    orders_submitted: int | None
    errors_last_hour: int | None
    unavailable_channels: dict[str, str]
    not_available: dict[str, str]  # field -> why it is empty or null (every other field has a value)

    def to_json(self) -> bytes:
        return strict_json(asdict(self))


def strict_json(body: Any) -> bytes:
    """RFC 8259 JSON: non-finite floats (which ``json`` would write as ``NaN``) become ``null``."""
    return json.dumps(_finite(body), sort_keys=True, allow_nan=False).encode("utf-8")


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def assess(inputs: HealthInputs, now: datetime, limits: HealthLimits = HealthLimits()) -> HealthSnapshot:
    critical: list[str] = []
    degraded: list[str] = []
    for name, up in sorted(inputs.connections.items()):
        if not up:
            critical.append(f"{name} disconnected")
    ages = {k: (now - t).total_seconds() for k, t in sorted(inputs.last_quote_times.items())}
    for name, age in ages.items():
        if age > limits.max_feed_age.total_seconds():
            degraded.append(f"{name} feed {age:.0f} s old")
    if inputs.breaker_state != "armed":
        critical.append(f"breaker {inputs.breaker_state}")
    share = inputs.buying_power_used / inputs.net_liquidation if inputs.net_liquidation > 0 else None
    if share is None:
        critical.append("net liquidation unknown or not positive")
    elif share > limits.max_bp_share:
        degraded.append(f"buying power use {share:.0%} above {limits.max_bp_share:.0%}")
    errors = inputs.errors_last_hour
    if errors is not None and errors > limits.max_errors_per_hour:
        degraded.append(f"{errors} errors in the last hour")
    channels = dict(inputs.unavailable_channels or {})
    for name, reason in sorted(channels.items()):
        degraded.append(f"alert channel {name} unavailable: {reason}")
    status = "critical" if critical else "degraded" if degraded else "ok"
    return HealthSnapshot(
        time=now.isoformat(),
        status=status,
        reasons=tuple(critical + degraded),
        connections=dict(inputs.connections),
        feed_age_seconds=ages,
        open_groups=inputs.open_groups,
        breaker_state=inputs.breaker_state,
        net_liquidation=inputs.net_liquidation,
        buying_power_used=inputs.buying_power_used,
        bp_share=share,
        last_order_time=None if inputs.last_order_time is None else inputs.last_order_time.isoformat(),
        orders_submitted=inputs.orders_submitted,
        errors_last_hour=errors,
        unavailable_channels=channels,
        not_available=_not_available(inputs, share),
    )


def _not_available(inputs: HealthInputs, share: float | None) -> dict[str, str]:
    why: dict[str, str] = {}
    if not inputs.connections:
        why["connections"] = "the engine reports no connections to watch"
    if not inputs.last_quote_times:
        why["feed_age_seconds"] = "the engine reported no quote times"
    if share is None:
        why["bp_share"] = "net liquidation unknown or not positive"
    if inputs.last_order_time is None:
        why["last_order_time"] = (
            "the engine does not report its orders"
            if inputs.orders_submitted is None
            else "no order submitted since start"
            if inputs.orders_submitted == 0
            else "orders were submitted but their time was not reported"
        )
    if inputs.orders_submitted is None:
        why["orders_submitted"] = "the engine does not report its orders"
    if inputs.errors_last_hour is None:
        why["errors_last_hour"] = "the engine does not count its alerts"
    if inputs.unavailable_channels is None:
        why["unavailable_channels"] = "no alert router: channels not checked"
    return why


class HealthMonitor:
    """Keeps the latest snapshot and writes it to the store at most once per ``interval``."""

    def __init__(
        self,
        clock: Callable[[], datetime],
        store: StateStore,
        interval: timedelta = timedelta(minutes=1),
        limits: HealthLimits = HealthLimits(),
    ) -> None:
        self._clock = clock
        self._store = store
        self._interval = interval
        self._limits = limits
        self._last_write: datetime | None = None
        self._latest: HealthSnapshot | None = None
        self._lock = threading.Lock()  # the HTTP thread reads while the algorithm thread writes

    def update(self, inputs: HealthInputs) -> HealthSnapshot:
        now = self._clock()
        snap = assess(inputs, now, self._limits)
        with self._lock:
            self._latest = snap
        if self._last_write is None or now - self._last_write >= self._interval:
            self._store.save(HEALTH_KEY, snap.to_json())
            self._last_write = now
        return snap

    def latest(self) -> HealthSnapshot | None:
        with self._lock:
            return self._latest


def loopback_address(host: str, port: int, resolver: Resolver = socket.getaddrinfo) -> tuple[int, tuple]:
    """``(family, sockaddr)`` to bind for ``host``, which must resolve to loopback addresses only.

    The name is resolved here and the resulting address is bound (never the name again), so what
    was checked is what listens.  ``resolver`` is injected in tests (an /etc/hosts mapping)."""
    try:
        infos = resolver(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise ValueError(f"the health endpoint host {host!r} does not resolve: {exc}") from None
    found = [(int(info[0]), tuple(info[4])) for info in infos]
    outside = sorted({str(a[0]) for _, a in found if not _is_loopback(str(a[0]))})
    if not found or outside:
        where = ", ".join(outside) or "nothing"
        raise ValueError(f"the health endpoint only listens on loopback; {host!r} resolves to {where}")
    return found[0]


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return False


class _BoundedServer(socketserver.TCPServer):
    """Accepts on one thread, serves on at most ``limit`` pool threads; a client beyond the limit
    is closed at once, so descriptors and threads stay bounded whatever the clients do."""

    allow_reuse_address = True
    request_queue_size = 128  # the kernel's accept queue: a burst waits there, costing us nothing

    def __init__(self, family: int, address: tuple, handler: type, limit: int) -> None:
        self.address_family = family
        self._slots = threading.BoundedSemaphore(limit)
        self._pool = ThreadPoolExecutor(limit, thread_name_prefix="health-http")
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.refused = 0  # connections closed on arrival because every slot was taken
        self.failed = 0  # connections that ended in an error (reset, broken pipe)
        super().__init__(address, handler)

    @property
    def connections(self) -> int:
        with self._lock:
            return len(self._open)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self.refused += 1
            self.shutdown_request(request)
            return
        with self._lock:
            self._open.add(request)
        self._pool.submit(self._serve, request, client_address)

    def _serve(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:  # a client that resets or stalls mid-reply is not worth a traceback
            self.failed += 1
        finally:
            with self._lock:
                self._open.discard(request)
            self.shutdown_request(request)
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        self.failed += 1

    def server_close(self) -> None:
        super().server_close()
        with self._lock:
            clients = list(self._open)
        for sock in clients:  # wake the workers blocked reading an idle client
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._pool.shutdown(wait=False, cancel_futures=True)


class HealthServer:
    """``GET /health`` on a loopback address only; 503 when not ok, so a watchdog can curl it.

    Serves from a daemon thread; ``port=0`` picks a free port (see ``.port``).  ``host`` may be a
    name (``localhost``) or an address (``127.0.0.1``, ``::1``); see :func:`loopback_address`."""

    def __init__(
        self,
        monitor: HealthMonitor,
        host: str = "127.0.0.1",
        port: int = 8787,
        *,
        max_connections: int = 8,
        idle_timeout: float = 5.0,
        resolver: Resolver = socket.getaddrinfo,
    ) -> None:
        if max_connections < 1 or not idle_timeout > 0:
            raise ValueError("max_connections must be >= 1 and idle_timeout positive")
        family, address = loopback_address(host, port, resolver)
        self._server = _BoundedServer(family, address, _handler(monitor, idle_timeout), max_connections)
        self.address = str(self._server.server_address[0])
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, name="health-http", daemon=True)

    @property
    def connections(self) -> int:
        """Clients being served now (at most ``max_connections``)."""
        return self._server.connections

    @property
    def refused(self) -> int:
        """Clients closed on arrival because every slot was taken."""
        return self._server.refused

    def start(self) -> HealthServer:
        if not self._thread.is_alive():
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> HealthServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _handler(monitor: HealthMonitor, idle_timeout: float) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        timeout = idle_timeout  # per read: an idle or trickling client is closed after this

        def do_GET(self) -> None:
            if self.path.split("?")[0] not in ("/health", "/health/"):
                self._reply(404, {"error": "not found; try /health"})
                return
            snap = monitor.latest()
            if snap is None:
                self._reply(503, {"status": "starting", "reasons": ["no snapshot yet"]})
                return
            self._reply(200 if snap.status == "ok" else 503, asdict(snap))

        def _reply(self, code: int, body: Any) -> None:
            data = strict_json(body)
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # requests are not worth a log line
            pass

    return Handler
