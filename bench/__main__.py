"""``make bench``: every benchmark's figures, with targets and ratios, on one core.

Each module in ``bench/`` exposes ``run() -> list[dict]`` with keys name, value, unit, target,
note.  Pass module names to run a subset: ``make bench ARGS="option_math"``.
"""

from __future__ import annotations

import importlib
import os
import sys

from bench import history

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(var, "1")

MODULES = [
    "option_math", "synthetic_market", "backtest", "broker_feed", "execution", "persistence", "monitoring",
    "risk_gate", "lab",
]  # fmt: skip


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.0f}"
    return str(value)


def main(argv: list[str]) -> int:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core, as the targets say
    names = argv or MODULES
    rows: list[dict] = []
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        print(f"== {name}", file=sys.stderr, flush=True)
        rows.extend(module.run())
    before = history.load()
    width = max(len(r["name"]) for r in rows)
    print(f"{'benchmark':<{width}}  {'value':>16}  {'previous':>16}  {'unit':<14} {'target':<16} note")
    for r in rows:
        target = "" if r.get("target") is None else str(r["target"])
        prev = history.previous(before, r["name"])
        shown = "" if prev is None else _fmt(prev)
        print(
            f"{r['name']:<{width}}  {_fmt(r['value']):>16}  {shown:>16}  {r['unit']:<14} {target:<16} "
            f"{r.get('note', '')}"
        )
    history.save(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
