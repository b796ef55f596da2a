"""What execution did in a run: counts, every repair (how it ended and what it cost), fill quality
per strategy, and any exposure still unhedged.  Engines write it next to their other reports."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from execution.validation import FillQuality


@dataclass
class ExecutionStats:
    counts: Counter[str] = field(default_factory=Counter)
    repairs: list[dict[str, Any]] = field(default_factory=list)
    quality: FillQuality = field(default_factory=FillQuality)
    problems: list[str] = field(default_factory=list)  # fill validation findings, newest last

    def to_json(self, residual: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        return {
            "counts": dict(sorted(self.counts.items())),
            "repairs": self.repairs,
            "fill_quality": self.quality.to_json(),
            "fill_problems": self.problems[-100:],
            "residual_unhedged": residual or [],
        }


def report_text(doc: dict[str, Any]) -> str:
    """A short readable version of ``ExecutionStats.to_json`` for summaries."""
    counts = doc["counts"]
    lines = ["Execution", "========="]
    keys = [
        "orders_sent", "fills", "partial_fills", "rejections_transient", "rejections_permanent",
        "retries", "lost_orders", "duplicate_events", "cancel_races", "repairs_started",
        "repairs_completed", "repairs_unwound", "repairs_reduced", "repairs_expired", "deadline_alerts",
        "unexplained_holdings", "fill_problems",
    ]  # fmt: skip
    lines.append("  ".join(f"{k} {counts.get(k, 0)}" for k in keys[:8]))
    lines.append("  ".join(f"{k} {counts.get(k, 0)}" for k in keys[8:]))
    how = Counter(r["how"] for r in doc["repairs"])
    if how:
        cost = sum(r["cost_dollars"] for r in doc["repairs"])
        lines.append(
            "repairs           "
            + ", ".join(f"{k} {n}" for k, n in sorted(how.items()))
            + f"  (net cash of repair trades {cost:,.2f})"
        )
        flat = [r["realized_dollars"] for r in doc["repairs"] if r.get("realized_dollars") is not None]
        if flat:
            lines.append(
                f"unwound to flat    {len(flat)} groups, realised {sum(flat):,.2f} (not in trades.csv)"
            )
    for name, q in doc["fill_quality"].items():
        lines.append(
            f"  fill quality {name:<12} {q['orders']} orders  avg slippage {q['avg_slippage_points']:+.3f} pts/unit"
            f"  ({q['slippage_dollars']:,.2f} $, {q['share_of_mid_to_natural']:.0%} of mid-to-natural)"
        )
    residual = doc["residual_unhedged"]
    lines.append(f"residual unhedged legs {len(residual)}")
    for r in residual[:10]:
        lines.append(f"  {r}")
    return "\n".join(lines)
