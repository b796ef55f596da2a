"""The task lists of a Monte Carlo study and a parameter sweep.

Monte Carlo: the same settings on N synthetic paths (seeds ``first_seed`` .. ``first_seed+N-1``).
Sweep: every grid point on the same N paths, so points differ only by their parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from core.settings import Settings
from sim.lab.spec import Task, grid_points, make_spec


def montecarlo_tasks(base: Settings, start: date, end: date, paths: int, first_seed: int = 1,
                     market: str = "synthetic", step_minutes: int = 5) -> list[Task]:  # fmt: skip
    out = []
    for i in range(paths):
        seed = first_seed + i
        task_spec = make_spec(base, start, end, seed=seed, market=market, step_minutes=step_minutes)
        out.append(Task(task_spec, {"path": i + 1, "seed": seed}, f"path{i + 1:04d}"))
    return out


def sweep_tasks(base: Settings, start: date, end: date, grid: Mapping[str, list[str]], paths: int,
                first_seed: int = 1, market: str = "synthetic", step_minutes: int = 5) -> list[Task]:  # fmt: skip
    out = []
    for j, point in enumerate(grid_points(grid), start=1):
        for i in range(paths):
            seed = first_seed + i
            spec = make_spec(base, start, end, point, seed=seed, market=market, step_minutes=step_minutes)
            tags = {"point": j, "params": point, "path": i + 1, "seed": seed}
            out.append(Task(spec, tags, f"p{j:03d}-path{i + 1:04d}"))
    return out
