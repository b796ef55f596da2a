"""Execution's state: one typed value the system's persistence saves and restores exactly.

The order groups still kept (working ones, and finished ones for a day in case a late event
arrives), the next tag number of every group key no longer kept (a restart never re-uses a tag the
broker has seen), the signed contracts of every fill seen per symbol (what the holdings-moved
checks compare against), the engine event ids already applied, and the run's execution figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from execution.group import OrderGroup
from execution.report import ExecutionStats


@dataclass
class ExecutionState:
    groups: list[OrderGroup] = field(default_factory=list)  # in the order they were created
    sequences: dict[str, int] = field(default_factory=dict)
    seen: dict[str, int] = field(default_factory=dict)
    event_ids: set[tuple[str, str]] = field(default_factory=set)  # (tag, engine event id)
    stats: ExecutionStats = field(default_factory=ExecutionStats)

    def __post_init__(self) -> None:
        keys = [g.key for g in self.groups]
        if len(set(keys)) != len(keys):
            raise ValueError("two order groups with one key")
        if any(n < 0 for n in self.sequences.values()):
            raise ValueError("a negative tag number")
