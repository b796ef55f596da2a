"""Collects what a run produced: closed trades, risk decisions, alerts, and a JSON-lines event log."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from core.book import group_to_json
from core.types import PositionGroup
from sim.risk_report import RiskTally


class RunRecorder:
    def __init__(self, events_path: Path | None = None) -> None:
        self.trades: list[PositionGroup] = []
        self.counts: Counter[str] = Counter()
        self.risk_blocks: Counter[str] = Counter()
        self.alerts: list[dict[str, Any]] = []
        self.risk = RiskTally()  # risk events by rule, and every trip / forced exit for the summary
        self._out: IO[str] | None = events_path.open("w", encoding="utf-8") if events_path else None

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
