"""Secrets never reach logs, statuses or error messages, through a full session + feed cycle:
connect, stream, a dropped connection, reconnect, account reads, an emergency dry run, and
refused credentials — with every logger (ours, the SDK's, httpx2, websockets) at DEBUG."""

from __future__ import annotations

import logging

import pytest

from tests.brokers.conftest import fast_config, wait_for, wall_clock


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("websockets"):  # the loopback *server's* library: the broker side
            return
        self.lines.append(f"{record.name} {record.getMessage()} {record.exc_text or ''}")
        if record.exc_info:
            self.lines.append(logging.Formatter().formatException(record.exc_info))


@pytest.fixture
def capture(monkeypatch):
    import brokers.session

    monkeypatch.setattr(brokers.session, "SDK_LOG_LEVEL", logging.DEBUG)
    handler = Capture()
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(old)
    logging.getLogger("tastytrade").setLevel(logging.INFO)


def test_no_secret_in_logs_statuses_or_errors(loopback, capture):
    from brokers.client import BrokerClient
    from brokers.emergency import CloseRequest, EmergencyCloseRoute
    from brokers.feed import FeedSupervisor
    from brokers.feed_status import FeedState
    from brokers.quote_cache import QuoteCache
    from brokers.session import AuthRefused
    from testing.loopback.rest import position_json

    creds = loopback.credentials
    rs = loopback.rest_state
    secrets = [creds.provider_secret, creds.refresh_token, rs.access_token, rs.dxlink_token]
    texts: list[str] = [repr(creds), str(creds)]

    cache = QuoteCache(wall_clock)
    feed = FeedSupervisor(creds, cache, fast_config(), client_kwargs={"trust_env": False})
    syms = [".SPXW250307P5000", ".SPY250321C580"]
    feed.subscribe(syms)
    feed.start()
    try:
        wait_for(lambda: all(cache.greeks(s) for s in syms))
        loopback.run(loopback.dx.close_all(1011))
        wait_for(lambda: feed.status().connects >= 2)
        texts += [repr(feed.status()), feed.status().describe()]
    finally:
        feed.stop()

    rs.positions = [position_json("SPXW  250307P05000000", "Equity Option", -1, "SPX")]
    client = BrokerClient(creds, client_kwargs={"trust_env": False})
    try:
        texts.append(repr(client.fetch_account()))
        dry = EmergencyCloseRoute(client).close(
            CloseRequest("SPXW  250307P05000000", "Equity Option", 1, 2.0)
        )
        texts.append(repr(dry))
    finally:
        client.close()

    rs.token_status = 401  # refused: the error path must not echo anything secret either
    client = BrokerClient(creds, client_kwargs={"trust_env": False})
    try:
        with pytest.raises(AuthRefused) as err:
            client.fetch_account()
        texts.append(str(err.value))
    finally:
        client.close()
    feed = FeedSupervisor(creds, cache, fast_config(), client_kwargs={"trust_env": False})
    feed.subscribe(syms)
    feed.start()
    try:
        wait_for(lambda: feed.status().state is FeedState.FAILED)
        texts += [repr(feed.status()), feed.status().reason]
    finally:
        feed.stop()

    assert len(capture.lines) > 20  # the SDK's and httpx2's DEBUG records were captured
    everything = "\n".join(capture.lines + texts)
    for secret in secrets:
        assert secret not in everything


def test_a_streamer_token_echoed_by_the_server_never_leaks(loopback, capture):
    """DXLink refuses the token and quotes it back in its ERROR: the SDK puts that text into its
    exception, the feed into its log lines and status, the link into the critical alert."""
    from brokers.feed_status import FeedState
    from tests.brokers.test_live import make

    dx = loopback.dx_state
    dx.refuse_auth = dx.echo_token = True
    link, system = make(loopback)
    link.start()
    try:
        wait_for(lambda: link.feed.status().state is FeedState.FAILED)
        link.on_step(system)
    finally:
        link.stop()
    token = loopback.rest_state.dxlink_token
    assert dx.errors_sent and all(token in e for e in dx.errors_sent)  # the server did echo it
    reason = link.feed.status().reason
    (alert,) = [m for _, t, m in system.platform.alerts if t == "DXLink feed failed"]
    assert "Invalid or expired token ***" in reason and "***" in alert
    warnings = [line for line in capture.lines if "DXLink feed down" in line]
    assert len(warnings) >= 1
    everything = "\n".join([*capture.lines, reason, alert, repr(system.platform.alerts)])
    assert token not in everything, [line for line in capture.lines if token in line]


def test_a_token_echoed_in_an_error_mid_session_is_masked(loopback, capture):
    import json

    from brokers.feed import FeedSupervisor
    from brokers.quote_cache import QuoteCache

    feed = FeedSupervisor(
        loopback.credentials, QuoteCache(wall_clock), fast_config(), client_kwargs={"trust_env": False}
    )
    feed.subscribe([".SPXW250307P5000"])
    feed.start()
    token = loopback.rest_state.dxlink_token
    try:
        wait_for(lambda: feed.status().connects == 1)
        error = {"type": "ERROR", "channel": 0, "error": "TIMEOUT", "message": f"token {token} expired"}
        loopback.run(loopback.dx.send_all(json.dumps(error)))
        wait_for(lambda: feed.status().connects >= 2)
    finally:
        feed.stop()
    assert any(
        "DXLink feed down (TastytradeError: Fatal streamer error: token *** expired)" in line
        for line in capture.lines
    )
    assert token not in "\n".join(capture.lines)
