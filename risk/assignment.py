"""Assignment and exercise: detect them from the account, re-label what is left, flatten the rest.

Detection compares the engine's holdings with the book: an open group's short option leg holding
fewer contracts than the book expects, while stock or futures of its underlying appeared (the
system never trades them on purpose), was assigned.  Contracts missing with nothing delivered are
not guessed at: a critical alert leaves them to reconciliation.  Groups with a
working order (OPENING, CLOSING) are skipped: their holdings are legitimately in flux.

What happens: the affected group is re-labelled ``<strategy>:assigned`` and re-expressed with the
contracts actually still held (quantity 1, absolute ratios, the entry price scaled to match, so its
P&L stays right: the assigned leg leaves the group at zero and its intrinsic value shows up in the
delivered stock); its strategy stops managing it and the risk monitor closes what is left.  The
stock or futures are flattened (``risk_assignment_action = flatten``) with a market order through
``Platform.liquidate``, journaled before it is sent like every order.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from core.types import GroupStatus, Holding, Leg, PositionGroup

ASSIGNED_SUFFIX = ":assigned"


@dataclass(frozen=True)
class Shortfall:
    group: PositionGroup
    symbol: str
    expected: int
    held: int
    underlying: str = ""  # what an assignment of this leg delivers (stock or futures symbol)


def expected_option_holdings(groups: Sequence[PositionGroup]) -> dict[str, int]:
    out: dict[str, int] = {}
    for g in groups:
        for leg in g.legs:
            out[leg.contract.symbol] = out.get(leg.contract.symbol, 0) + leg.ratio * g.quantity
    return out


def find_shortfalls(groups: Sequence[PositionGroup], holdings: Mapping[str, Holding]) -> list[Shortfall]:
    """Legs of settled groups (OPEN, no working order) holding fewer contracts than expected.

    Holdings are shared between groups; a symbol's shortfall is charged to the groups holding it
    in book order until it is covered."""
    settled = [g for g in groups if g.status is GroupStatus.OPEN]
    in_flux = {leg.contract.symbol for g in groups if g.status is not GroupStatus.OPEN for leg in g.legs}
    expected = expected_option_holdings(settled)
    out: list[Shortfall] = []
    for symbol, want in expected.items():
        if symbol in in_flux or want == 0:
            continue
        h = holdings.get(symbol)
        have = 0 if h is None else round(h.quantity)
        if (want > 0 and have >= want) or (want < 0 and have <= want):
            continue
        missing = abs(want - have) if (have == 0 or (have > 0) == (want > 0)) else abs(want)
        for g in settled:
            for leg in g.legs:
                if leg.contract.symbol != symbol or missing <= 0:
                    continue
                mine = abs(leg.ratio * g.quantity)
                take = min(mine, missing)
                missing -= take
                sign = 1 if leg.ratio > 0 else -1
                out.append(Shortfall(g, symbol, sign * mine, sign * (mine - take), leg.contract.underlying))
    return out


def relabel(group: PositionGroup, shortfalls: Sequence[Shortfall]) -> PositionGroup:
    """The group as actually still held: quantity 1, legs = contracts left, re-labelled."""
    left = {s.symbol: s.held for s in shortfalls}
    legs = []
    for leg in group.legs:
        count = left.get(leg.contract.symbol, leg.ratio * group.quantity)
        if count != 0:
            legs.append(Leg(leg.contract, count))
    strategy = (
        group.strategy if group.strategy.endswith(ASSIGNED_SUFFIX) else group.strategy + ASSIGNED_SUFFIX
    )
    return dataclasses.replace(
        group,
        strategy=strategy,
        legs=tuple(legs),
        quantity=1,
        entry_price=group.entry_price * group.quantity,
        notes={**group.notes, "assigned_contracts": float(sum(abs(s.expected - s.held) for s in shortfalls))},
    )


def delivered_holdings(holdings: Mapping[str, Holding]) -> dict[str, float]:
    """Stock and futures held (anything that is not an option): what an assignment leaves."""
    return {
        symbol: h.quantity for symbol, h in holdings.items() if h.contract is None and abs(h.quantity) > 1e-9
    }
