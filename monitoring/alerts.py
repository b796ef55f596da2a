"""One alert router for every engine: severities, de-duplication, rate limits, redaction, and
delivery to whichever channels this deployment has.

Channels: in QuantConnect Cloud, LEAN's own notifications (through ``Platform.notify``, which the
LEAN adapter implements); locally (LEAN in Docker, or the sim) apprise URLs from the environment
(email, Slack, Discord, Telegram, SMS gateways).  A channel that cannot work here (apprise not
installed, no URLs) says so once and the router keeps going: an alert is never lost silently; what
was suppressed is counted and reported with the next delivered alert and in the daily summary.
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import ClassVar, Protocol

from core.ports import Severity
from monitoring.redact import Redactor

log = logging.getLogger("monitoring.alerts")
ALERT_URLS_ENV = "TOMKING_ALERT_URLS"


@dataclass(frozen=True)
class Alert:
    severity: Severity
    title: str
    message: str
    time: datetime
    key: str


class AlertChannel(Protocol):
    name: str

    def unavailable_reason(self) -> str:
        """Empty when the channel can deliver here; otherwise why not (shown in health)."""
        ...

    def send(self, alert: Alert) -> None:
        """Deliver or raise; the router counts failures and tries the other channels."""
        ...


class Outcome(StrEnum):
    DELIVERED = "delivered"
    DUPLICATE = "duplicate"
    RATE_LIMITED = "rate_limited"
    FAILED = "failed"  # every channel failed or none is available
    FILTERED = "filtered"  # below the router's minimum severity


@dataclass(frozen=True)
class RateLimit:
    """At most ``count`` alerts of a severity per ``window``."""

    count: int
    window: timedelta


DEFAULT_LIMITS: Mapping[Severity, RateLimit] = {
    Severity.INFO: RateLimit(10, timedelta(hours=1)),
    Severity.WARNING: RateLimit(20, timedelta(hours=1)),
    Severity.CRITICAL: RateLimit(30, timedelta(hours=1)),
}


@dataclass
class RouterStats:
    delivered: Counter[str] = field(default_factory=Counter)
    duplicates: Counter[str] = field(default_factory=Counter)
    rate_limited: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)  # by channel name


class AlertRouter:
    def __init__(
        self,
        clock: Callable[[], datetime],
        channels: Sequence[AlertChannel],
        redactor: Redactor | None = None,
        dedupe_window: timedelta = timedelta(minutes=15),
        limits: Mapping[Severity, RateLimit] = DEFAULT_LIMITS,
        min_severity: Severity = Severity.INFO,
    ) -> None:
        self._clock = clock
        self.channels = list(channels)
        self._redact = redactor or Redactor()
        self._dedupe_window = dedupe_window
        self._limits = dict(limits)
        self._min = min_severity
        self._last_sent: dict[str, datetime] = {}
        self._repeats: Counter[str] = Counter()
        self._sent_times: dict[Severity, deque[datetime]] = {s: deque() for s in Severity}
        self._held_back: Counter[Severity] = Counter()  # rate-limited since the last delivery
        self.history: deque[Alert] = deque(maxlen=1000)  # every alert routed, delivered or not
        self.stats = RouterStats()
        self._reported_unavailable: set[str] = set()

    def send(self, severity: Severity, title: str, message: str, key: str | None = None) -> Outcome:
        """Route one alert.  ``key`` groups repeats of the same condition (default: title + text)."""
        now = self._clock()
        title, message = self._redact(title), self._redact(message)
        alert = Alert(severity, title, message, now, key or f"{severity.value}|{title}|{message}")
        self.history.append(alert)
        if _rank(severity) < _rank(self._min):
            return Outcome.FILTERED
        last = self._last_sent.get(alert.key)
        if last is not None and now - last < self._dedupe_window:
            self._repeats[alert.key] += 1
            self.stats.duplicates[severity.value] += 1
            return Outcome.DUPLICATE
        if not self._take_slot(severity, now):
            self._held_back[severity] += 1
            self.stats.rate_limited[severity.value] += 1
            return Outcome.RATE_LIMITED
        body = self._with_context(alert)
        delivered = self._deliver(Alert(severity, title, body, now, alert.key))
        self._last_sent[alert.key] = now
        self._repeats.pop(alert.key, None)
        if delivered:
            self.stats.delivered[severity.value] += 1
            self._held_back.clear()
            return Outcome.DELIVERED
        return Outcome.FAILED

    def count_since(self, since: datetime, min_severity: Severity = Severity.WARNING) -> int:
        """Alerts at or above ``min_severity`` routed since ``since`` (health: errors in the last hour)."""
        return sum(1 for a in self.history if a.time >= since and _rank(a.severity) >= _rank(min_severity))

    def unavailable(self) -> dict[str, str]:
        return {c.name: r for c in self.channels if (r := c.unavailable_reason())}

    # --- internals -------------------------------------------------------------------------------
    def _take_slot(self, severity: Severity, now: datetime) -> bool:
        limit = self._limits.get(severity)
        if limit is None:
            return True
        times = self._sent_times[severity]
        while times and now - times[0] >= limit.window:
            times.popleft()
        if len(times) >= limit.count:
            return False
        times.append(now)
        return True

    def _with_context(self, alert: Alert) -> str:
        notes = []
        repeats = self._repeats.get(alert.key, 0)
        if repeats:
            notes.append(f"(repeated {repeats} more time(s) since the last notice)")
        held = sum(self._held_back.values())
        if held:
            detail = ", ".join(f"{n} {s.value}" for s, n in sorted(self._held_back.items()))
            notes.append(f"({held} alert(s) held back by rate limits: {detail})")
        return alert.message + ("\n" + "\n".join(notes) if notes else "")

    def _deliver(self, alert: Alert) -> bool:
        ok = False
        for channel in self.channels:
            reason = channel.unavailable_reason()
            if reason:
                if channel.name not in self._reported_unavailable:
                    self._reported_unavailable.add(channel.name)
                    log.warning("alert channel %s unavailable: %s", channel.name, reason)
                continue
            try:
                channel.send(alert)
                ok = True
            except Exception as exc:  # a broken channel must not stop the others or the algorithm
                self.stats.failures[channel.name] += 1
                log.warning(
                    "alert channel %s failed: %s", channel.name, self._redact(f"{type(exc).__name__}: {exc}")
                )
        if not ok:
            log.error("alert not delivered by any channel: %s: %s", alert.title, alert.message)
        return ok


def _rank(severity: Severity) -> int:
    return {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}[severity]


# --- channels ----------------------------------------------------------------------------------
class PlatformChannel:
    """LEAN's notifications (QuantConnect Cloud) through the engine port's ``notify``."""

    name = "platform"

    def __init__(self, notify: Callable[[Severity, str, str], None]) -> None:
        self._notify = notify

    def unavailable_reason(self) -> str:
        return ""

    def send(self, alert: Alert) -> None:
        self._notify(alert.severity, alert.title, alert.message)


class AppriseChannel:
    """Any apprise URL (mailto://, slack://, discord://, tgram://, SMS gateways, json:// webhooks).
    apprise is not in LEAN's image: imported lazily, reported unavailable when missing."""

    name = "apprise"
    _TYPES: ClassVar[dict[Severity, str]] = {
        Severity.INFO: "info",
        Severity.WARNING: "warning",
        Severity.CRITICAL: "failure",
    }

    def __init__(self, urls: Iterable[str], backtest: bool = False) -> None:
        """``backtest``: the alerts come from a simulated run; each title then starts with
        ``[BACKTEST <simulated time>]`` so no one mistakes it for the live account (live never sets it)."""
        self._urls = [u for u in urls if u.strip()]
        self._backtest = backtest
        self._apprise = None
        self._reason = ""
        if not self._urls:
            self._reason = f"no apprise URLs configured (set {ALERT_URLS_ENV})"
            return
        try:
            import apprise
        except ImportError:
            self._reason = "apprise is not installed (pip install 'tomking-lean[alerts]')"
            return
        app = apprise.Apprise()
        rejected = [i for i, url in enumerate(self._urls) if not app.add(url)]
        if rejected:
            # never echo the URL itself: it carries tokens
            self._reason = f"apprise rejected URL number(s) {', '.join(str(i + 1) for i in rejected)}"
        self._apprise = app

    def unavailable_reason(self) -> str:
        return self._reason

    def send(self, alert: Alert) -> None:
        if self._apprise is None:
            raise RuntimeError(self._reason)
        label = f"[BACKTEST {alert.time:%Y-%m-%d %H:%M}] " if self._backtest else ""
        if not self._apprise.notify(
            title=f"{label}[{alert.severity.value.upper()}] {alert.title}",
            body=alert.message,
            notify_type=self._TYPES[alert.severity],
        ):
            raise RuntimeError("apprise reported a failed notification")


def alert_urls(environ: Mapping[str, str]) -> list[str]:
    """Apprise URLs from ``TOMKING_ALERT_URLS`` (whitespace or comma separated)."""
    raw = environ.get(ALERT_URLS_ENV, "")
    return [u for u in raw.replace(",", " ").split() if u]
