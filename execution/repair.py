"""What to do with a group whose legs disagree: complete the missing legs, or unwind to flat.

Pure functions of the group's fills and the current quotes, so the decision is testable alone.
Completion is only chosen when the whole position, priced with the missing legs at their natural
price now, costs no more per unit than the natural price at submission plus a bounded share of the
entry spread; otherwise the legs already filled are unwound to the largest balanced level below.
A closing group never unwinds (that would re-open what we meant to close): it always completes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import reduce

from core.types import Leg, OptionContract, OptionQuote


@dataclass(frozen=True, slots=True)
class RepairOrder:
    """A combo that moves positions by ``contracts`` (signed per symbol): legs, units and limit."""

    legs: tuple[Leg, ...]
    quantity: int
    natural: float  # per combo unit
    mid: float
    limit: float


def levels(ratios: Mapping[str, int], filled: Mapping[str, int], target_units: int) -> tuple[int, int]:
    """(up, down): units to complete to (the most-filled leg, never past the intent) and units to
    unwind to (the least-filled leg, never below flat)."""
    units = [filled.get(s, 0) / r for s, r in ratios.items()]
    up = min(target_units, max(math.ceil(u - 1e-9) for u in units))
    down = max(0, min(math.floor(u + 1e-9) for u in units))
    return max(up, 0), min(down, target_units)


def moves_to(ratios: Mapping[str, int], filled: Mapping[str, int], units: int) -> dict[str, int]:
    """Signed contracts per symbol that bring every leg to ``units`` (zeros left out)."""
    out = {}
    for s, r in ratios.items():
        delta = r * units - filled.get(s, 0)
        if delta:
            out[s] = delta
    for s, q in filled.items():  # a symbol that is not a leg of the intent goes back to flat
        if s not in ratios and q:
            out[s] = -q
    return out


def leg_natural(quantity: int, quote: OptionQuote) -> float:
    return quote.ask if quantity > 0 else quote.bid


def price_moves(moves: Mapping[str, int], quotes: Mapping[str, OptionQuote]) -> float:
    """Points paid (debit +) to trade ``moves`` at the natural price of each leg."""
    return sum(q * leg_natural(q, quotes[s]) for s, q in moves.items())


def completion_net(
    cash_points: float, moves: Mapping[str, int], quotes: Mapping[str, OptionQuote], units: int
) -> float:
    """Net price per unit of the whole position once ``moves`` fill at natural."""
    return (cash_points + price_moves(moves, quotes)) / units


def build_order(
    moves: Mapping[str, int],
    contracts: Mapping[str, OptionContract],
    quotes: Mapping[str, OptionQuote],
    tick: float,
    cushion_ticks: int,
    max_limit: float | None = None,
) -> RepairOrder:
    """A marketable combo for ``moves``: limit at the natural price plus a cushion, on the tick grid,
    capped at ``max_limit`` (per combo unit) when given; never a debit for selling every leg."""
    symbols = sorted(moves)
    units = reduce(math.gcd, (abs(moves[s]) for s in symbols))
    legs = tuple(Leg(contracts[s], moves[s] // units) for s in symbols)
    natural = sum(leg.ratio * leg_natural(leg.ratio, quotes[s]) for leg, s in zip(legs, symbols, strict=True))
    mid = sum(leg.ratio * quotes[s].mid for leg, s in zip(legs, symbols, strict=True))
    limit = math.ceil((natural + cushion_ticks * tick) / tick - 1e-9) * tick
    if max_limit is not None:
        limit = min(limit, math.floor(max_limit / tick + 1e-9) * tick)
    if all(leg.ratio < 0 for leg in legs):
        limit = min(limit, 0.0)
    return RepairOrder(legs, units, natural, mid, round(limit, 10))
