"""Alerts through LEAN: always the algorithm log, and in live trading LEAN's ``Notify`` (email, web)
as the adapter options say.  It receives the algorithm from ``lean_adapter.platform``."""

from __future__ import annotations

from typing import Any

from core.ports import Severity
from lean_adapter.translate import AdapterOptions, format_alert


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
