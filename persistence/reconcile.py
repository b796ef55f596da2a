"""Compare what the state says we hold and have working with what the engine actually has.

Pure: takes the book's groups, our orders still working, the engine's holdings and open order
tags, and returns findings.  Anything unexplained is a finding; the caller fails closed.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from core.types import GroupStatus, Holding, PositionGroup

_HOLDING = (GroupStatus.OPEN, GroupStatus.CLOSING)


@dataclass(frozen=True)
class Finding:
    code: str  # unknown_position, missing_position, quantity_mismatch, foreign_order, lost_order
    subject: str  # the symbol or order tag
    message: str
    evidence: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Reconciliation:
    findings: tuple[Finding, ...]
    reattached: tuple[str, ...]  # our working orders the engine still has
    expected_positions: Mapping[str, float]

    @property
    def ok(self) -> bool:
        return not self.findings


def expected_positions(groups: Iterable[PositionGroup]) -> dict[str, float]:
    """Contracts per symbol the book's open groups hold (opening groups hold nothing yet)."""
    out: dict[str, float] = {}
    for g in groups:
        if g.status in _HOLDING:
            for leg in g.legs:
                out[leg.contract.symbol] = out.get(leg.contract.symbol, 0.0) + leg.ratio * g.quantity
    return {s: q for s, q in out.items() if abs(q) > 1e-9}


def reconcile(
    groups: Iterable[PositionGroup],
    working_tags: Collection[str],
    holdings: Mapping[str, Holding],
    open_tags: Collection[str],
    in_flight_tags: Collection[str] = (),
    cancels_in_flight: Collection[str] = (),
) -> Reconciliation:
    """``in_flight_tags``: orders sent just before the crash (not yet in the state, maybe at the
    engine); ``cancels_in_flight``: our orders that may be gone from the engine for a reason still
    on its way (a cancel sent just before the crash, a final event not delivered yet)."""
    groups = list(groups)
    expected = expected_positions(groups)
    owners: dict[str, list[str]] = {}
    for g in groups:
        if g.status in _HOLDING:
            for leg in g.legs:
                owners.setdefault(leg.contract.symbol, []).append(g.group_id)
    actual = {s: h.quantity for s, h in holdings.items() if abs(h.quantity) > 1e-9}
    findings: list[Finding] = []
    for symbol in sorted(set(expected) | set(actual)):
        want, have = expected.get(symbol, 0.0), actual.get(symbol, 0.0)
        if abs(want - have) < 1e-9:
            continue
        evidence = {"symbol": symbol, "book": want, "engine": have, "groups": owners.get(symbol, [])}
        if want == 0.0:
            findings.append(
                Finding(
                    "unknown_position", symbol, f"engine holds {have:+g} {symbol}, the book none", evidence
                )
            )
        elif have == 0.0:
            findings.append(
                Finding(
                    "missing_position",
                    symbol,
                    f"book expects {want:+g} {symbol}, engine holds none",
                    evidence,
                )
            )
        else:
            findings.append(
                Finding(
                    "quantity_mismatch",
                    symbol,
                    f"book expects {want:+g} {symbol}, engine holds {have:+g}",
                    evidence,
                )
            )
    ours = set(working_tags) | set(in_flight_tags)
    open_set = set(open_tags)
    for tag in sorted(open_set - ours):
        findings.append(
            Finding(
                "foreign_order",
                tag,
                f"engine has an open order {tag!r} the state does not know",
                {"tag": tag},
            )
        )
    for tag in sorted(set(working_tags) - open_set - set(cancels_in_flight)):
        findings.append(
            Finding(
                "lost_order",
                tag,
                f"state expects order {tag!r} working; the engine does not have it",
                {"tag": tag},
            )
        )
    return Reconciliation(tuple(findings), tuple(sorted(set(working_tags) & open_set)), expected)
