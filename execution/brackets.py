"""Exits as brackets: a profit-target combo limit rests at the broker while a stop monitor
watches the closing mark; whichever triggers first cancels the other (combo stop orders don't
exist, so the stop is synthetic).  Prices are net per unit of the closing legs (debit +): to
close a condor sold for 2.00 the target might be 0.96 (buy back) and the stop 6.00.

- stop: fire when the closing mark (net mid) reaches ``stop``;
- trailing stop: fire when the mark rises ``trail`` above the best (lowest) mark seen;
- stop-limit: once fired, the exit never pays more than ``trigger + stop_limit`` (it may then
  stay unfilled, re-quoted every step, as a stop-limit does); without it the exit goes to natural.

``spec_from_notes`` builds a spec from an opening intent's notes (shares of the entry premium),
so strategies, which may import only ``core``, ask for a bracket with plain numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from core.costs import profit_target_exit_price
from core.types import Leg

NOTE_TARGET_SHARE = "bracket_target_share"  # keep this share of the entry premium after round-trip fees
NOTE_STOP_MULTIPLE = "bracket_stop_multiple"  # stop when the loss reaches this multiple of the premium
NOTE_TRAIL_SHARE = "bracket_trail_share"  # trailing distance as a share of the premium
NOTE_STOP_LIMIT_SHARE = "bracket_stop_limit_share"  # stop-limit slack as a share of the premium


@dataclass(frozen=True, slots=True)
class BracketSpec:
    target: float | None = None
    stop: float | None = None
    trail: float | None = None
    stop_limit: float | None = None

    def __post_init__(self) -> None:
        if self.target is None and self.stop is None and self.trail is None:
            raise ValueError("a bracket needs a target, a stop or a trailing stop")
        if self.trail is not None and self.trail <= 0:
            raise ValueError(f"trailing distance must be positive, got {self.trail}")
        if self.stop_limit is not None and self.stop_limit < 0:
            raise ValueError(f"stop-limit slack must be >= 0, got {self.stop_limit}")
        if self.target is not None and self.stop is not None and self.stop <= self.target:
            raise ValueError(f"stop {self.stop} must be above the target {self.target} (closing prices)")

    def state(self) -> BracketState:
        """The state an order group carries for its bracket while it works."""
        return BracketState(self.target, self.stop, self.trail, self.stop_limit)


@dataclass
class BracketState:
    """A working bracket: its levels, the best (lowest) closing mark seen, and whether the stop fired
    (at which mark, as which kind of stop, and from which order number on the exit is the stop's)."""

    target: float | None = None
    stop: float | None = None
    trail: float | None = None
    stop_limit: float | None = None
    best: float | None = None
    fired: bool = False
    trigger: float | None = None
    exit_reason: str = "profit_target"
    fired_seq: int = 0


def spec_from_notes(
    notes: Mapping[str, float], entry_price: float, legs: tuple[Leg, ...]
) -> BracketSpec | None:
    """A bracket for a position opened at ``entry_price`` (debit +) from its intent's notes, or None."""
    keys = (NOTE_TARGET_SHARE, NOTE_STOP_MULTIPLE, NOTE_TRAIL_SHARE)
    if not any(k in notes for k in keys):
        return None
    premium = abs(entry_price)
    target = (
        profit_target_exit_price(entry_price, notes[NOTE_TARGET_SHARE], legs)
        if NOTE_TARGET_SHARE in notes
        else None
    )
    stop = notes[NOTE_STOP_MULTIPLE] * premium - entry_price if NOTE_STOP_MULTIPLE in notes else None
    trail = notes[NOTE_TRAIL_SHARE] * premium if NOTE_TRAIL_SHARE in notes else None
    slack = notes[NOTE_STOP_LIMIT_SHARE] * premium if NOTE_STOP_LIMIT_SHARE in notes else None
    return BracketSpec(target, stop, trail, slack)


def stop_level(state: BracketState) -> tuple[float | None, str]:
    """The mark at which the stop fires now, and which stop it is."""
    stop, trail, best = state.stop, state.trail, state.best
    trailing = best + trail if trail is not None and best is not None else None
    if trailing is not None and (stop is None or trailing < stop):
        return trailing, "trailing_stop"
    return stop, "stop_loss"


def observe(state: BracketState, mark: float) -> str | None:
    """Feed the closing mark to a bracket's state: the kind of stop that fires now, else None."""
    state.best = mark if state.best is None else min(state.best, mark)
    level, kind = stop_level(state)
    if level is None or mark < level - 1e-9:
        return None
    return kind


def limit_for(state: BracketState, ladder_limit: float, tick: float) -> float:
    """The exit's limit: the resting target until the stop fires, then the ladder's price capped
    at the stop-limit (trigger + slack) when there is one."""
    if not state.fired:
        assert state.target is not None, "a bracket without a target rests no order"
        return round(round(state.target / tick) * tick, 10)
    if state.stop_limit is not None and state.trigger is not None:
        cap = state.trigger + state.stop_limit
        return min(ladder_limit, round(math.floor(cap / tick + 1e-9) * tick, 10))
    return ladder_limit


def closing_reason(state: BracketState, fill_sequences: list[int]) -> str:
    """Which side closed the group: the resting target unless an exit sent after the stop fired
    did (a target that fills while being cancelled is still the target)."""
    if not state.fired:
        return "profit_target"
    return state.exit_reason if any(n >= state.fired_seq for n in fill_sequences) else "profit_target"
