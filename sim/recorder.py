"""The run's event log: every event as one JSON line (``events.jsonl``), plus the closed trades the
tests and ``trades.csv`` need.  Counting is not done here: the reports count from the written log
(``analysis``), so there is one set of counters whatever reads the run.

The log survives a crash like the system's state: the recorder is a part of that state
(``RunLogState``: the log's length at the last stable point).  A resumed run cuts the log back to
that length - the re-run writes the rest again - and rebuilds its trades from it, so the reports
cover every life; a fresh run starts a new log instead of appending to an old one.

Without a path the lines are kept in memory until ``write_events`` puts them in an output folder
(tests run many short backtests without touching the disk)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from core.book import group_from_json, group_to_json
from core.ports import EventSink
from core.types import PositionGroup


@dataclass(frozen=True)
class RunLogState:
    events_bytes: int = 0  # length of events.jsonl at the last stable point

    def __post_init__(self) -> None:
        if self.events_bytes < 0:
            raise ValueError(f"events.jsonl length {self.events_bytes} is negative")


class RunRecorder:
    def __init__(self, events_path: Path | None = None) -> None:
        self.trades: list[PositionGroup] = []
        self.events_path = events_path
        self.report_dir: Path | None = None  # where sim.report.write_reports last wrote this run
        self._listeners: list[EventSink] = []
        self._lines: list[str] | None = None if events_path else []
        self._out: IO[str] | None = None
        self._replaying = False
        self._ended = False
        self.version = 0  # moved by every line written, open and restore (persistence's change stamp)

    def begin(self, fresh: bool) -> None:
        """Open the log: a new one for a fresh run, the old one (cut back by ``restore``) to resume."""
        if self.events_path is not None and self._out is None:
            self._out = self.events_path.open("w" if fresh else "a", encoding="utf-8")
            self.version += 1

    def subscribe(self, listener: EventSink) -> None:
        """``listener.record`` sees every event after it is logged (e.g. monitoring's order clock)."""
        self._listeners.append(listener)

    def state(self) -> RunLogState:
        if self._out is None:
            return RunLogState()
        self._out.flush()
        return RunLogState(self._out.tell())

    def restore(self, state: RunLogState) -> None:
        """Cut the log back to the last stable point and rebuild the trades (and the listeners'
        view) from it."""
        if self.events_path is None:
            return
        if self._out is not None:
            self._out.close()
        with self.events_path.open("ab+") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.truncate(min(size, state.events_bytes))
            fh.seek(0)
            lines = fh.read().decode("utf-8").splitlines()
        self.trades = []
        self._out = None
        self._replaying = True  # replayed records are not written again
        try:
            for line in lines:
                record = json.loads(line)
                time, kind = datetime.fromisoformat(record.pop("time")), record.pop("kind")
                if kind == "trade_closed":
                    record["group"] = group_from_json(record["group"])
                self.record(kind, time, record)
        finally:
            self._replaying = False
        self._out = self.events_path.open("a", encoding="utf-8")
        self.version += 1
        if size < state.events_bytes and lines:  # said, never silently: the log lost records
            lost = {"expected_bytes": state.events_bytes, "found_bytes": size}
            self.record("run_log_gap", datetime.fromisoformat(json.loads(lines[-1])["time"]), lost)

    def record(self, kind: str, time: datetime, payload: Mapping[str, Any]) -> None:
        if kind == "trade_closed":
            self.trades.append(payload["group"])
        if not self._replaying:
            line = json.dumps({"time": time.isoformat(), "kind": kind, **_plain(payload)}) + "\n"
            if self._out is not None:
                self._out.write(line)
                self.version += 1
            elif self._lines is not None:
                self._lines.append(line)
            else:
                when = "after it was closed" if self._ended else "before it was opened"
                raise RuntimeError(f"{kind} recorded {when}: the event log {self.events_path}")
        for listener in self._listeners:
            listener.record(kind, time, payload)

    def write_events(self, path: Path) -> None:
        """Make ``path`` hold this run's complete event log."""
        self.close()
        if self.events_path is not None:
            if path.resolve() != self.events_path.resolve():
                shutil.copyfile(self.events_path, path)
            return
        with path.open("w", encoding="utf-8") as fh:
            fh.writelines(self._lines or [])

    def close(self) -> None:
        self._ended = True
        if self._out is not None:
            self._out.close()
            self._out = None
            self.version += 1


def _plain(payload: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in payload.items():
        out[key] = group_to_json(value) if isinstance(value, PositionGroup) else value
    return out
