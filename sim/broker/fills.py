"""The combo limit fill rule, as LEAN backtests fill ``ComboLimitOrder``.

LEAN (``FillModel.ComboLimitFill`` in QuantConnect/Lean ``Common/Orders/Fills/FillModel.cs``):
each leg is priced on its own side of the book (a buy leg on the ask, a sell leg on the bid) times
its ratio; the combo fills, every leg completely, when that natural net price reaches the limit;
each leg is then booked at its own quote, so the net can be better than the limit but never worse.

Here, with the debit(+)/credit(-) net price convention: fillable when ``natural <= limit`` (LEAN
uses strict ``<``; "at" fills here too), every leg filled at its natural price.  A missing quote on
any leg, a sell leg with a negative bid, a buy leg with ask <= 0 or a non-finite quote means no fill this
step (the order keeps working).
A sell leg with a zero bid fills at 0, as in LEAN: closing a condor whose far wings are worthless
near expiry must still be possible (entries never get here with a zero bid: the risk gate's
data-quality rules refuse them).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from core.types import Leg, OptionQuote

EPS = 1e-9


def natural_prices(legs: Sequence[Leg], quotes: Sequence[OptionQuote]) -> list[float]:
    """Per-leg price paying the spread: ask for a buy leg, bid for a sell leg."""
    return [q.ask if leg.ratio > 0 else q.bid for leg, q in zip(legs, quotes, strict=True)]


def natural_net(legs: Sequence[Leg], quotes: Sequence[OptionQuote]) -> float:
    return sum(leg.ratio * p for leg, p in zip(legs, natural_prices(legs, quotes), strict=True))


def tradable(legs: Sequence[Leg], quotes: Sequence[OptionQuote]) -> bool:
    """Every leg has a finite quote with someone on the side we need."""
    for leg, q in zip(legs, quotes, strict=True):
        if not (math.isfinite(q.bid) and math.isfinite(q.ask)):
            return False
        if (leg.ratio < 0 and q.bid < 0) or (leg.ratio > 0 and q.ask <= 0):
            return False
    return True


def fill_prices(legs: Sequence[Leg], quotes: Sequence[OptionQuote], limit: float) -> list[float] | None:
    """Per-leg fill prices if the combo fills against these quotes at ``limit`` or better, else None."""
    if not tradable(legs, quotes) or natural_net(legs, quotes) > limit + EPS:
        return None
    return natural_prices(legs, quotes)
