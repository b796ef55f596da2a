"""The real tastytrade SDK against the loopback DXLink/REST servers: subscribe, receive, survive faults.

Every fault cycle checks three things: the feed recovers (or reports a permanent failure) within
10 s, a receive time newer than the fault is only ever attached to data sent after the fault
(never stale data presented as fresh), and stopping leaves no thread and no pending task behind.
"""

from __future__ import annotations

import json
import time
from datetime import datetime

import pytest

from tests.brokers.conftest import fast_config, need_sdk, wait_for, wall_clock

need_sdk()

from brokers.feed import FeedSupervisor  # noqa: E402
from brokers.feed_status import FeedState  # noqa: E402
from brokers.quote_cache import Kind, QuoteCache  # noqa: E402
from testing.loopback.dxlink import event_values  # noqa: E402

SYMBOLS = [f".SPXW250307{'P' if i % 2 else 'C'}{5000 + 5 * i}" for i in range(20)]
RECOVERY_S = 10.0
RECOVERY_TIMES: dict[str, float] = {}


def make_feed(lb, cache: QuoteCache, **cfg) -> FeedSupervisor:
    return FeedSupervisor(lb.credentials, cache, fast_config(**cfg), client_kwargs={"trust_env": False})


def all_have_greeks(cache: QuoteCache, symbols=SYMBOLS, after: datetime | None = None) -> bool:
    for s in symbols:
        g = cache.greeks(s)
        if g is None or (after is not None and g.received <= after):
            return False
    return True


def stop_clean(feed: FeedSupervisor) -> None:
    assert feed.stop(10.0)
    assert feed.leftover_tasks == []


def test_subscribe_receives_greeks_quotes_and_summary(loopback):
    cache = QuoteCache(wall_clock)
    feed = make_feed(loopback, cache)
    feed.subscribe(SYMBOLS)
    feed.start()
    try:
        wait_for(lambda: all(cache.snapshot(SYMBOLS)[s].summary is not None for s in SYMBOLS))
        wait_for(lambda: all_have_greeks(cache) and all(cache.quote(s) for s in SYMBOLS))
        st = feed.status()
        assert st.state is FeedState.CONNECTED and st.connects == 1 and st.subscribed == len(SYMBOLS)
        assert feed.alive()
        sym = SYMBOLS[1]  # a put
        g = cache.greeks(sym).value
        expected = event_values("Greeks", sym, 0)  # delta and IV depend on the symbol only
        assert (g.delta, g.iv, g.gamma, g.theta, g.vega) == pytest.approx(
            (expected["delta"], expected["volatility"], 0.0123, -0.45, 0.87)
        )
        assert g.delta < 0
        q = cache.quote(sym).value
        assert q.valid and q.ask > q.bid and (q.bid_size, q.ask_size) == (10, 12)
        assert cache.summary(sym).value.open_interest == event_values("Summary", sym, 0)["openInterest"]
        assert st.events["Greeks"] >= len(SYMBOLS)
    finally:
        stop_clean(feed)
    assert feed.status().state is FeedState.STOPPED


def test_symbols_added_while_connected_arrive_without_reconnect(loopback):
    cache = QuoteCache(wall_clock)
    feed = make_feed(loopback, cache)
    feed.subscribe(SYMBOLS[:5])
    feed.start()
    try:
        wait_for(lambda: all_have_greeks(cache, SYMBOLS[:5]))
        feed.subscribe(SYMBOLS[5:], kinds=(Kind.GREEKS,))
        wait_for(lambda: all_have_greeks(cache))
        assert cache.quote(SYMBOLS[-1]) is None  # only Greeks were asked for
        assert feed.status().connects == 1
    finally:
        stop_clean(feed)


def quiet_ticks(lb) -> None:
    """Large chains: the subscription snapshots are what the test waits for.  Ticking 1,200
    symbols every 0.1 s is a flood that a loaded machine cannot parse in time (a flake, not a
    finding: throughput is measured in bench/broker_feed.py)."""
    lb.dx_state.tick_s = 5.0


def test_large_chain_is_subscribed_in_chunks(loopback):
    chain = [f".SPXW250307{'P' if i % 2 else 'C'}{3000 + i}" for i in range(1200)]
    quiet_ticks(loopback)
    cache = QuoteCache(wall_clock)
    feed = make_feed(loopback, cache, chunk_size=100)
    feed.subscribe(chain, kinds=(Kind.GREEKS, Kind.QUOTE))
    feed.start()
    try:
        wait_for(lambda: all_have_greeks(cache, chain), timeout=30)
        assert loopback.dx_state.largest_subscription <= 100
        assert feed.status().subscription_messages == 2 * 12
        assert feed.status().connects == 1
    finally:
        stop_clean(feed)


def test_whole_chain_in_one_message_is_refused_and_chunks_shrink(loopback):
    """Why chunks: past the server's frame limit (32 KiB here) it closes the socket (1009) and the
    SDK reports "Subscription message too long"; the supervisor halves its chunk size and retries."""
    chain = [f".SPXW250307C{3000 + i}" for i in range(1500)]
    quiet_ticks(loopback)
    cache = QuoteCache(wall_clock)
    feed = make_feed(loopback, cache, chunk_size=5000)
    feed.subscribe(chain, kinds=(Kind.GREEKS,))
    feed.start()
    try:
        wait_for(lambda: all_have_greeks(cache, chain), timeout=30)
        st = feed.status()
        assert st.failures.get("TastytradeError", 0) >= 1  # "Subscription message too long!"
        assert st.chunk_size < 5000 and loopback.dx_state.largest_subscription <= st.chunk_size
    finally:
        stop_clean(feed)


def _garbage(kind: str) -> str | bytes:
    return {
        "garbage_text": "}{ not json at all",
        "garbage_shape": json.dumps({"hello": "world"}),
        "garbage_length": json.dumps({"type": "FEED_DATA", "channel": 3, "data": ["Greeks", [".X", 1, 2]]}),
        "garbage_binary": b"\x00\x01\x02binary",
        "oversized": json.dumps({"type": "KEEPALIVE", "channel": 0, "pad": "x" * 100_000}),
    }[kind]


FAULTS = [
    "close_1000",
    "close_1012",
    "tcp_reset",
    "stall",
    "garbage_text",
    "garbage_shape",
    "garbage_length",
    "garbage_binary",
    "oversized",
]


@pytest.mark.parametrize("fault", FAULTS)
def test_fault_cycle_recovers_within_10s(loopback, fault):
    cache = QuoteCache(wall_clock)
    feed = make_feed(loopback, cache, **({"watchdog_s": 1.5} if fault == "stall" else {}))
    feed.subscribe(SYMBOLS)
    feed.start()
    try:
        wait_for(lambda: all_have_greeks(cache) and feed.status().state is FeedState.CONNECTED)
        before = {s: cache.greeks(s) for s in SYMBOLS}
        t_fault = datetime.now()
        t0 = time.monotonic()
        dx = loopback.dx
        if fault.startswith("close_"):
            loopback.run(dx.close_all(int(fault.split("_")[1])))
        elif fault == "tcp_reset":
            loopback.run(dx.reset_all())
        elif fault == "stall":
            loopback.run(dx.stall_all())
        else:
            loopback.run(dx.send_all(_garbage(fault)))
        wait_for(lambda: feed.status().connects >= 2, timeout=RECOVERY_S)
        wait_for(lambda: all_have_greeks(cache, after=t_fault), timeout=RECOVERY_S)
        RECOVERY_TIMES[fault] = time.monotonic() - t0  # a figure (see the bench), each wait a bound
        st = feed.status()
        assert st.state is FeedState.CONNECTED and st.disconnects >= 1
        for s in SYMBOLS:  # a fresh receive time always comes with data sent after the fault
            now_g = cache.greeks(s)
            assert now_g.received > t_fault
            assert now_g.value.event_time_ms > before[s].value.event_time_ms
        if fault == "stall":
            assert "watchdog" in "".join(st.failures)
    finally:
        stop_clean(feed)


def test_nan_fields_never_refresh_a_value(loopback):
    """dxfeed sends "NaN" for unknown values; the SDK drops such events, so the symbol's last good
    value keeps its old receive time and ages out, while the other symbols stay fresh."""
    cache = QuoteCache(wall_clock)
    feed = make_feed(loopback, cache)
    feed.subscribe(SYMBOLS)
    feed.start()
    bad_str, bad_float = SYMBOLS[0], SYMBOLS[1]
    try:
        wait_for(lambda: all_have_greeks(cache))
        loopback.dx_state.overrides[("Greeks", bad_str)] = {"delta": "NaN"}
        loopback.dx_state.overrides[("Greeks", bad_float)] = {"volatility": float("nan")}
        loopback.dx_state.overrides[("Quote", bad_str)] = {"bidPrice": "NaN"}
        # Everything the server generates from now on carries the NaNs (its event times are its
        # clock's); once the good symbols show such data, every earlier (good) frame has been read.
        t_set = loopback.dx_state.clock_ms()
        wait_for(lambda: all(cache.greeks(s).value.event_time_ms > t_set for s in SYMBOLS[2:]))
        after_set = t_set // 1000 * 1000 + 1000  # Quote times have second precision
        wait_for(lambda: all(cache.quote(s).value.event_time_ms >= after_set for s in SYMBOLS[2:]))
        frozen = {s: cache.greeks(s) for s in (bad_str, bad_float)}
        frozen_quote = cache.quote(bad_str)
        t_mark = datetime.now()
        wait_for(lambda: all_have_greeks(cache, SYMBOLS[2:], after=t_mark))
        time.sleep(0.5)
        for s in (bad_str, bad_float):
            assert cache.greeks(s) == frozen[s]  # same value, same (old) receive time
            assert cache.greeks(s).value.valid
        assert cache.quote(bad_str) == frozen_quote
        assert feed.status().connects == 1  # NaN is not a connection fault
        loopback.dx_state.overrides.clear()
        t_clear = datetime.now()
        wait_for(lambda: all_have_greeks(cache, after=t_clear))
    finally:
        stop_clean(feed)


def test_unsubscribe_forgets_symbols(loopback):
    cache = QuoteCache(wall_clock)
    feed = make_feed(loopback, cache)
    feed.subscribe(SYMBOLS)
    feed.start()
    try:
        wait_for(lambda: all_have_greeks(cache))
        gone = SYMBOLS[:5]
        feed.unsubscribe(gone)
        wait_for(lambda: all(gone[0] not in c.subs.get(3, set()) for c in loopback.dx.conns))
        time.sleep(0.3)
        assert all(cache.greeks(s) is None for s in gone)
        assert feed.status().subscribed == len(SYMBOLS) - 5
        t_mark = datetime.now()
        wait_for(lambda: all_have_greeks(cache, SYMBOLS[5:], after=t_mark))
        assert all(cache.greeks(s) is None for s in gone)
    finally:
        stop_clean(feed)


@pytest.mark.parametrize(
    ("setup", "expect"),
    [
        ("oauth_401", "refused the credentials (HTTP 401)"),
        ("oauth_400_rfc", "refused the credentials (HTTP 400)"),
        ("quote_token_403", "streamer token refused (HTTP 403)"),
        ("dxlink_token", "streamer refused authorization"),
    ],
)
def test_refused_auth_is_reported_as_permanent_failure(loopback, setup, expect):
    rs = loopback.rest_state
    if setup == "oauth_401":
        rs.refresh_token = "someone-else's-token"
    elif setup == "oauth_400_rfc":
        rs.token_status = 400  # RFC 6749 body, which the SDK's error parser cannot read
    elif setup == "quote_token_403":
        rs.quote_token_status = 403
    else:
        loopback.dx_state.refuse_auth = True
    cache = QuoteCache(wall_clock)
    feed = make_feed(loopback, cache)
    feed.subscribe(SYMBOLS)
    feed.start()
    try:
        took = wait_for(lambda: feed.status().state is FeedState.FAILED, timeout=RECOVERY_S)
        RECOVERY_TIMES[f"refused:{setup}"] = took
        st = feed.status()
        assert expect in st.reason
        assert st.connects == 0 and not feed.alive()
        attempts = st.attempts
        time.sleep(0.5)
        assert feed.status().attempts == attempts  # not retried forever
    finally:
        stop_clean(feed)


def test_server_errors_on_token_endpoint_are_retried(loopback):
    loopback.rest_state.token_status = 503
    cache = QuoteCache(wall_clock)
    feed = make_feed(loopback, cache)
    feed.subscribe(SYMBOLS)
    feed.start()
    try:
        wait_for(lambda: feed.status().attempts >= 3)
        assert feed.status().state is FeedState.RECONNECTING
        loopback.rest_state.token_status = None
        wait_for(lambda: feed.status().state is FeedState.CONNECTED and all_have_greeks(cache))
    finally:
        stop_clean(feed)


def test_stalled_handshake_times_out_and_stop_is_clean(loopback):
    """A server that accepts the socket and then says nothing (the SDK would wait forever)."""
    loopback.dx.stall_new = True  # accept the socket, then never answer
    cache = QuoteCache(wall_clock)
    feed = make_feed(loopback, cache, connect_timeout_s=0.8)
    feed.subscribe(SYMBOLS)
    feed.start()
    try:
        wait_for(lambda: "connect timeout" in feed.status().reason, timeout=RECOVERY_S)
        assert feed.status().state is FeedState.RECONNECTING
    finally:
        stop_clean(feed)  # returns, though the SDK itself would wait forever


def test_recovery_times_summary(capsys):
    """Prints the measured recovery times (run with -s to see them in the report)."""
    if RECOVERY_TIMES:
        with capsys.disabled():
            print(
                "\nrecovery times (s): "
                + ", ".join(f"{k}={v:.2f}" for k, v in sorted(RECOVERY_TIMES.items()))
            )
