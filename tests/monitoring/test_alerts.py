"""The alert router: de-duplication, rate limits, redaction, channel failures, and real delivery
through apprise to a webhook receiver on the loopback interface."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from core.ports import Severity
from monitoring.alerts import (
    Alert,
    AlertRouter,
    AppriseChannel,
    Outcome,
    PlatformChannel,
    RateLimit,
    alert_urls,
)
from monitoring.redact import Redactor, secrets_from_environment
from testing.loopback.webhook import WebhookReceiver


class FakeClock:
    def __init__(self) -> None:
        self.t = datetime(2025, 3, 7, 10, 0)

    def __call__(self) -> datetime:
        return self.t

    def advance(self, **kw: float) -> None:
        self.t += timedelta(**kw)


class Capture:
    name = "capture"

    def __init__(self) -> None:
        self.sent: list[Alert] = []

    def unavailable_reason(self) -> str:
        return ""

    def send(self, alert: Alert) -> None:
        self.sent.append(alert)


class Broken:
    name = "broken"

    def unavailable_reason(self) -> str:
        return ""

    def send(self, alert: Alert) -> None:
        raise ConnectionError("smtp down, password=hunter22")


def test_duplicates_are_suppressed_within_the_window_and_counted_on_the_next_notice():
    clock, out = FakeClock(), Capture()
    router = AlertRouter(clock, [out], dedupe_window=timedelta(minutes=15))
    assert router.send(Severity.WARNING, "Feed stale", "SPX quote 90 s old") is Outcome.DELIVERED
    clock.advance(minutes=5)
    assert router.send(Severity.WARNING, "Feed stale", "SPX quote 90 s old") is Outcome.DUPLICATE
    assert router.send(Severity.WARNING, "Feed stale", "SPX quote 90 s old") is Outcome.DUPLICATE
    assert router.send(Severity.WARNING, "Feed stale", "VIX quote 90 s old") is Outcome.DELIVERED
    clock.advance(minutes=11)
    assert router.send(Severity.WARNING, "Feed stale", "SPX quote 90 s old") is Outcome.DELIVERED
    assert len(out.sent) == 3
    assert "repeated 2 more time(s)" in out.sent[-1].message
    assert router.stats.duplicates["warning"] == 2


def test_explicit_key_groups_changing_messages_of_one_condition():
    clock, out = FakeClock(), Capture()
    router = AlertRouter(clock, [out])
    router.send(Severity.WARNING, "BP high", "BP 81%", key="bp_high")
    assert router.send(Severity.WARNING, "BP high", "BP 82%", key="bp_high") is Outcome.DUPLICATE


def test_rate_limit_per_severity_holds_back_and_reports_what_it_held():
    clock, out = FakeClock(), Capture()
    limits = {
        Severity.INFO: RateLimit(2, timedelta(hours=1)),
        Severity.CRITICAL: RateLimit(5, timedelta(hours=1)),
    }
    router = AlertRouter(clock, [out], limits=limits)
    outcomes = [router.send(Severity.INFO, f"fill {i}", "filled") for i in range(5)]
    assert outcomes == [Outcome.DELIVERED] * 2 + [Outcome.RATE_LIMITED] * 3
    # a critical alert has its own budget and carries the count of what was held back
    assert router.send(Severity.CRITICAL, "Breaker tripped", "daily loss 5%") is Outcome.DELIVERED
    assert "3 alert(s) held back by rate limits: 3 info" in out.sent[-1].message
    clock.advance(hours=1)
    assert router.send(Severity.INFO, "fill 9", "filled") is Outcome.DELIVERED
    assert "held back" not in out.sent[-1].message


def test_secrets_are_redacted_from_title_body_and_channel_errors(caplog):
    env = {"TASTYTRADE_PASSWORD": "s3cr3t-pass", "TASTYTRADE_USERNAME": "trader", "HOME": "/root"}
    redactor = Redactor(secrets_from_environment(env))
    clock, out = FakeClock(), Capture()
    router = AlertRouter(clock, [Broken(), out], redactor=redactor)
    router.send(
        Severity.CRITICAL,
        "Login failed s3cr3t-pass",
        "POST https://trader:s3cr3t-pass@api.example/sessions token=abc123def; Authorization: Bearer eyJhbGciOi.xyz",
    )
    sent = out.sent[0]
    text = sent.title + sent.message + caplog.text
    assert "s3cr3t-pass" not in text and "abc123def" not in text and "eyJhbGciOi" not in text
    assert "hunter22" not in caplog.text, "channel error messages are redacted too"
    assert "***" in sent.message and "api.example/sessions" in sent.message
    assert router.stats.failures["broken"] == 1, "a broken channel does not stop the next one"


def test_no_working_channel_is_a_failed_outcome_not_an_exception():
    router = AlertRouter(FakeClock(), [Broken(), AppriseChannel([])])
    assert router.send(Severity.CRITICAL, "x", "y") is Outcome.FAILED
    assert "TOMKING_ALERT_URLS" in router.unavailable()["apprise"]


def test_errors_in_the_last_hour_count_routed_alerts_including_suppressed_ones():
    clock, out = FakeClock(), Capture()
    router = AlertRouter(clock, [out])
    router.send(Severity.WARNING, "a", "1")
    router.send(Severity.WARNING, "a", "1")  # duplicate, still an error that happened
    router.send(Severity.INFO, "b", "2")
    clock.advance(minutes=61)
    router.send(Severity.CRITICAL, "c", "3")
    assert router.count_since(clock() - timedelta(hours=1)) == 1
    assert router.count_since(clock() - timedelta(hours=2)) == 3


def test_alert_urls_and_the_platform_channel():
    calls = []
    assert alert_urls({"TOMKING_ALERT_URLS": "json://a/, mailto://b  tgram://c"}) == [
        "json://a/",
        "mailto://b",
        "tgram://c",
    ]
    PlatformChannel(lambda s, t, m: calls.append((s, t, m))).send(
        Alert(Severity.CRITICAL, "t", "m", datetime(2025, 1, 2), "k")
    )
    assert calls == [(Severity.CRITICAL, "t", "m")]


def test_delivery_through_apprise_to_a_loopback_webhook():
    pytest.importorskip("apprise", reason="apprise is the local alert transport (alerts extra)")
    with WebhookReceiver() as hook:
        url = f"json://127.0.0.1:{hook.port}/alerts"
        redactor = Redactor(secrets_from_environment({"TOMKING_ALERT_URLS": url, "TT_TOKEN": "tok-9f8e7d"}))
        clock = FakeClock()
        router = AlertRouter(clock, [AppriseChannel([url])], redactor=redactor)
        assert (
            router.send(Severity.CRITICAL, "Breaker tripped", "daily loss 5.2%; token tok-9f8e7d")
            is Outcome.DELIVERED
        )
        assert (
            router.send(Severity.CRITICAL, "Breaker tripped", "daily loss 5.2%; token tok-9f8e7d")
            is Outcome.DUPLICATE
        )
        assert router.send(Severity.INFO, "Daily summary", "NLV 101,000") is Outcome.DELIVERED
        assert len(hook.received) == 2
        first = hook.received[0]
        assert first["title"] == "[CRITICAL] Breaker tripped"
        assert "daily loss 5.2%" in first["message"] and "tok-9f8e7d" not in first["message"]
        assert first["type"] == "failure"
        assert hook.received[1]["type"] == "info"
        hook.status = 500
        assert router.send(Severity.WARNING, "x", "y") is Outcome.FAILED
        assert router.stats.failures["apprise"] == 1


def test_apprise_rejects_a_malformed_url_without_echoing_it():
    pytest.importorskip("apprise", reason="apprise is the local alert transport (alerts extra)")
    channel = AppriseChannel(["notaurl-secretvalue"])
    assert "URL number(s) 1" in channel.unavailable_reason()
    assert "secretvalue" not in channel.unavailable_reason()
