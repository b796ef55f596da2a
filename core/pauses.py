"""Why new entries are paused: a set of reasons, each owned by the layer that raised it.

Persistence pauses for safe mode, the engine link while the brokerage is down, the Tastytrade
link for its own checks.  A layer adds and clears only its own reasons (``owner``); entries stay
paused while any reason remains, and the risk gate reads the set as one of its rules.  The set is
part of the saved state, so a restart never quietly clears a pause.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass
class PauseState:
    reasons: dict[str, str] = field(default_factory=dict)  # "owner:code" -> message


class Pauses:
    def __init__(self) -> None:
        self._state = PauseState()
        self.version = 0  # moved by every change (persistence skips unchanged pauses)

    def add(self, owner: str, code: str, message: str) -> bool:
        """Pause for ``owner``'s ``code``; True if this reason is new."""
        key = f"{owner}:{code}"
        new = key not in self._state.reasons
        if new or self._state.reasons[key] != message:
            self._state.reasons[key] = message
            self.version += 1
        return new

    def clear(self, owner: str, code: str | None = None) -> bool:
        """Clear ``owner``'s reason ``code`` (every reason of ``owner`` when None); True if any was set."""
        keys = [
            k
            for k in self._state.reasons
            if k == f"{owner}:{code}" or (code is None and k.startswith(f"{owner}:"))
        ]
        for key in keys:
            del self._state.reasons[key]
        self.version += bool(keys)
        return bool(keys)

    def has(self, owner: str, code: str | None = None) -> bool:
        return any(
            k == f"{owner}:{code}" or (code is None and k.startswith(f"{owner}:"))
            for k in self._state.reasons
        )

    @property
    def reasons(self) -> Mapping[str, str]:
        return dict(self._state.reasons)

    def describe(self) -> str:
        """``""`` when entries are open, else the reasons in one line (health, logs)."""
        return "; ".join(sorted(self._state.reasons))

    def __bool__(self) -> bool:
        return bool(self._state.reasons)

    # --- state ---------------------------------------------------------------------------------------
    def state(self) -> PauseState:
        return self._state

    def restore(self, state: PauseState) -> None:
        self._state = PauseState(dict(state.reasons))
        self.version += 1
