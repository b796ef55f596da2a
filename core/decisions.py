"""Entries not taken are recorded once per kind, strategy, reason and day (issue 15: 664 identical
blocks a day said nothing more than the first).  The memory is part of the saved state, so a
restart neither repeats today's records nor loses them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass
class DecisionState:
    day: date | None = None  # the day ``recorded`` belongs to
    recorded: set[str] = field(default_factory=set)  # "kind|strategy|code" recorded that day


class DecisionMemory:
    def __init__(self) -> None:
        self._state = DecisionState()

    def first(self, kind: str, strategy: str, code: str, day: date) -> bool:
        """True the first time this decision is seen on ``day`` (then it is remembered)."""
        if self._state.day != day:
            self._state = DecisionState(day)
        key = f"{kind}|{strategy}|{code}"
        if key in self._state.recorded:
            return False
        self._state.recorded.add(key)
        return True

    # --- state ---------------------------------------------------------------------------------------
    def state(self) -> DecisionState:
        return self._state

    def restore(self, state: DecisionState) -> None:
        self._state = DecisionState(state.day, set(state.recorded))
