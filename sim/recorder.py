"""The run's event log: every event as one JSON line (``events.jsonl``), plus the closed trades the
tests and ``trades.csv`` need.  Counting is not done here: the reports count from the written log
(``analysis``), so there is one set of counters whatever reads the run.

Without a path the lines are kept in memory until ``write_events`` puts them in an output folder
(tests run many short backtests without touching the disk)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from core.book import group_to_json
from core.ports import EventSink
from core.types import PositionGroup


class RunRecorder:
    def __init__(self, events_path: Path | None = None, append: bool = False) -> None:
        """``append`` continues an existing log (a resumed run)."""
        self.trades: list[PositionGroup] = []
        self.events_path = events_path
        self.report_dir: Path | None = None  # where sim.report.write_reports last wrote this run
        self._listeners: list[EventSink] = []
        self._lines: list[str] | None = None if events_path else []
        self._out: IO[str] | None = (
            events_path.open("a" if append else "w", encoding="utf-8") if events_path else None
        )

    def subscribe(self, listener: EventSink) -> None:
        """``listener.record`` sees every event after it is logged (e.g. monitoring's order clock)."""
        self._listeners.append(listener)

    def record(self, kind: str, time: datetime, payload: Mapping[str, Any]) -> None:
        if kind == "trade_closed":
            self.trades.append(payload["group"])
        line = json.dumps({"time": time.isoformat(), "kind": kind, **_plain(payload)}) + "\n"
        if self._out is not None:
            self._out.write(line)
        elif self._lines is not None:
            self._lines.append(line)
        else:
            raise RuntimeError(f"{kind} recorded after the event log {self.events_path} was closed")
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
        if self._out is not None:
            self._out.close()
            self._out = None


def _plain(payload: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in payload.items():
        out[key] = group_to_json(value) if isinstance(value, PositionGroup) else value
    return out
