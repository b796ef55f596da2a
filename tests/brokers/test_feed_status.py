"""Backoff, feed configuration and status: pure, no network."""

from __future__ import annotations

import random

import pytest

from brokers.feed_status import Backoff, FeedConfig, FeedState, FeedStatus


def test_backoff_is_capped_exponential_with_seeded_jitter():
    a = Backoff(1.0, 30.0, random.Random(7))
    delays = [a.next_delay() for _ in range(8)]
    for n, d in enumerate(delays):
        ceiling = min(30.0, 2.0**n)
        assert ceiling / 2 <= d <= ceiling
    b = Backoff(1.0, 30.0, random.Random(7))
    assert [b.next_delay() for _ in range(8)] == delays  # same seed, same run
    a.reset()
    assert a.next_delay() <= 1.0


def test_config_defaults_and_validation():
    cfg = FeedConfig()
    assert cfg.watchdog_s == 60.0 and cfg.chunk_size > 0
    with pytest.raises(ValueError):
        FeedConfig(chunk_size=0)
    with pytest.raises(ValueError):
        FeedConfig(backoff_base_s=5.0, backoff_cap_s=1.0)


def test_status_describe():
    st = FeedStatus(FeedState.FAILED, "refused", attempts=3)
    assert not st.alive and st.describe().startswith("failed(refused)")
    assert FeedStatus(FeedState.CONNECTED).alive
