"""Walk-forward analysis: rolling folds of ``train`` in-sample then ``test`` out-of-sample.

In each fold every grid point runs over the in-sample window; the point with the best metric
(Sharpe by default) is then run, untouched, over the following out-of-sample window.  Folds
advance by ``test``, so the out-of-sample windows tile the period without overlap and their
equity curves stitch into one out-of-sample record.  Each window starts from a flat book and the
starting cash: a fold judges the parameters, not positions inherited from the previous fold.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from core.settings import Settings, SettingsError
from sim.lab.spec import Task, add_period, grid_points, make_spec

METRICS = ("sharpe", "sortino", "calmar", "total_return", "annual_return", "max_drawdown", "worst_day")


@dataclass(frozen=True)
class Fold:
    number: int
    train: tuple[date, date]
    test: tuple[date, date]

    def as_json(self) -> dict[str, Any]:
        return {"fold": self.number, "train": [d.isoformat() for d in self.train],
                "test": [d.isoformat() for d in self.test]}  # fmt: skip


def folds(start: date, end: date, train: tuple[int, str], test: tuple[int, str]) -> list[Fold]:
    out: list[Fold] = []
    while True:
        train_start = add_period(start, test, len(out))
        test_start = add_period(train_start, train)
        test_end = add_period(test_start, test) - timedelta(days=1)
        if test_end > end:
            break
        out.append(Fold(len(out) + 1, (train_start, test_start - timedelta(days=1)), (test_start, test_end)))
    if not out:
        raise SettingsError([f"{start}..{end} is too short for one fold of train {train} + test {test}"])
    return out


@dataclass(frozen=True)
class WalkForward:
    base: Settings
    folds: list[Fold]
    grid: Mapping[str, list[str]]
    metric: str = "sharpe"
    seed: int = 7
    market: str = "synthetic"
    step_minutes: int = 5

    def _spec(self, window: tuple[date, date], point: Mapping[str, str]):  # type: ignore[no-untyped-def]
        return make_spec(self.base, window[0], window[1], point, seed=self.seed, market=self.market,
                         step_minutes=self.step_minutes)  # fmt: skip

    def in_sample_tasks(self) -> list[Task]:
        out = []
        for fold in self.folds:
            for j, point in enumerate(grid_points(self.grid), start=1):
                tags = {"fold": fold.number, "phase": "in_sample", "point": j, "params": point}
                out.append(Task(self._spec(fold.train, point), tags, f"f{fold.number:02d}-is-p{j:03d}"))
        return out

    def choose(self, fold: Fold, results: Mapping[str, dict[str, Any]]) -> Task | None:
        """The in-sample task of ``fold`` with the best metric among those that finished (ties: the
        earlier point); None when none did.  An undefined metric (no trades, flat equity) ranks
        below every number."""
        best: tuple[float, Task] | None = None
        for task in self.in_sample_tasks():
            if task.tags["fold"] != fold.number or task.id not in results:
                continue
            value = metric_value(results[task.id], self.metric)
            key = value if value is not None else -math.inf
            if best is None or key > best[0]:
                best = (key, task)
        return None if best is None else best[1]

    def out_of_sample_task(self, fold: Fold, winner: Task) -> Task:
        params = dict(winner.tags["params"])
        tags = {
            "fold": fold.number,
            "phase": "out_of_sample",
            "point": winner.tags["point"],
            "params": params,
        }
        return Task(self._spec(fold.test, params), tags, f"f{fold.number:02d}-oos")


def metric_value(result: Mapping[str, Any], metric: str) -> float | None:
    """Higher is better for every metric (drawdown and worst day are negative numbers)."""
    value = result.get(metric)
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None
