"""Risk events: every block, breaker trip, reset, pause and forced exit, as one audit record.

Why a separate record from the orchestrator's ``risk_block``: an audit needs the rule's inputs
(the numbers it compared) and what the system did about it, not only a message.  Events go to the
``EventSink`` as kind ``risk_event`` (events.jsonl in the sim, the log in LEAN) and are counted in
the backtest report.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from core.ports import EventSink

RISK_EVENT = "risk_event"


class Action(StrEnum):
    BLOCK_ENTRY = "block_entry"
    RESIZE_ENTRY = "resize_entry"
    TRIP = "trip"
    RESET = "reset"
    PAUSE = "pause"
    REDUCE_SIZE = "reduce_size"
    RESTORE_SIZE = "restore_size"
    HALT_ENTRIES = "halt_entries"
    FORCED_EXIT = "forced_exit"
    FLATTEN = "flatten"
    RELABEL = "relabel"
    ALERT = "alert"


@dataclass(frozen=True)
class RiskEvent:
    time: datetime
    rule: str
    action: Action
    message: str
    values: Mapping[str, Any] = field(default_factory=dict)
    strategy: str = ""
    group_id: str = ""

    def payload(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "action": self.action.value,
            "message": self.message,
            "values": {k: _plain(v) for k, v in self.values.items()},
            "strategy": self.strategy,
            "group_id": self.group_id,
        }


def _plain(value: Any) -> Any:
    """JSON-safe: non-finite floats become text (JSON has no NaN), everything odd becomes str."""
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    return str(value)


class RiskLog:
    """Sends risk events to the sink; keeps the run's events for tests and the health view."""

    def __init__(self, sink: EventSink | None, keep: int = 10_000) -> None:
        self.sink = sink
        self.keep = keep
        self.events: list[RiskEvent] = []

    def emit(self, event: RiskEvent) -> None:
        self.events.append(event)
        if len(self.events) > self.keep:
            del self.events[: len(self.events) - self.keep]
        if self.sink is not None:
            self.sink.record(RISK_EVENT, event.time, event.payload())
