"""Structured log lines: one JSON object per line with the context a reader needs to understand
it without scrolling — time, NLV, buying power used, VIX, account phase, strategy and group id —
and with secrets redacted.  ``write`` is the engine's log (``Platform.log``) or a file."""

from __future__ import annotations

import dataclasses
import enum
import json
import math
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from monitoring.redact import Redactor

CONTEXT_FIELDS = ("nlv", "bp_used", "vix", "phase", "strategy", "group_id")


@dataclasses.dataclass(frozen=True)
class LogContext:
    """The account-level context of the moment (filled by the engine each step)."""

    nlv: float | None = None
    bp_used: float | None = None
    vix: float | None = None
    phase: int | None = None


class StructuredLogger:
    def __init__(
        self,
        write: Callable[[str], None],
        clock: Callable[[], datetime],
        context: Callable[[], LogContext] = LogContext,
        redactor: Redactor | None = None,
        bound: Mapping[str, Any] | None = None,
    ) -> None:
        self._write = write
        self._clock = clock
        self._context = context
        self._redact = redactor or Redactor()
        self._bound = dict(bound or {})

    def bind(self, **fields: Any) -> StructuredLogger:
        """A logger whose lines always carry ``fields`` (e.g. strategy and group id)."""
        return StructuredLogger(
            self._write, self._clock, self._context, self._redact, {**self._bound, **fields}
        )

    def info(self, event: str, message: str = "", **fields: Any) -> None:
        self.log("info", event, message, **fields)

    def warning(self, event: str, message: str = "", **fields: Any) -> None:
        self.log("warning", event, message, **fields)

    def error(self, event: str, message: str = "", **fields: Any) -> None:
        self.log("error", event, message, **fields)

    def log(self, level: str, event: str, message: str = "", **fields: Any) -> None:
        self._write(self.line(level, event, message, **fields))

    def line(self, level: str, event: str, message: str = "", **fields: Any) -> str:
        ctx = self._context()
        record: dict[str, Any] = {
            "time": self._clock().isoformat(),
            "level": level,
            "event": event,
            "message": message,
            "nlv": ctx.nlv,
            "bp_used": ctx.bp_used,
            "vix": ctx.vix,
            "phase": ctx.phase,
            "strategy": None,
            "group_id": None,
        }
        record.update(self._bound)
        record.update(fields)
        return self._redact(json.dumps(_plain(record), sort_keys=False, allow_nan=False))


def _plain(value: Any) -> Any:
    """JSON-safe form: NaN/inf -> null, dates ISO, enums by value, dataclasses as dicts."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _plain(dataclasses.asdict(value))
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | bool):
        return value
    return str(value)


class LoggingSink:
    """An ``EventSink`` that also writes every recorded event as a structured log line, taking
    strategy and group id from the event's payload."""

    def __init__(self, inner: Any, logger: StructuredLogger) -> None:
        self._inner = inner
        self._logger = logger

    def record(self, kind: str, time: datetime, payload: Mapping[str, Any]) -> None:
        self._inner.record(kind, time, payload)
        group = payload.get("group")
        fields = {
            "strategy": payload.get("strategy", getattr(group, "strategy", None)),
            "group_id": payload.get("group_id", getattr(group, "group_id", None)),
        }
        level = "warning" if kind.startswith("risk_") or kind == "alert" else "info"
        extra = {k: v for k, v in payload.items() if k not in ("strategy", "group_id", "message")}
        self._logger.log(level, kind, str(payload.get("message", "")), **fields, **extra)
