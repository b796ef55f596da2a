"""One order group per intent: its state machine, its orders, its fills, and its JSON form.

States (terminal in capitals of the diagram's right-hand side)::

    accepted ─► working ─────────────────────────────► FILLED
                  │  ├─► partially_filled ─► repairing ─► FILLED / UNWOUND
                  │  └─► retry_wait (cancelled / rejected / lost) ─► working | ABANDONED
                  └─► ABANDONED

A terminal group only moves again when the broker reports a fill nobody expected (a late fill
after a cancel): it re-enters ``repairing`` so the exposure is removed, never ignored.
Quantities are signed contracts per OCC symbol; prices per share; tags ``group|purpose|n``.
Groups are plain dataclasses: they are part of execution's saved state (``execution.state``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from core.types import OptionContract, OrderIntent, Purpose
from execution.brackets import BracketState


class GroupState(StrEnum):
    ACCEPTED = "accepted"
    WORKING = "working"
    PARTIALLY_FILLED = "partially_filled"
    RETRY_WAIT = "retry_wait"
    REPAIRING = "repairing"
    FILLED = "filled"
    UNWOUND = "unwound"
    ABANDONED = "abandoned"


TERMINAL = frozenset({GroupState.FILLED, GroupState.UNWOUND, GroupState.ABANDONED})
_ACTIVE = {
    GroupState.WORKING,
    GroupState.PARTIALLY_FILLED,
    GroupState.RETRY_WAIT,
    GroupState.REPAIRING,
    GroupState.FILLED,
    GroupState.ABANDONED,
}
ALLOWED: Mapping[GroupState, frozenset[GroupState]] = {
    GroupState.ACCEPTED: frozenset(_ACTIVE),
    GroupState.WORKING: frozenset(_ACTIVE),
    GroupState.PARTIALLY_FILLED: frozenset(_ACTIVE - {GroupState.ABANDONED}),
    GroupState.RETRY_WAIT: frozenset(_ACTIVE),
    # abandoned from repairing only when the contracts expired mid-repair (settled, nothing to trade)
    GroupState.REPAIRING: frozenset(
        {GroupState.REPAIRING, GroupState.FILLED, GroupState.UNWOUND, GroupState.ABANDONED}
    ),
    GroupState.FILLED: frozenset({GroupState.REPAIRING}),
    GroupState.UNWOUND: frozenset({GroupState.REPAIRING}),
    GroupState.ABANDONED: frozenset({GroupState.REPAIRING}),
}


class TransitionError(RuntimeError):
    """A programming error: the manager asked for a move the state machine does not have."""


class Outcome(StrEnum):
    """How one order ended (NONE while it works)."""

    NONE = ""
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    LOST = "lost"  # no confirmation and not at the broker
    ENDED = "ended"  # the broker said filled, the legs are short


class RepairMode(StrEnum):
    NONE = ""
    COMPLETE = "complete"  # fill the legs still missing, toward the intent
    UNWIND = "unwind"  # reverse the legs already filled, toward flat


class Role(StrEnum):
    ENTRY = "entry"  # the intent's own order (opening or closing), on the price ladder
    COMPLETE = "complete"  # repair: the legs still missing, toward the intent
    UNWIND = "unwind"  # repair: reverse legs already filled, toward flat


@dataclass
class OrderRecord:
    """One combo order the group sent, and what became of it."""

    tag: str
    role: Role
    legs: dict[str, int]  # symbol -> signed contracts of the whole order
    quantity: int  # combo units sent (leg ratio = contracts / quantity)
    limit: float  # net per combo unit, debit +
    step: int
    sent: datetime
    mid: float  # net mid per combo unit at sending (fill quality reference)
    natural: float
    baseline_holdings: dict[str, float] = field(default_factory=dict)
    baseline_seen: dict[str, int] = field(default_factory=dict)
    acked: bool = False
    cancel_at: datetime | None = None
    done: bool = False
    outcome: Outcome = Outcome.NONE
    message: str = ""
    filled: dict[str, int] = field(default_factory=dict)
    unexplained_since: datetime | None = None
    event_ids: list[str] = field(default_factory=list)  # engine event ids applied (duplicates dropped)

    def remaining(self, symbol: str) -> int:
        return self.legs.get(symbol, 0) - self.filled.get(symbol, 0)

    def complete(self) -> bool:
        return all(self.filled.get(s, 0) == q for s, q in self.legs.items())


@dataclass(frozen=True, slots=True)
class FillRecord:
    tag: str
    symbol: str
    quantity: int
    price: float
    fee: float
    time: datetime


@dataclass
class OrderGroup:
    key: str  # "group_id|purpose"
    intent: OrderIntent
    created: datetime
    next_seq: int = 0
    state: GroupState = GroupState.ACCEPTED
    history: list[tuple[datetime, str, str, str]] = field(default_factory=list)
    orders: list[OrderRecord] = field(default_factory=list)
    fills: list[FillRecord] = field(default_factory=list)
    step: int = 0  # ladder step of the entry order
    attempts: int = 0  # failed sends (rejected / lost) at the current step
    retry_at: datetime | None = None
    repair_mode: RepairMode = RepairMode.NONE
    repair_started: datetime | None = None
    repair_level: int = 0  # units the repair is heading for
    deadline_alerted: bool = False
    outcome_message: str = ""
    finished: datetime | None = None
    reported: bool = False  # the orchestrator has been told the outcome
    reported_units: int = 0  # units it was told are held (a late fill is repaired back to this)
    bracket: BracketState | None = None  # the exit's bracket while it works (closing groups only)
    expired: bool = False  # its contracts expired before it finished: the broker settled the legs

    # --- identity --------------------------------------------------------------------------------
    @property
    def group_id(self) -> str:
        return self.intent.group_id

    @property
    def purpose(self) -> Purpose:
        return self.intent.purpose

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL

    def contracts(self) -> dict[str, OptionContract]:
        return dict(self._legs()[0])

    def ratios(self) -> dict[str, int]:
        return dict(self._legs()[1])

    def _legs(self) -> tuple[dict[str, OptionContract], dict[str, int]]:
        """Symbol maps of the intent's legs, built once (symbols are formatted strings)."""
        cached = self.__dict__.get("_legs_doc")
        if cached is None or cached[0] is not self.intent:
            legs = self.intent.legs
            cached = (
                self.intent,
                {leg.contract.symbol: leg.contract for leg in legs},
                {leg.contract.symbol: leg.ratio for leg in legs},
            )
            self.__dict__["_legs_doc"] = cached
        return cached[1], cached[2]

    # --- transitions -----------------------------------------------------------------------------
    def move(self, to: GroupState, now: datetime, why: str) -> bool:
        """Record a transition; False (and nothing recorded) when already there."""
        if to is self.state:
            return False
        if to not in ALLOWED[self.state]:
            raise TransitionError(f"{self.key}: {self.state.value} -> {to.value} is not a transition ({why})")
        self.history.append((now, self.state.value, to.value, why))
        self.state = to
        if to in TERMINAL:
            self.finished = now
            self.outcome_message = why
        return True

    # --- positions -------------------------------------------------------------------------------
    def filled(self) -> dict[str, int]:
        out = dict.fromkeys(self._legs()[1], 0)
        for f in self.fills:
            out[f.symbol] = out.get(f.symbol, 0) + f.quantity
        return out

    def target(self, units: int | None = None) -> dict[str, int]:
        n = self.intent.quantity if units is None else units
        return {s: r * n for s, r in self._legs()[1].items()}

    def balanced_units(self) -> int | None:
        """Whole units held with every leg in proportion (0 = flat), or None if the legs disagree."""
        filled, ratios = self.filled(), self.ratios()
        if any(q and s not in ratios for s, q in filled.items()):
            return None
        units = {q / ratios[s] for s, q in filled.items() if s in ratios}
        if len(units) != 1:
            return None
        (u,) = units
        return int(u) if u == int(u) and u >= 0 else None

    def live_orders(self) -> list[OrderRecord]:
        return [o for o in self.orders if not o.done]

    def cash_points(self) -> float:
        """Sum of quantity x price over every fill (debit +): what the group paid, in points."""
        return sum(f.quantity * f.price for f in self.fills)

    def fees(self) -> float:
        return sum(f.fee for f in self.fills)


def group_key(group_id: str, purpose: Purpose) -> str:
    return f"{group_id}|{purpose.value}"


def order_tag(group_id: str, purpose: Purpose, sequence: int) -> str:
    """``group|purpose|n``: deterministic and unique per group and purpose, so a restart (or the
    broker's open-order list) can be matched to the group that sent it."""
    return f"{group_id}|{purpose.value}|{sequence}"


def parse_tag(tag: str) -> tuple[str, Purpose, int] | None:
    parts = tag.rsplit("|", 2)
    if len(parts) != 3 or not parts[2].isdigit():
        return None
    try:
        return parts[0], Purpose(parts[1]), int(parts[2])
    except ValueError:
        return None
