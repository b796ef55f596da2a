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
