"""Configuration, state and backoff of the DXLink feed supervisor.

Kept apart from the supervisor so the rest of the system (health monitoring, the dual feed, tests)
can read feed status without importing anything network-related.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class FeedState(StrEnum):
    STOPPED = "stopped"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    FAILED = "failed"  # permanent: refused credentials; needs a person, not a retry


@dataclass(frozen=True, slots=True)
class FeedConfig:
    """Defaults suit production; tests shrink the timings.

    ``chunk_size``: symbols per FEED_SUBSCRIPTION message (a whole chain in one message exceeds
    the server's frame limit and gets the connection closed).  ``watchdog_s``: no message at all
    (data or KEEPALIVE) for this long means the feed is dead.  ``connect_timeout_s``: the REST
    token call, websocket upgrade, SETUP/AUTH and channel opening must finish within it (the SDK
    itself waits forever for AUTHORIZED).  Backoff is capped exponential with jitter and resets
    after a connection stayed up ``stable_s``.
    """

    chunk_size: int = 250
    watchdog_s: float = 60.0
    connect_timeout_s: float = 20.0
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 30.0
    stable_s: float = 30.0
    max_auth_failures: int = 3
    aggregation_s: float = 0.1
    max_batch: int = 10_000
    tick_s: float = 0.5

    def __post_init__(self) -> None:
        if self.chunk_size < 1 or self.max_batch < 1 or self.max_auth_failures < 1:
            raise ValueError("chunk_size, max_batch and max_auth_failures must be >= 1")
        if min(self.watchdog_s, self.connect_timeout_s, self.backoff_base_s, self.tick_s) <= 0:
            raise ValueError("timings must be positive")
        if self.backoff_cap_s < self.backoff_base_s:
            raise ValueError("backoff_cap_s must be >= backoff_base_s")


@dataclass(frozen=True, slots=True)
class FeedStatus:
    state: FeedState
    reason: str = ""
    connects: int = 0  # connections that reached CONNECTED
    disconnects: int = 0  # connections lost (any cause) after CONNECTED
    attempts: int = 0  # connection attempts, successful or not
    failures: Mapping[str, int] = field(default_factory=dict)  # attempt failures by cause
    events: Mapping[str, int] = field(default_factory=dict)  # events received by kind
    subscribed: int = 0  # symbols wanted (all kinds)
    subscription_messages: int = 0  # FEED_SUBSCRIPTION messages sent (chunks)
    chunk_size: int = 0  # symbols per message now (halved after the server refused a long one)
    rejected: Mapping[str, int] = field(default_factory=dict)  # implausible events, by kind
    outdated: Mapping[str, int] = field(default_factory=dict)  # events older than the stored ones
    last_message_age_s: float | None = None  # seconds since the last message of any kind
    next_retry_s: float | None = None  # backoff delay chosen for the current wait

    @property
    def alive(self) -> bool:
        return self.state is FeedState.CONNECTED

    def describe(self) -> str:
        state = f"{self.state.value}({self.reason})" if self.reason else self.state.value
        text = f"{state} connects={self.connects} disconnects={self.disconnects} attempts={self.attempts}"
        for name, counts in (("rejected", self.rejected), ("outdated", self.outdated)):
            if counts:
                text += f" {name}=" + ",".join(f"{k}:{n}" for k, n in sorted(counts.items()))
        return text


class Backoff:
    """Capped exponential backoff with "equal jitter": delay in [d/2, d] for d = base * 2**n.

    Jitter keeps a fleet of clients from reconnecting in lockstep after a server restart; the
    random source is injected (seeded in tests) so runs are reproducible.
    """

    def __init__(self, base: float, cap: float, rng: random.Random):
        self.base, self.cap, self._rng = base, cap, rng
        self.attempt = 0

    def next_delay(self) -> float:
        ceiling = min(self.cap, self.base * (2.0 ** min(self.attempt, 30)))
        self.attempt += 1
        return ceiling * (0.5 + 0.5 * self._rng.random())

    def reset(self) -> None:
        self.attempt = 0
