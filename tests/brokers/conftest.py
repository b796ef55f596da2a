"""Fixtures for the broker tests: a loopback Tastytrade (REST + DXLink) and a thread-leak guard.

Only the fixtures import the SDK-side helpers, so the SDK-free tests in this folder still run
where tastytrade and websockets are missing (LEAN's image); SDK tests skip there with a reason.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest


def need_sdk() -> None:
    pytest.importorskip("tastytrade", reason="tastytrade SDK not installed (LEAN image)")
    pytest.importorskip("websockets", reason="websockets not installed (LEAN image)")


@pytest.fixture
def no_leaked_threads() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        extra = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not extra:
            return
        time.sleep(0.05)
    pytest.fail(f"threads leaked: {[t.name for t in extra]}")


@pytest.fixture
def loopback(no_leaked_threads: None) -> Iterator[Any]:
    need_sdk()
    from testing.loopback.broker import LoopbackBroker, point_sdk_at

    broker = LoopbackBroker(tick_s=0.1, keepalive_s=0.5)
    broker.start()
    try:
        with point_sdk_at(broker.rest_url):
            yield broker
    finally:
        broker.stop()


def fast_config(**overrides: Any) -> Any:
    """Short backoffs for quick recoveries; the watchdog and the connect timeout stay long enough
    that a loaded machine (the SDK parsing slowly, an 8 MB frame in transit) never trips them by
    accident; the tests of those two pass short ones."""
    from brokers.feed_status import FeedConfig

    values = dict(
        watchdog_s=5.0,
        connect_timeout_s=10.0,
        backoff_base_s=0.1,
        backoff_cap_s=0.5,
        stable_s=0.5,
        tick_s=0.1,
        chunk_size=50,
        max_auth_failures=2,
    )
    values.update(overrides)
    return FeedConfig(**values)


def wait_for(predicate: Any, timeout: float = 10.0, step: float = 0.02) -> float:
    """Seconds until ``predicate()`` held; fails the test after ``timeout``."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if predicate():
            return time.monotonic() - t0
        time.sleep(step)
    pytest.fail(f"condition not met within {timeout} s")


def wall_clock() -> datetime:
    return datetime.now()
