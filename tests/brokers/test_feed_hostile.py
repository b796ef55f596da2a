"""A hostile or broken DXLink server, through the real SDK: old and reordered events, another field
order, absurd numbers, an 8 MB frame.  The cache's clock and the server's event times are one
injected clock, so freshness is asserted without reading the wall clock."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

import pytest

from tests.brokers.conftest import need_sdk, wait_for

need_sdk()

from brokers.feed_status import FeedState  # noqa: E402
from brokers.quote_cache import Kind, QuoteCache  # noqa: E402
from testing.loopback.dxlink import event_values  # noqa: E402
from tests.brokers.test_feed import SYMBOLS, make_feed, stop_clean  # noqa: E402

T0 = datetime(2025, 3, 7, 10, 30)
MAX_AGE = timedelta(seconds=60)  # STRATEGY_RULES.md: a quote older than this is stale (live)


class Clock:
    """The cache's clock and the loopback server's event clock (epoch ms of the same instant)."""

    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> datetime:
        return self.t

    def ms(self, t: datetime | None = None) -> int:
        return round((self.t if t is None else t).timestamp() * 1000)


@pytest.fixture
def clocked(loopback):
    clock = Clock()
    loopback.dx_state.clock_ms = clock.ms
    cache = QuoteCache(clock)
    return loopback, clock, cache


def fresh(cache: QuoteCache, sym: str) -> bool:
    q = cache.quote(sym)
    return q is not None and cache.now() - q.as_of <= MAX_AGE


def test_old_events_never_look_fresh_nor_replace_newer_ones(clocked):
    """The issue's reproduction: an event 60 s older than the stored one, and ten-minute-old quotes
    re-sent after a reconnect.  Stale-served count (a stale marker read as fresh) must be 0."""
    lb, clock, cache = clocked
    old_a, old_b, new_c = SYMBOLS[0], SYMBOLS[1], SYMBOLS[-1]
    stale_markers = {0.5, 0.25}
    feed = make_feed(lb, cache)
    feed.subscribe(SYMBOLS[:-1], kinds=(Kind.QUOTE,))
    feed.start()
    served_stale = samples = 0

    def sample() -> None:
        nonlocal served_stale, samples
        for s in SYMBOLS:
            q = cache.quote(s)
            samples += q is not None
            served_stale += q is not None and fresh(cache, s) and q.value.bid in stale_markers

    try:
        wait_for(lambda: all(fresh(cache, s) for s in SYMBOLS[:-1]))
        sixty_ago = clock.ms(T0 - timedelta(seconds=60))
        lb.dx_state.overrides[("Quote", old_a)] = {
            "bidPrice": 0.5,
            "bidTime": sixty_ago,
            "askTime": sixty_ago,
        }
        wait_for(lambda: (sample(), cache.outdated[Kind.QUOTE] >= 2)[1])
        assert cache.quote(old_a).value.bid != 0.5 and cache.quote(old_a).as_of == T0
        # Five quiet minutes later the server re-sends ten-minute-old quotes after a reconnect.
        clock.t = T0 + timedelta(minutes=5)
        ten_ago = clock.ms(clock.t - timedelta(minutes=10))
        for s in (old_b, new_c):
            lb.dx_state.overrides[("Quote", s)] = {"bidPrice": 0.25, "bidTime": ten_ago, "askTime": ten_ago}
        lb.run(lb.dx.close_all(1012))
        wait_for(lambda: feed.status().connects >= 2)
        feed.subscribe([new_c], kinds=(Kind.QUOTE,))
        wait_for(lambda: (sample(), cache.quote(new_c) is not None)[1])
        assert cache.quote(new_c).as_of == clock.t - timedelta(minutes=10)
        assert not fresh(cache, new_c) and not fresh(cache, old_b)
        wait_for(lambda: fresh(cache, SYMBOLS[2]))  # the rest of the stream is of now
        for _ in range(50):
            sample()
    finally:
        stop_clean(feed)
    assert samples > 100 and served_stale == 0


def test_fields_are_mapped_by_the_announced_order(clocked, caplog):
    lb, _clock, cache = clocked
    order = list(event_values("Quote", SYMBOLS[0], 0, 0))
    i, j = order.index("bidPrice"), order.index("bidSize")
    order[i], order[j] = order[j], order[i]  # bidSize where the SDK expects bidPrice
    lb.dx_state.announce["Quote"] = order
    feed = make_feed(lb, cache)
    feed.subscribe(SYMBOLS[:3], kinds=(Kind.QUOTE,))
    with caplog.at_level(logging.WARNING, logger="brokers"):
        feed.start()
        try:
            wait_for(lambda: all(cache.quote(s) for s in SYMBOLS[:3]))
        finally:
            stop_clean(feed)
    for s in SYMBOLS[:3]:
        q = cache.quote(s).value
        sent = event_values("Quote", s, 0, 0)
        assert q.bid_size == 10 and q.ask_size == 12
        assert abs((q.bid + q.ask) / 2 - (sent["bidPrice"] + sent["askPrice"]) / 2) < 0.2  # not 10
    assert any("another Quote field order" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("bad", [1e308, -1, "1e999", float("inf"), "NaN"])
def test_absurd_prices_never_replace_the_last_good_quote(clocked, bad):
    lb, clock, cache = clocked
    sym = SYMBOLS[0]
    feed = make_feed(lb, cache)
    feed.subscribe(SYMBOLS[:5], kinds=(Kind.QUOTE,))
    feed.start()
    try:
        wait_for(lambda: all(cache.quote(s) for s in SYMBOLS[:5]))
        lb.dx_state.overrides[("Quote", sym)] = {"bidPrice": bad, "askPrice": bad}
        clock.t += timedelta(seconds=30)  # frames of this time carry the absurd price
        later = clock.ms()
        wait_for(lambda: cache.quote(SYMBOLS[1]).value.event_time_ms == later)  # such a frame was read
        dropped_by_sdk = bad in (float("inf"), "NaN")  # the SDK's own model refuses these
        assert dropped_by_sdk or feed.status().rejected.get("Quote", 0) >= 1
        q = cache.quote(sym)  # frames of T0 in flight may still have replaced it: by one of T0
        assert q.value.valid and q.as_of == T0, "the last good quote, not refreshed"
        assert feed.status().connects == 1  # a bad number is not a connection fault
    finally:
        stop_clean(feed)


def test_an_8_mb_frame_is_reported_as_oversized_and_keeps_the_chunk_size(clocked):
    lb, _clock, cache = clocked
    feed = make_feed(lb, cache, chunk_size=50, watchdog_s=30.0)  # the frame takes its time
    feed.subscribe(SYMBOLS, kinds=(Kind.GREEKS,))
    feed.start()
    try:
        wait_for(lambda: feed.status().state is FeedState.CONNECTED and cache.greeks(SYMBOLS[0]) is not None)
        frame = json.dumps({"type": "KEEPALIVE", "channel": 0, "pad": "x" * 8_000_000})
        lb.run(lb.dx.send_all(frame), timeout=30)
        wait_for(lambda: feed.status().connects >= 2, timeout=15)
        st = feed.status()
        assert any(cause.startswith("oversized frame from the server") for cause in st.failures), st.failures
        assert not any("too long" in cause for cause in st.failures)
        assert st.chunk_size == 50
    finally:
        stop_clean(feed)
