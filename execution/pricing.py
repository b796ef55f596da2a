"""Combo limit prices: start at mid, step toward the natural price, always on the tick grid."""

from __future__ import annotations

import math

from core.ticks import combo_tick

__all__ = ["combo_limit", "combo_tick", "ladder_price"]


def ladder_price(
    mid: float, natural: float, step: int, max_steps: int, max_concession: float, tick: float
) -> float:
    """Limit for ``step`` (0 = mid): a share ``step/max_steps`` of the allowed concession toward natural.

    Natural is always the higher signed price (more debit or less credit).  Steps short of the
    full concession round down on the tick grid, so they never give more than the ladder allows;
    a step that reaches natural rounds up, so the order is marketable at the natural price.
    """
    share = 0.0 if max_steps <= 0 else min(1.0, step / max_steps) * max_concession
    price = mid + share * (natural - mid)
    ticks = price / tick
    rounded = math.ceil(ticks - 1e-9) if share >= 1.0 else math.floor(ticks + 1e-9)
    return round(rounded * tick, 10)


def combo_limit(limit: float, all_sell: bool, tick: float) -> float:
    """A limit LEAN will send as a combo *limit*: its ``SubmitComboOrder`` turns a limit of exactly 0
    into ComboMarket, which Tastytrade's brokerage model rejects.  A zero limit moves one tick:
    to a one-tick credit when every leg sells (a debit there is invalid), else to a one-tick debit."""
    if abs(limit) >= tick / 2:
        return limit
    return -tick if all_sell else tick
