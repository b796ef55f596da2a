"""The lab's throughput: the same backtests on a 2-worker local Ray cluster and in a serial loop,
in the same run, in backtest-years per minute (target: the lab >= 1.7x the loop on two cores).

``LAB_BENCH_TASKS`` (default 4) paths of ``LAB_BENCH_MONTHS`` (default 6) months each.  The serial
loop runs in this process on the one core ``make bench`` pins; the lab's cluster gets every core
back (its workers inherit this process's CPU affinity).  Ray's start-up is reported apart: a long
study pays it once.  Both must produce the same trades per path, or the figure is void.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from core.settings import Settings
from sim.lab.results import ResultStore
from sim.lab.runner import quiet_logging, run_tasks
from sim.lab.spec import add_period
from sim.lab.studies import montecarlo_tasks
from sim.lab.task import run_task

WORKERS = 2
SESSIONS_PER_YEAR = 252


def _load() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def run() -> list[dict]:
    import ray

    tasks_n = int(os.environ.get("LAB_BENCH_TASKS", "4"))
    months = int(os.environ.get("LAB_BENCH_MONTHS", "6"))
    start = date(2025, 1, 2)
    base = Settings.from_config_file(Path("config.json")) if Path("config.json").exists() else Settings()
    tasks = montecarlo_tasks(base, start, add_period(start, (months, "m")) - timedelta(days=1), tasks_n)

    quiet_logging()
    loads = [_load()]
    began = time.perf_counter()
    serial = {t.id: run_task(t.spec) for t in tasks}
    serial_s = time.perf_counter() - began
    loads.append(_load())
    years = sum(r["sessions"] for r in serial.values()) / SESSIONS_PER_YEAR

    pinned = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    if pinned is not None:
        os.sched_setaffinity(0, range(os.cpu_count() or 1))
    try:
        began = time.perf_counter()
        ray.init(num_cpus=WORKERS, include_dashboard=False, logging_level=logging.WARNING)
        init_s = time.perf_counter() - began
        with tempfile.TemporaryDirectory() as out:
            began = time.perf_counter()
            outcome = run_tasks(tasks, ResultStore(Path(out)), progress=False)
            lab_s = time.perf_counter() - began
            loads.append(_load())
    finally:
        ray.shutdown()
        if pinned is not None:
            os.sched_setaffinity(0, pinned)
    if outcome.failures or any(
        outcome.results[k]["trades_sha256"] != r["trades_sha256"] for k, r in serial.items()
    ):
        raise RuntimeError(f"lab and serial results differ (failures: {outcome.failures})")
    ratio = serial_s / lab_s
    what = f"{tasks_n} x {months}-month paths ({years:.2f} backtest-years)"
    load = "1-min load average before / after the loop / after the lab: " + " / ".join(
        f"{x:.1f}" for x in loads
    )
    return [
        {"name": "lab: serial loop throughput", "value": years / serial_s * 60, "unit": "bt-years/min",
         "target": None, "note": f"{what}; {serial_s:.1f} s on one core"},
        {"name": f"lab: Ray throughput ({WORKERS} workers)", "value": years / lab_s * 60, "unit": "bt-years/min",
         "target": None, "note": f"{lab_s:.1f} s (Ray start-up {init_s:.1f} s not counted)"},
        {"name": "lab: Ray / serial", "value": ratio, "unit": "x", "target": ">= 1.7 on 2 cores",
         "note": f"{os.cpu_count()} CPUs, same trades per path; {load} (other work skews it)"},
    ]  # fmt: skip
