"""The lab's throughput: the same backtests on a 2-worker local Ray cluster and in a serial loop,
in the same run, in backtest-years per minute (target: the lab >= 1.7x the loop on two cores).

``LAB_BENCH_TASKS`` (default 4) paths of ``LAB_BENCH_MONTHS`` (default 6) months each.  Both run on
every core (``make bench`` pins one; Ray's workers would inherit it): the serial loop in this
process, one backtest at a time, and the lab on a 2-CPU local cluster.  The loop's CPU time over
its wall time shows how much of a core it got; other work on the machine skews the ratio.  Ray's start-up is reported apart: a long
study pays it once.  Both must produce the same trades per path, or the figure is void.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from core.settings import Settings
from sim.lab.results import ResultStore
from sim.lab.runner import quiet_logging, ray_cluster, run_tasks
from sim.lab.spec import TaskSpec, add_period
from sim.lab.studies import montecarlo_tasks
from sim.lab.task import run_task

WORKERS = 2
SESSIONS_PER_YEAR = 252


def _load() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def _timed(spec: TaskSpec) -> dict[str, Any]:
    """run_task plus the CPU seconds it took in its worker (how much of a core the worker got)."""
    began = time.process_time()
    result = run_task(spec)
    return {**result, "cpu_seconds": time.process_time() - began}


def run() -> list[dict]:
    tasks_n = int(os.environ.get("LAB_BENCH_TASKS", "4"))
    months = int(os.environ.get("LAB_BENCH_MONTHS", "6"))
    start = date(2025, 1, 2)
    base = Settings.from_config_file(Path("config.json")) if Path("config.json").exists() else Settings()
    tasks = montecarlo_tasks(base, start, add_period(start, (months, "m")) - timedelta(days=1), tasks_n)

    level = logging.getLogger().level
    quiet_logging()
    pinned = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    if pinned is not None:  # both phases on every core: the loop uses one at a time anyway
        os.sched_setaffinity(0, range(os.cpu_count() or 1))
    try:
        loads = [_load()]
        began, cpu = time.perf_counter(), time.process_time()
        serial = {t.id: run_task(t.spec) for t in tasks}
        serial_s, serial_cpu = time.perf_counter() - began, time.process_time() - cpu
        loads.append(_load())
        years = sum(r["sessions"] for r in serial.values()) / SESSIONS_PER_YEAR
        began = time.perf_counter()
        with ray_cluster(workers=WORKERS), tempfile.TemporaryDirectory() as out:
            init_s = time.perf_counter() - began
            began = time.perf_counter()
            outcome = run_tasks(tasks, ResultStore(Path(out)), _timed, progress=False)
            lab_s = time.perf_counter() - began
            loads.append(_load())
    finally:
        logging.getLogger().setLevel(level)
        if pinned is not None:
            os.sched_setaffinity(0, pinned)
    if outcome.failures or any(
        outcome.results[k]["trades_sha256"] != r["trades_sha256"] for k, r in serial.items()
    ):
        raise RuntimeError(f"lab and serial results differ (failures: {outcome.failures})")
    ratio = serial_s / lab_s
    lab_share = sum(r.pop("cpu_seconds") for r in outcome.results.values()) / (lab_s * WORKERS)
    what = f"{tasks_n} x {months}-month paths ({years:.2f} backtest-years)"
    load = "1-min load average before / after the loop / after the lab: " + " / ".join(
        f"{x:.1f}" for x in loads
    )
    return [
        {"name": "lab: serial loop throughput", "value": years / serial_s * 60, "unit": "bt-years/min",
         "target": None, "note": f"{what}; {serial_s:.1f} s, {serial_cpu / serial_s:.0%} of a core"},
        {"name": f"lab: Ray throughput ({WORKERS} workers)", "value": years / lab_s * 60, "unit": "bt-years/min",
         "target": None, "note": f"{lab_s:.1f} s, {lab_share:.0%} of {WORKERS} cores in backtests "
         f"(Ray start-up {init_s:.1f} s not counted)"},
        {"name": "lab: Ray / serial", "value": ratio, "unit": "x", "target": ">= 1.7 on 2 cores",
         "note": f"{os.cpu_count()} CPUs, same trades per path; {load} (other work skews it)"},
    ]  # fmt: skip
