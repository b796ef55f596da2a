"""Alerts through LEAN: always the algorithm log, and in live trading LEAN's ``Notify`` (email, web)
as the adapter options say.  It receives the algorithm from ``lean_adapter.platform``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from core.ports import Severity
from lean_adapter.translate import AdapterOptions, format_alert, format_record


class LogSink:
    """``EventSink`` writing one concise line per record to LEAN's log."""

    def __init__(self, algorithm: Any) -> None:
        self._algo = algorithm

    def record(self, kind: str, time: datetime, payload: Mapping[str, object]) -> None:
        self._algo.log(format_record(kind, time, payload))


class LeanNotifier:
    def __init__(self, algorithm: Any, options: AdapterOptions) -> None:
        self._algo = algorithm
        self._options = options

    def notify(self, severity: Severity, title: str, message: str) -> None:
        line = format_alert(severity, title, message)
        self._algo.log(line)
        if severity is not Severity.INFO:
            self._algo.debug(line)
        opts = self._options
        if not self._algo.live_mode or not opts.should_send(severity):
            return
        try:
            if opts.notify_email:
                self._algo.notify.email(opts.notify_email, f"Tom King {severity.value}: {title}", message)
            if opts.notify_web_url:
                body = {"severity": severity.value, "title": title, "message": message}
                self._algo.notify.web(opts.notify_web_url, body)
        except Exception as exc:  # alerting must never stop trading
            self._algo.log(f"notify failed: {type(exc).__name__}")
