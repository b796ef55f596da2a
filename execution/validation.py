"""Checks every fill against the order that caused it, and measures fill quality per strategy.

A fill the order cannot explain (a leg it does not have, the wrong side, more than it asked for,
a price that is not a price, a net worse than the limit) is still booked, because the broker's
positions changed, but it is reported so a human looks at it.  Slippage is the net fill price
per unit minus the net mid when the order was sent (debit +: positive means we paid away edge).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from core.types import LegFill
from execution.group import OrderRecord


def fill_problems(order: OrderRecord, fills: Sequence[LegFill]) -> list[str]:
    """Why these fills do not fit ``order`` (empty when they do)."""
    problems = []
    pending = dict(order.filled)
    for f in fills:
        symbol = f.contract.symbol
        wanted = order.legs.get(symbol)
        if wanted is None:
            problems.append(f"{symbol}: not a leg of {order.tag}")
            continue
        if f.quantity == 0 or (f.quantity > 0) != (wanted > 0):
            problems.append(
                f"{symbol}: filled {f.quantity:+d}, the order {'buys' if wanted > 0 else 'sells'}"
            )
        pending[symbol] = pending.get(symbol, 0) + f.quantity
        if abs(pending[symbol]) > abs(wanted):
            problems.append(f"{symbol}: filled {pending[symbol]:+d} of {wanted:+d}")
        if not math.isfinite(f.price) or f.price < 0:
            problems.append(f"{symbol}: fill price {f.price!r}")
        if not math.isfinite(f.fee) or f.fee < 0:
            problems.append(f"{symbol}: fee {f.fee!r}")
    return problems


def net_per_unit(order: OrderRecord, fills: Sequence[LegFill]) -> float | None:
    """Net fill price per combo unit when ``fills`` complete whole units of every leg, else None."""
    by_leg: dict[str, int] = defaultdict(int)
    cash = 0.0
    for f in fills:
        by_leg[f.contract.symbol] += f.quantity
        cash += f.quantity * f.price
    shares = {by_leg.get(s, 0) / q for s, q in order.legs.items()}
    if len(shares) != 1:
        return None
    (share,) = shares
    units = share * order.quantity
    return cash / units if units > 0 else None


@dataclass
class _Quality:
    orders: int = 0
    units: int = 0
    slippage_points: float = 0.0  # sum over units
    slippage_dollars: float = 0.0
    width_points: float = 0.0  # sum over units of (natural - mid): the most the ladder may give


@dataclass
class FillQuality:
    """Per strategy: how far from the mid at sending our filled orders ended up."""

    by_strategy: dict[str, _Quality] = field(default_factory=dict)

    def add(self, strategy: str, order: OrderRecord, net: float, units: int, multiplier: float) -> None:
        q = self.by_strategy.setdefault(strategy, _Quality())
        slip = net - order.mid
        q.orders += 1
        q.units += units
        q.slippage_points += slip * units
        q.slippage_dollars += slip * units * multiplier
        q.width_points += max(0.0, order.natural - order.mid) * units

    def to_json(self) -> dict[str, Any]:
        return {
            name: {
                "orders": q.orders,
                "units": q.units,
                "avg_slippage_points": q.slippage_points / q.units if q.units else 0.0,
                "slippage_dollars": q.slippage_dollars,
                "share_of_mid_to_natural": q.slippage_points / q.width_points
                if q.width_points > 1e-12
                else 0.0,
            }
            for name, q in sorted(self.by_strategy.items())
        }
