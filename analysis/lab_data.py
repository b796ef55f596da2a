"""A lab study's numbers, read from its folder alone (``study.json``, ``tasks/``, ``failed/``):
distributions and percentiles, breaker-trip probabilities, one CSV row per task, the sweep's
cells by parameter pair and the walk-forward folds with their stitched out-of-sample curve."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from statistics import mean
from typing import Any

import numpy as np

PERCENTILES = (5, 25, 50, 75, 95)
# metric -> (label, shown as a percentage)
METRICS = {
    "total_return": ("return", True),
    "max_drawdown": ("max drawdown", True),
    "sharpe": ("Sharpe", False),
    "worst_day": ("worst day", True),
}


@dataclass(frozen=True)
class LabTask:
    id: str
    tags: Mapping[str, Any]
    result: Mapping[str, Any] | None  # None: not finished
    error: str  # why not, when not finished


@dataclass(frozen=True)
class LabStudy:
    folder: Path
    doc: Mapping[str, Any]
    tasks: list[LabTask]

    @property
    def kind(self) -> str:
        return str(self.doc.get("kind", "?"))

    def finished(self, phase: str | None = None) -> list[LabTask]:
        return [
            t for t in self.tasks if t.result is not None and (phase is None or t.tags.get("phase") == phase)
        ]

    def unfinished(self) -> list[LabTask]:
        return [t for t in self.tasks if t.result is None]

    def by_id(self) -> dict[str, LabTask]:
        return {t.id: t for t in self.tasks}


def load_study(folder: Path) -> LabStudy:
    doc = _read(folder / "study.json")
    if doc is None or not isinstance(doc.get("tasks"), list):
        raise ValueError(f"{folder / 'study.json'} is missing or not a lab study")
    tasks = []
    for entry in doc["tasks"]:
        task_id = str(entry["id"])
        done = _read(folder / "tasks" / f"{task_id}.json")
        failed = _read(folder / "failed" / f"{task_id}.json")
        result = done.get("result") if done else None
        error = "" if result is not None else str((failed or {}).get("error", "not run (yet)"))
        tasks.append(LabTask(task_id, dict(entry.get("tags", {})), result, error))
    return LabStudy(folder, doc, tasks)


def _read(path: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


# --- distributions ----------------------------------------------------------------------------------


def values(tasks: Iterable[LabTask], metric: str) -> list[float]:
    """The metric of each finished task where it is defined (a flat path has no Sharpe)."""
    out = []
    for t in tasks:
        v = (t.result or {}).get(metric)
        if isinstance(v, int | float) and math.isfinite(v):
            out.append(float(v))
    return out


def percentiles(xs: Sequence[float]) -> dict[int, float]:
    if not xs:
        return {}
    return dict(
        zip(PERCENTILES, np.percentile(np.asarray(xs, dtype=float), PERCENTILES).tolist(), strict=True)
    )


def strategy_pnl(tasks: Sequence[LabTask]) -> dict[str, list[float]]:
    """P&L per strategy per task (realised + open at the task's end, as the backtest reports); a
    task where a strategy never traded counts 0 for it, so every strategy has one value per task."""
    names = sorted({name for t in tasks for name in (t.result or {}).get("strategy_pnl", {})})
    return {n: [float((t.result or {}).get("strategy_pnl", {}).get(n, 0.0)) for t in tasks] for n in names}


def breaker_probabilities(study: LabStudy, tasks: Sequence[LabTask]) -> dict[str, tuple[int, int]]:
    """rule -> (tasks in which it tripped at least once, tasks) for every known breaker rule."""
    rules = set(study.doc.get("breaker_rules", []))
    rules |= {r for t in tasks for r in (t.result or {}).get("breaker_trips", {})}
    return {r: (sum(1 for t in tasks if (t.result or {}).get("breaker_trips", {}).get(r, 0) > 0), len(tasks))
            for r in sorted(rules)}  # fmt: skip


# --- one row per task -------------------------------------------------------------------------------

SCALARS = ("total_return", "annual_return", "sharpe", "sortino", "calmar", "max_drawdown", "worst_day",
           "worst_day_date", "end_value", "sessions", "trades", "forced_exits", "trades_sha256")  # fmt: skip


def csv_rows(study: LabStudy) -> tuple[list[str], list[list[Any]]]:
    tag_names = sorted({k for t in study.tasks for k in t.tags if k != "params"})
    params = sorted({k for t in study.tasks for k in t.tags.get("params", {})})
    finished = study.finished()
    strategies = sorted({s for t in finished for s in (t.result or {}).get("strategy_pnl", {})})
    rules = sorted(breaker_probabilities(study, finished))
    columns = ["task", "status", *tag_names, *params, *SCALARS]
    columns += [f"pnl_{s}" for s in strategies] + [f"trips_{r}" for r in rules] + ["error"]
    rows = []
    for t in study.tasks:
        r = t.result or {}
        row = [t.id, "done" if t.result is not None else "failed", *(t.tags.get(k, "") for k in tag_names)]
        row += [t.tags.get("params", {}).get(p, "") for p in params]
        row += [_cell(r.get(k)) for k in SCALARS]
        row += [_cell(r.get("strategy_pnl", {}).get(s, 0.0) if r else None) for s in strategies]
        row += [_cell(r.get("breaker_trips", {}).get(x, 0) if r else None) for x in rules]
        rows.append([*row, t.error])
    return columns, rows


def _cell(v: Any) -> Any:
    return "" if v is None else v


# --- sweep ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HeatMap:
    """One statistic of one metric over a pair of parameters (others pooled)."""

    x: str
    y: str
    x_values: list[str]
    y_values: list[str]
    cells: list[list[float | None]]  # [y][x]


def heat_maps(study: LabStudy, metric: str, stat: int) -> list[HeatMap]:
    """Per pair of swept parameters, the ``stat`` percentile (50: median) of ``metric`` over every
    finished task with those two values, the other parameters' values pooled."""
    grid: Mapping[str, list[str]] = study.doc.get("grid", {})
    names, done, out = list(grid), study.finished(), []
    for i, x in enumerate(names):
        for y in names[i + 1 :]:
            cells: list[list[float | None]] = []
            for yv in grid[y]:
                row: list[float | None] = []
                for xv in grid[x]:
                    sel = [t for t in done if t.tags["params"].get(x) == xv and t.tags["params"].get(y) == yv]
                    row.append(percentiles(values(sel, metric)).get(stat))
                cells.append(row)
            out.append(HeatMap(x, y, list(grid[x]), list(grid[y]), cells))
    return out


def by_point(study: LabStudy) -> list[tuple[str, list[LabTask]]]:
    """(point label, its finished tasks) in grid order."""
    points: dict[int, tuple[str, list[LabTask]]] = {}
    for t in study.tasks:
        label = ", ".join(f"{k}={v}" for k, v in t.tags.get("params", {}).items())
        entry = points.setdefault(int(t.tags.get("point", 0)), (label, []))
        if t.result is not None:
            entry[1].append(t)
    return [points[k] for k in sorted(points)]


# --- walk-forward -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FoldRow:
    fold: int
    train: tuple[str, str]
    test: tuple[str, str]
    params: Mapping[str, str]
    in_sample: Mapping[str, Any] | None
    out_of_sample: Mapping[str, Any] | None
    error: str

    def metric(self, metric: str, phase: str) -> float | None:
        r = self.in_sample if phase == "in_sample" else self.out_of_sample
        v = (r or {}).get(metric)
        return float(v) if isinstance(v, int | float) and math.isfinite(v) else None

    def ratio(self, metric: str) -> float | None:
        return ratio(self.metric(metric, "out_of_sample"), self.metric(metric, "in_sample"))


def ratio(oos: float | None, ins: float | None) -> float | None:
    """Out-of-sample over in-sample; undefined unless the in-sample value is positive (a ratio to a
    loss or to zero says nothing about degradation)."""
    return None if oos is None or ins is None or ins <= 0 else oos / ins


def fold_rows(study: LabStudy) -> list[FoldRow]:
    tasks, rows = study.by_id(), []
    for f in study.doc.get("folds", []):
        is_task = tasks.get(str(f.get("in_sample_task", "")))
        oos_task = tasks.get(str(f.get("out_of_sample_task", "")))
        error = str(f.get("error", "")) or (oos_task.error if oos_task and oos_task.result is None else "")
        rows.append(FoldRow(int(f["fold"]), tuple(f["train"]), tuple(f["test"]), dict(f.get("params", {})),
                            is_task.result if is_task else None, oos_task.result if oos_task else None,
                            error))  # fmt: skip
    return rows


def in_sample_grid(study: LabStudy, metric: str) -> tuple[list[str], dict[int, list[float | None]]]:
    """Every grid point's in-sample ``metric`` per fold: (point labels, fold -> value per point)."""
    labels: dict[int, str] = {}
    cells: dict[tuple[int, int], float | None] = {}
    for t in study.tasks:
        if t.tags.get("phase") != "in_sample":
            continue
        point = int(t.tags.get("point", 0))
        labels[point] = ", ".join(f"{k}={v}" for k, v in t.tags.get("params", {}).items())
        cells[(int(t.tags.get("fold", 0)), point)] = (values([t], metric) or [None])[0]
    points = sorted(labels)
    folds = sorted({f for f, _ in cells})
    return [labels[p] for p in points], {f: [cells.get((f, p)) for p in points] for f in folds}


def degradation(rows: Sequence[FoldRow], metric: str) -> float | None:
    """Mean out-of-sample metric over mean in-sample metric, over the folds that have both."""
    pairs = [(r.metric(metric, "out_of_sample"), r.metric(metric, "in_sample")) for r in rows]
    pairs = [(o, i) for o, i in pairs if o is not None and i is not None]
    return ratio(mean(o for o, _ in pairs), mean(i for _, i in pairs)) if pairs else None


def stitched_out_of_sample(rows: Sequence[FoldRow], start_value: float) -> list[tuple[date, float]]:
    """The out-of-sample equity of every fold chained end to start: each fold's daily returns
    (from its starting cash) compound onto where the previous fold ended."""
    out: list[tuple[date, float]] = []
    level = start_value
    for r in rows:
        if r.out_of_sample is None:
            continue
        base, last = float(r.out_of_sample.get("start_value", start_value)), level
        for day, value in r.out_of_sample.get("equity", []):
            last = level * float(value) / base
            out.append((date.fromisoformat(day), last))
        level = last
    return out
