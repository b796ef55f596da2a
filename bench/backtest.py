"""The default one-year all-strategy backtest (``python -m sim backtest``): wall time, CPU time and
peak memory of a fresh process (issue 17: <= 8 s on one core, < 1 GiB), and its fixed cost: a
two-day run is nearly all start-up, reports and charts (target <= 1.5 s).  CPU time is user + sys
of the child: on a shared machine it is the figure to compare between runs; wall time includes
waiting.  The first run also fills the exchange-calendar cache (``sim.calendar_cache``), as a
user's first backtest does."""

from __future__ import annotations

import hashlib
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run() -> list[dict]:
    wall, cpu, summary, trades_sha = _backtest("2025-01-02", "2025-12-31")
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    trades = next((line for line in summary.splitlines() if line.startswith("closed trades")), "")
    fixed_wall, fixed_cpu, _, _ = _backtest("2025-01-02", "2025-01-03")
    return [
        {"name": "backtest 1y synthetic: wall time", "value": wall, "unit": "s", "target": "<= 8 s", "note": f"{trades}; trades.csv sha256 {trades_sha}"},
        {"name": "backtest 1y synthetic: CPU time", "value": cpu, "unit": "s", "target": "<= 8 s",
         "note": "user + sys of the child process"},
        {"name": "backtest 1y synthetic: peak memory", "value": peak_mib, "unit": "MiB", "target": "< 1024 MiB",
         "note": "max RSS of the child process"},
        {"name": "backtest fixed cost (2-day run): wall time", "value": fixed_wall, "unit": "s", "target": "<= 1.5 s",
         "note": "imports, calendar, reports, 14 charts"},
        {"name": "backtest fixed cost (2-day run): CPU time", "value": fixed_cpu, "unit": "s", "target": "<= 1.5 s",
         "note": "user + sys of the child process"},
    ]  # fmt: skip


def _backtest(start: str, end: str) -> tuple[float, float, str, str]:
    """Wall and CPU seconds of one fresh ``python -m sim backtest``, its summary and trades hash."""
    with tempfile.TemporaryDirectory() as out:
        cmd = [
            sys.executable,
            "-m",
            "sim",
            "backtest",
            "--quiet",
            "--out",
            out,
            "--start",
            start,
            "--end",
            end,
        ]
        cpu_before = _children_cpu()
        began = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - began
        cpu = _children_cpu() - cpu_before
        if done.returncode != 0:
            raise RuntimeError(f"backtest {start}..{end} failed:\n{done.stderr[-2000:]}")
        summary = (Path(out) / "summary.txt").read_text(encoding="utf-8")  # --quiet prints nothing
        trades_sha = hashlib.sha256((Path(out) / "trades.csv").read_bytes()).hexdigest()[:12]
    return wall, cpu, summary, trades_sha


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
