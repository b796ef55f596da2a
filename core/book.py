"""The system's record of position groups, with deterministic group ids.  Closed groups are kept so
a restart knows what it already traded.  Its state (``BookState``) is saved by ``persistence``; the
JSON helpers below are the run log's form of a group (``events.jsonl``, reports)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from core.types import (
    ExerciseStyle,
    GroupStatus,
    Leg,
    OptionContract,
    PositionGroup,
    Right,
    SecurityKind,
    Settlement,
)

_LIVE = (GroupStatus.OPENING, GroupStatus.OPEN, GroupStatus.CLOSING)


@dataclass(frozen=True)
class BookState:
    """The book as saved: every group in book order (decisions iterate in it) and the id sequences."""

    groups: tuple[PositionGroup, ...] = ()
    sequence: Mapping[str, int] = field(default_factory=dict)


class Book:
    def __init__(self) -> None:
        self._groups: dict[str, PositionGroup] = {}
        self._sequence: dict[str, int] = {}
        # live()/closed() answers per (kind, strategy) until the next put/remove: every layer asks
        # several times a step, and a year's closed groups made each scan grow with the run.
        self._views: dict[tuple[bool, str | None], list[PositionGroup]] = {}
        self.version = 0  # moved by every change (persistence skips an unchanged book)

    def get(self, group_id: str) -> PositionGroup | None:
        return self._groups.get(group_id)

    def put(self, group: PositionGroup) -> None:
        self._groups[group.group_id] = group
        self._views.clear()
        self.version += 1

    def live(self, strategy: str | None = None) -> Sequence[PositionGroup]:
        return self._view(True, strategy)

    def closed(self, strategy: str | None = None) -> Sequence[PositionGroup]:
        return self._view(False, strategy)

    def _view(self, live: bool, strategy: str | None) -> list[PositionGroup]:
        """A fresh list (callers may change it) of the live or closed groups, in insertion order."""
        key = (live, strategy)
        found = self._views.get(key)
        if found is None:
            found = self._views[key] = [
                g
                for g in self._groups.values()
                if (g.status in _LIVE if live else g.status is GroupStatus.CLOSED)
                and (strategy is None or g.strategy == strategy)
            ]
        return list(found)

    def remove(self, group_id: str) -> None:
        """Forget a group that was replaced by its parts (it never held a position of its own)."""
        self._groups.pop(group_id, None)
        self._views.clear()
        self.version += 1

    def opened_on(self, day: date, strategy: str) -> Sequence[PositionGroup]:
        """Groups of ``strategy`` whose id was issued on ``day`` (ids carry their date)."""
        stamp = f"{strategy}-{day:%Y%m%d}-"
        return [
            g
            for g in self._groups.values()
            if g.group_id.startswith(stamp) and g.status is not GroupStatus.ABANDONED
        ]

    def new_group_id(self, strategy: str, now: datetime) -> str:
        """``strategy-YYYYMMDD-NNN``: deterministic, so a replayed run issues the same ids."""
        key = f"{strategy}-{now:%Y%m%d}"
        self._sequence[key] = self._sequence.get(key, 0) + 1
        self.version += 1
        return f"{key}-{self._sequence[key]:03d}"

    # --- state -----------------------------------------------------------------------------------
    def state(self) -> BookState:
        return BookState(tuple(self._groups.values()), dict(self._sequence))

    def restore(self, state: BookState) -> None:
        self._groups = {g.group_id: g for g in state.groups}
        self._sequence = dict(state.sequence)
        self._views.clear()
        self.version += 1


def contract_to_json(c: OptionContract) -> dict[str, Any]:
    return {
        "root": c.root,
        "underlying": c.underlying,
        "right": c.right.value,
        "strike": c.strike,
        "expiry": c.expiry.isoformat(),
        "multiplier": c.multiplier,
        "kind": c.kind.value,
        "style": c.style.value,
        "settlement": c.settlement.value,
    }


def contract_from_json(d: dict[str, Any]) -> OptionContract:
    """Enum members are looked up in plain dicts: a restart reads thousands of contracts, and an
    unknown value still fails with a KeyError naming it."""
    return OptionContract(
        root=d["root"],
        underlying=d["underlying"],
        right=_RIGHTS[d["right"]],
        strike=float(d["strike"]),
        expiry=date.fromisoformat(d["expiry"]),
        multiplier=float(d["multiplier"]),
        kind=_KINDS[d["kind"]],
        style=_STYLES[d["style"]],
        settlement=_SETTLEMENTS[d["settlement"]],
    )


_RIGHTS = {m.value: m for m in Right}
_KINDS = {m.value: m for m in SecurityKind}
_STYLES = {m.value: m for m in ExerciseStyle}
_SETTLEMENTS = {m.value: m for m in Settlement}


def _dt(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _parse_dt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def group_to_json(g: PositionGroup) -> dict[str, Any]:
    return {
        "group_id": g.group_id,
        "strategy": g.strategy,
        "legs": [{"contract": contract_to_json(leg.contract), "ratio": leg.ratio} for leg in g.legs],
        "quantity": g.quantity,
        "status": g.status.value,
        "opened_at": _dt(g.opened_at),
        "entry_price": g.entry_price,
        "entry_fees": g.entry_fees,
        "closed_at": _dt(g.closed_at),
        "exit_price": g.exit_price,
        "exit_fees": g.exit_fees,
        "exit_reason": g.exit_reason,
        "max_loss_per_unit": g.max_loss_per_unit,
        "notes": dict(g.notes),
        "campaign": g.campaign,
        "part": g.part,
        "parts": [[name, list(idx)] for name, idx in g.parts],
    }


def group_from_json(d: dict[str, Any]) -> PositionGroup:
    return PositionGroup(
        group_id=d["group_id"],
        strategy=d["strategy"],
        legs=tuple(Leg(contract_from_json(x["contract"]), int(x["ratio"])) for x in d["legs"]),
        quantity=int(d["quantity"]),
        status=GroupStatus(d["status"]),
        opened_at=_parse_dt(d["opened_at"]),
        entry_price=float(d["entry_price"]),
        entry_fees=float(d["entry_fees"]),
        closed_at=_parse_dt(d["closed_at"]),
        exit_price=float(d["exit_price"]),
        exit_fees=float(d["exit_fees"]),
        exit_reason=str(d["exit_reason"]),
        max_loss_per_unit=float(d["max_loss_per_unit"]),
        notes={str(k): float(v) for k, v in d["notes"].items()},
        campaign=str(d.get("campaign", "")),
        part=str(d.get("part", "")),
        parts=tuple((str(name), tuple(int(i) for i in idx)) for name, idx in d.get("parts", ())),
    )


def split_into_parts(opened: PositionGroup, leg_prices: Sequence[float]) -> list[PositionGroup]:
    """The groups an opening fill becomes: itself, or one group per named part (ids ``<id>-<part>``)
    that share its id as their campaign.  Each part's entry price is its own legs' net fill price
    when the engine reported per-leg prices, else the whole fill shared out in proportion to the
    parts' mids at entry (``notes['mid_<i>']``); fees and max loss are shared by contract count."""
    if not opened.parts:
        return [opened]
    legs = opened.legs
    if len(leg_prices) == len(legs):
        prices = list(leg_prices)
    else:
        mids = [opened.notes.get(f"mid_{i}", 0.0) for i in range(len(legs))]
        mid_net = sum(leg.ratio * m for leg, m in zip(legs, mids, strict=True))
        scale = opened.entry_price / mid_net if abs(mid_net) > 1e-12 else 1.0
        prices = [m * scale for m in mids]
    contracts = sum(abs(leg.ratio) for leg in legs) or 1
    members = []
    for name, indices in opened.parts:
        part_legs = tuple(legs[i] for i in indices)
        share = sum(abs(leg.ratio) for leg in part_legs) / contracts
        members.append(
            replace(
                opened,
                group_id=f"{opened.group_id}-{name}",
                legs=part_legs,
                entry_price=sum(legs[i].ratio * prices[i] for i in indices),
                entry_fees=opened.entry_fees * share,
                max_loss_per_unit=opened.max_loss_per_unit * share,
                campaign=opened.campaign or opened.group_id,
                part=name,
                parts=(),
            )
        )
    return members
