"""Readers for the files of a backtest's output folder, each failing with a one-line error that names
the file and line.  Everything the reports show comes through here: events.jsonl (every event),
equity.csv (one row per session), open_positions.csv (what was held at the end, marked),
execution.json (the executor's counters), parameters.json (the settings used) and run.json (what
was run: market source, period, overrides, code version)."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from core.settings import Settings, SettingsError
from monitoring import open_positions
from monitoring.open_positions import OpenPosition

EVENTS, EQUITY, EXECUTION, PARAMETERS, RUN = (
    "events.jsonl", "equity.csv", "execution.json", "parameters.json", "run.json",
)  # fmt: skip
OPEN_POSITIONS = open_positions.OPEN_POSITIONS


class ReportDataError(ValueError):
    """A report input is missing or malformed; the message names the file and line."""


@dataclass(frozen=True)
class EquityRows:
    days: list[date]
    nlv: list[float]
    bp_used: list[float]
    vix: list[float | None]
    bp_cap: list[float | None]  # None: the folder predates the cap column


def iter_events(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                event = json.loads(line)
                event["_time"] = datetime.fromisoformat(event["time"])
            except (ValueError, KeyError, TypeError) as exc:
                raise ReportDataError(f"{path}:{n}: not an event line ({exc})") from None
            yield event


def read_equity(path: Path) -> EquityRows:
    rows = EquityRows([], [], [], [], [])
    with path.open(encoding="utf-8", newline="") as fh:
        for n, row in enumerate(csv.DictReader(fh), 2):
            try:
                rows.days.append(date.fromisoformat(row["day"]))
                rows.nlv.append(float(row["net_liquidation"]))
                rows.bp_used.append(float(row["buying_power_used"]))
                rows.vix.append(_optional(row.get("vix")))
                rows.bp_cap.append(_optional(row.get("buying_power_cap")))
            except (KeyError, ValueError, TypeError) as exc:
                raise ReportDataError(f"{path}:{n}: bad equity row ({exc})") from None
    return rows


def _optional(text: str | None) -> float | None:
    if text is None or text == "":
        return None
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number")
    return value


def read_open_positions(path: Path) -> list[OpenPosition] | None:
    """The positions held at the end, or None when the folder predates the file (the reports then
    say the open P&L was not recorded rather than show it as zero)."""
    if not path.exists():
        return None
    try:
        return open_positions.read_csv(path)
    except (OSError, ValueError) as exc:
        raise ReportDataError(str(exc)) from None


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object file, or None when the file is absent."""
    if not path.exists():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ReportDataError(f"{path}: not readable JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise ReportDataError(f"{path}: expected a JSON object, got {type(doc).__name__}")
    return doc


def read_settings(out_dir: Path, fallback: Settings | None = None) -> Settings:
    """The run's settings from its parameters.json; ``fallback`` (or the defaults) for a folder
    written before the run files carried them."""
    path = out_dir / PARAMETERS
    if not path.exists():
        return fallback if fallback is not None else Settings()
    try:
        return Settings.from_config_file(path)
    except SettingsError as exc:
        raise ReportDataError(f"{path}: {'; '.join(exc.problems)}") from None


def require(out_dir: Path, *names: str) -> None:
    for name in names:
        if not (out_dir / name).exists():
            raise ReportDataError(f"{out_dir / name} is missing: run a backtest into {out_dir} first")
