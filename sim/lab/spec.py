"""What one lab task is, as plain data: a backtest's full parameters, its market and its window.

Why full parameters and not "config.json plus overrides": a task must mean the same backtest on
any worker of any cluster (which may not have the driver's config.json), and its id is a hash of
everything that decides the result, so a re-run skips exactly the tasks already done with these
inputs and never a stale result of other ones.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

from core.settings import Settings, SettingsError

MARKETS = ("synthetic", "history")


@dataclass(frozen=True)
class TaskSpec:
    """One backtest: ``parameters`` as config.json holds them (start_date/end_date included)."""

    parameters: Mapping[str, str]
    seed: int = 7
    market: str = "synthetic"
    step_minutes: int = 5

    @property
    def start(self) -> date:
        return date.fromisoformat(self.parameters["start_date"])

    @property
    def end(self) -> date:
        return date.fromisoformat(self.parameters["end_date"])

    def as_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["parameters"] = dict(sorted(self.parameters.items()))
        return doc

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> TaskSpec:
        return cls(
            parameters={str(k): str(v) for k, v in dict(doc["parameters"]).items()},
            seed=int(doc["seed"]),
            market=str(doc["market"]),
            step_minutes=int(doc["step_minutes"]),
        )

    def digest(self) -> str:
        text = json.dumps(self.as_json(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def settings(self) -> Settings:
        return Settings.from_parameters(self.parameters, source="lab task")


@dataclass(frozen=True)
class Task:
    """A spec with its place in the study (``tags``: path, seed, grid point, fold, phase)."""

    spec: TaskSpec
    tags: Mapping[str, Any] = field(default_factory=dict)
    label: str = "task"

    @property
    def id(self) -> str:
        return f"{self.label}-{self.spec.digest()}"


def make_spec(base: Settings, start: date, end: date, changes: Mapping[str, str] | None = None,
              seed: int = 7, market: str = "synthetic", step_minutes: int = 5) -> TaskSpec:  # fmt: skip
    """The spec of ``base`` with ``changes`` over ``start..end``, checked like config.json (so a bad
    grid value fails before any worker starts)."""
    params = base.as_parameters()
    params.update(changes or {})
    params["start_date"], params["end_date"] = start.isoformat(), end.isoformat()
    spec = TaskSpec(params, seed=seed, market=market, step_minutes=step_minutes)
    spec.settings()  # raises SettingsError naming the bad parameter
    return spec


# --- grids ------------------------------------------------------------------------------------------


def parse_grid(items: list[str]) -> dict[str, list[str]]:
    """``NAME=V1,V2,...`` (repeatable) -> {name: values}.  A list-valued parameter separates its
    grid values with ``;`` instead (``regime_max_bp=0.4,0.6,0.8;0.5,0.7,0.9``)."""
    grid: dict[str, list[str]] = {}
    problems: list[str] = []
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        values = [v.strip() for v in text.split(";" if ";" in text else ",") if v.strip()]
        if not sep or not name or not values:
            problems.append(f"--grid {item!r}: expected NAME=V1,V2,...")
        elif name in grid:
            problems.append(f"--grid {name}: given twice")
        elif len(set(values)) != len(values):
            problems.append(f"--grid {name}: repeated value in {values}")
        else:
            grid[name] = values
    if problems:
        raise SettingsError(problems)
    return grid


def grid_points(grid: Mapping[str, list[str]]) -> list[dict[str, str]]:
    """Every combination, in the order the values were given (the first name varies slowest)."""
    names = list(grid)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*grid.values())]


# --- periods and windows ----------------------------------------------------------------------------

_PERIOD = re.compile(r"^\s*(\d+)\s*([dwmy])\s*$")


def parse_period(text: str, what: str) -> tuple[int, str]:
    """``12m``, ``3m``, ``6w``, ``30d``, ``1y`` -> (count, unit)."""
    m = _PERIOD.match(text.lower())
    if m is None or int(m.group(1)) == 0:
        raise SettingsError([f"{what} {text!r}: expected a length like 12m, 3m, 6w, 30d or 1y"])
    return int(m.group(1)), m.group(2)


def add_period(day: date, period: tuple[int, str], times: int = 1) -> date:
    n, unit = period[0] * times, period[1]
    if unit == "d":
        return day + timedelta(days=n)
    if unit == "w":
        return day + timedelta(weeks=n)
    months = n * 12 if unit == "y" else n
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    last = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month, min(day.day, last))
