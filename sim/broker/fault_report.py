"""The execution part of a backtest's reports: what execution repaired and how, fill quality,
residual unhedged legs, and which faults the simulated broker injected (``execution.json`` and a
short block in ``summary.txt``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sim.broker.faults import FaultyBroker


def execution_report(result: Any) -> dict[str, Any] | None:
    """The run's execution report, or None when its executor keeps none."""
    system = getattr(result, "system", None)
    report = getattr(getattr(system, "executor", None), "report", None)
    if report is None:
        return None
    doc = dict(report())
    platform = getattr(result, "platform", None)
    broker = getattr(platform, "broker", None)
    if isinstance(broker, FaultyBroker):
        doc["faults"] = {
            "config": {k: getattr(broker.config, k) for k in broker.config.__dataclass_fields__},
            "injected": dict(sorted(broker.injected.items())),
        }
    return doc


def write_execution_report(out_dir: Path, result: Any) -> dict[str, Path]:
    doc = execution_report(result)
    if doc is None:
        return {}
    path = out_dir / "execution.json"
    path.write_text(json.dumps(doc, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    return {"execution": path}
