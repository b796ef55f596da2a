"""Collects what a run produced: closed trades, risk decisions, alerts, and a JSON-lines event log.

The log survives a crash like the system's state: the recorder is a part of that state
(``RunLogState``: the log's length at the last stable point).  A resumed run cuts the log back to
that length - the re-run writes the rest again - and rebuilds its tallies from it, so the summary
covers every life; a fresh run starts a new log instead of appending to an old one.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from core.book import group_from_json, group_to_json
from core.types import PositionGroup
from sim.risk_report import RiskTally


@dataclass(frozen=True)
class RunLogState:
    events_bytes: int = 0  # length of events.jsonl at the last stable point

    def __post_init__(self) -> None:
        if self.events_bytes < 0:
            raise ValueError(f"events.jsonl length {self.events_bytes} is negative")


class RunRecorder:
    def __init__(self, events_path: Path | None = None) -> None:
        self.path = events_path
        self.trades: list[PositionGroup] = []
        self.counts: Counter[str] = Counter()
        self.risk_blocks: Counter[str] = Counter()
        self.alerts: list[dict[str, Any]] = []
        self.risk = RiskTally()  # risk events by rule, and every trip / forced exit for the summary
        self._out: IO[str] | None = None

    def begin(self, fresh: bool) -> None:
        """Open the log: a new one for a fresh run, the old one (cut back by ``restore``) to resume."""
        if self.path is not None and self._out is None:
            self._out = self.path.open("w" if fresh else "a", encoding="utf-8")

    def state(self) -> RunLogState:
        if self._out is None:
            return RunLogState()
        self._out.flush()
        return RunLogState(self._out.tell())

    def restore(self, state: RunLogState) -> None:
        """Cut the log back to the last stable point and rebuild the tallies from it."""
        if self.path is None:
            return
        if self._out is not None:
            self._out.close()
        with self.path.open("ab+") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.truncate(min(size, state.events_bytes))
            fh.seek(0)
            lines = fh.read().decode("utf-8").splitlines()
        self._out = None
        for line in lines:
            record = json.loads(line)
            time, kind = datetime.fromisoformat(record.pop("time")), record.pop("kind")
            if kind == "trade_closed":
                record["group"] = group_from_json(record["group"])
            self.record(kind, time, record)
        self._out = self.path.open("a", encoding="utf-8")
        if size < state.events_bytes and lines:  # said, never silently: the log lost records
            lost = {"expected_bytes": state.events_bytes, "found_bytes": size}
            self.record("run_log_gap", datetime.fromisoformat(json.loads(lines[-1])["time"]), lost)

    def record(self, kind: str, time: datetime, payload: Mapping[str, Any]) -> None:
        self.counts[kind] += 1
        self.risk.record(kind, time, payload)
        if kind == "trade_closed":
            self.trades.append(payload["group"])
        elif kind == "risk_block":
            self.risk_blocks[str(payload.get("code"))] += 1
        elif kind == "alert":
            self.alerts.append({"time": time.isoformat(), **payload})
        if self._out is not None:
            self._out.write(json.dumps({"time": time.isoformat(), "kind": kind, **_plain(payload)}) + "\n")

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None


def _plain(payload: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in payload.items():
        out[key] = group_to_json(value) if isinstance(value, PositionGroup) else value
    return out
