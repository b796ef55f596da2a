"""One-year synthetic backtest: wall time and peak memory of a fresh process (targets < 60 s, < 1 GiB)."""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run() -> list[dict]:
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "sim", "backtest", "--quiet", "--out", out,
               "--start", "2025-01-02", "--end", "2025-12-31"]  # fmt: skip
        began = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - began
        if done.returncode != 0:
            raise RuntimeError(f"backtest failed:\n{done.stderr[-2000:]}")
        summary = (Path(out) / "summary.txt").read_text(encoding="utf-8")  # --quiet prints nothing
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    trades = next((line for line in summary.splitlines() if line.startswith("closed trades")), "")
    return [
        {"name": "backtest 1y synthetic: wall time", "value": wall, "unit": "s", "target": "< 60 s", "note": trades},
        {"name": "backtest 1y synthetic: peak memory", "value": peak_mib, "unit": "MiB", "target": "< 1024 MiB",
         "note": "max RSS of the child process"},
    ]  # fmt: skip
