"""DXLink feed under faults, through the real SDK, the supervisor and the cache (part of
``bench/broker_feed.py``): recovery time after a reconnect, and the stale-served count.

Recovery: a loopback server streams Quote and Greeks for 200 symbols every 0.1 s; the server drops
every connection (close 1012, then a TCP reset, alternating) and the time until every symbol has
Greeks received after the drop is one sample.  Silence: the server stops sending anything (no
data, no KEEPALIVE) on a live connection; with the watchdog shortened to 1 s, the time until every
symbol is fresh again is the watchdog plus a reconnect (the production default, 60 s, is stated).

Stale served (the adversarial run of issue 13): 50 symbols stream fresh quotes; then the server
sends, for half of them, quotes 60 s older than the ones already stored (bid 0.50), and after a
reconnect re-sends ten-minute-old quotes (bid 0.25) for the other half.  Every 5 ms a reader takes
every symbol's quote and asks: does it look fresh (at most 60 s old, the live data-quality limit)
while it is one of those old quotes?  Counted for the cache (freshness from the events' own time,
what the system uses; must be 0) and, on the same reads, for a receive-time cache fed the same
events through the update hook (last one wins, stamped on arrival: what the cache did before).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

MAX_AGE = timedelta(seconds=60)
RECOVERY_SYMBOLS = 200
RECOVERY_CYCLES = 8
STALL_CYCLES = 3
STALL_WATCHDOG_S = 1.0
STALE_SYMBOLS = 50
SAMPLE_S = 1.5
MARKERS = (0.5, 0.25)


def _symbols(n: int) -> list[str]:
    return [f".SPXW250307{'P' if i % 2 else 'C'}{5000 + 5 * i}" for i in range(n)]


def _wait(predicate: Callable[[], bool], limit_s: float = 30.0) -> bool:
    deadline = time.perf_counter() + limit_s
    while time.perf_counter() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    return False


def _started(lb: Any, cache: Any, symbols: list[str], watchdog_s: float = 60.0) -> Any:
    from brokers.feed import FeedSupervisor
    from brokers.feed_status import FeedConfig

    feed = FeedSupervisor(
        lb.credentials,
        cache,
        FeedConfig(
            backoff_base_s=0.05, backoff_cap_s=0.2, stable_s=0.5, chunk_size=100, watchdog_s=watchdog_s
        ),
        client_kwargs={"trust_env": False},
    )
    feed.subscribe(symbols)
    feed.start()
    return feed


def _fault(lb: Any, name: str) -> Any:
    """The server-side coroutine of fault ``name`` (close 1012, TCP reset, or silence)."""
    faults = {"close": lambda: lb.dx.close_all(1012), "reset": lb.dx.reset_all, "stall": lb.dx.stall_all}
    return faults[name]()


def recovery_times(faults: list[str], watchdog_s: float = 60.0) -> list[float]:
    """Seconds from each fault until every symbol has Greeks received after it, on a new connection."""
    from brokers.quote_cache import QuoteCache
    from testing.loopback.broker import LoopbackBroker, point_sdk_at

    syms = _symbols(RECOVERY_SYMBOLS)
    times: list[float] = []
    with LoopbackBroker(tick_s=0.1, keepalive_s=0.5) as lb, point_sdk_at(lb.rest_url):
        cache = QuoteCache(datetime.now)
        feed = _started(lb, cache, syms, watchdog_s)
        try:
            if not _wait(lambda: all(cache.greeks(s) for s in syms)):
                return []
            for name in faults:
                connects = feed.status().connects
                t_fault, t0 = datetime.now(), time.perf_counter()
                lb.run(_fault(lb, name))

                def recovered(after: datetime = t_fault, before: int = connects) -> bool:
                    if feed.status().connects <= before:
                        return False
                    return all((g := cache.greeks(s)) is not None and g.received > after for s in syms)

                if _wait(recovered):
                    times.append(time.perf_counter() - t0)
        finally:
            feed.stop()
    return times


def stale_served() -> tuple[int, int, int]:
    """(stale served by ``as_of``, stale served by receive time, samples)."""
    from brokers.quote_cache import Kind, QuoteCache
    from testing.loopback.broker import LoopbackBroker, point_sdk_at

    syms = _symbols(STALE_SYMBOLS)
    older, resent = syms[: STALE_SYMBOLS // 2], syms[STALE_SYMBOLS // 2 :]
    by_as_of = by_received = samples = 0
    naive: dict[str, tuple[float, datetime]] = {}  # the receive-time cache: symbol -> (bid, received)

    def arrived(kind: Kind, events: Any, received: datetime) -> None:
        if kind == Kind.QUOTE:
            naive.update((e.event_symbol, (float(e.bid_price), received)) for e in events)

    with LoopbackBroker(tick_s=0.05, keepalive_s=0.5) as lb, point_sdk_at(lb.rest_url):
        cache = QuoteCache(datetime.now, on_update=arrived)
        feed = _started(lb, cache, syms)

        def sample_for(seconds: float) -> None:
            nonlocal by_as_of, by_received, samples
            end = time.perf_counter() + seconds
            while time.perf_counter() < end:
                now = cache.now()
                for s in syms:
                    q, n = cache.get(Kind.QUOTE, s), naive.get(s)
                    if q is None or n is None:
                        continue
                    samples += 1
                    by_as_of += q.value.bid in MARKERS and now - q.as_of <= MAX_AGE
                    by_received += n[0] in MARKERS and now - n[1] <= MAX_AGE
                time.sleep(0.005)

        def old_quote(bid: float, age: timedelta) -> dict[str, Any]:
            t = int((time.time() - age.total_seconds()) * 1000)
            return {"bidPrice": bid, "bidTime": t, "askTime": t}

        try:
            if not _wait(lambda: all(cache.quote(s) for s in syms)):
                return -1, -1, 0
            for s in older:
                lb.dx_state.overrides[("Quote", s)] = old_quote(0.5, timedelta(seconds=60))
            sample_for(SAMPLE_S)
            for s in resent:
                lb.dx_state.overrides[("Quote", s)] = old_quote(0.25, timedelta(minutes=10))
            lb.run(lb.dx.close_all(1012))
            sample_for(SAMPLE_S)
        finally:
            feed.stop()
    return by_as_of, by_received, samples


def rows(row: Callable[..., dict]) -> list[dict]:
    from brokers.feed_status import FeedConfig

    drops = recovery_times(["close", "reset"] * (RECOVERY_CYCLES // 2))
    stalls = recovery_times(["stall"] * STALL_CYCLES, STALL_WATCHDOG_S)
    served, by_received, samples = stale_served()
    note = f"{len(drops)} of {RECOVERY_CYCLES} drops (close 1012 / TCP reset), {RECOVERY_SYMBOLS} symbols"
    nan = float("nan")
    return [
        row(
            "dxlink recovery after a drop, median",
            statistics.median(drops) if drops else nan,
            "s",
            None,
            note,
        ),
        row(
            "dxlink recovery after a drop, max",
            max(drops) if drops else nan,
            "s",
            "< 10",
            "until every symbol is fresh",
        ),
        row(
            "dxlink silence detection (default)",
            FeedConfig().watchdog_s,
            "s",
            None,
            "FeedConfig.watchdog_s: no message at all (data or KEEPALIVE) for this long -> reconnect",
        ),
        row(
            f"dxlink recovery after silence, watchdog {STALL_WATCHDOG_S:g} s",
            max(stalls) if len(stalls) == STALL_CYCLES else nan,
            "s",
            None,
            f"max of {STALL_CYCLES} stalls: the watchdog plus a reconnect (with the default: ~60 s + the same)",
        ),
        row(
            "dxlink stale quotes served as fresh",
            served,
            "samples",
            "0",
            f"of {samples:,} reads: 60 s older events, 10-minute-old quotes re-sent after a reconnect",
        ),
        row(
            "  same reads judged by receive time",
            by_received,
            "samples",
            None,
            "the same reads from a receive-time cache fed the same events (the old cache)",
        ),
    ]
