"""Profit targets as filled: STRATEGY_RULES.md, "How targets, stops and trades are measured" - a
filled ``profit_target`` realises at least its target less one tick per leg (targets trigger on
the expected exit fill, and the exit order may not pay more than the target's price).

Judged from trades.csv alone.  Per unit, in price points after fees:
- a credit structure (0DTE condor, strangle, LEAP rung, IPMCC weekly, LT112 naked puts) realises
  its credit minus what the exit paid minus fees, against ``target share x credit``;
- the LT112 debit spread is sold: what the sale brought in, against ``multiple x its cost``.
The shortfall is the target minus what was realised, in dollars (x quantity x multiplier) and in
ticks per leg (the root's combo tick, ``core.ticks``).  A shortfall above one tick per leg is a
violation; exactly one tick is the allowance.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from analysis.trade_log import Trade
from core.settings import Settings
from core.ticks import root_tick

EPS = 1e-6
# Contract multipliers by option root, used only when a trade's own row cannot give it (a fill at
# exactly the entry price has no gross P&L to divide by): LEAN's symbol-properties database.
_MULTIPLIERS = {"ES": 50.0, "MES": 5.0, "CL": 1000.0, "MCL": 100.0, "GC": 100.0, "MGC": 10.0}


@dataclass(frozen=True)
class Shortfall:
    group_id: str
    target: float  # points per unit
    realized: float  # points per unit, after fees
    quantity: int
    multiplier: float
    tick: float
    legs: int

    @property
    def points(self) -> float:
        return self.target - self.realized

    @property
    def dollars(self) -> float:
        return self.points * self.quantity * self.multiplier

    @property
    def ticks_per_leg(self) -> float:
        return self.points / (self.tick * self.legs)

    @property
    def violation(self) -> bool:
        return self.ticks_per_leg > 1.0 + EPS

    def describe(self) -> str:
        side = "short" if self.points > EPS else "above"
        return (
            f"realised {self.realized:.4f} of its {self.target:.4f} target per unit: "
            f"${abs(self.dollars):,.2f} {side}, {abs(self.ticks_per_leg):.2f} ticks per leg "
            f"({self.legs} leg{'s' if self.legs > 1 else ''} x {self.tick:g})"
        )


def _share(t: Trade, s: Settings) -> float | None:
    """The target as a share of the credit, for the credit structures."""
    if t.strategy == "lt112":
        return s.lt112_naked_profit_target if t.part == "naked" else None
    if t.strategy == "ipmcc":
        return s.ipmcc_short_profit_target if t.part == "short_call" else None
    shares = {"zero_dte": s.zero_dte_profit_target, "strangle": s.strangle_profit_target,
              "leap_ladder": s.leap_profit_target}  # fmt: skip
    return shares.get(t.strategy)


def _multiplier(t: Trade) -> float:
    """Dollars per point per unit, from the row's own P&L: pnl + fees = gross points x qty x mult."""
    gross = -(t.entry_price + t.exit_price) * t.quantity
    if abs(gross) > EPS:
        return (t.pnl + t.fees) / gross
    return _MULTIPLIERS.get(t.roots[0] if t.roots else "", 100.0)


def shortfall(t: Trade, s: Settings) -> Shortfall | None:
    """How far a ``profit_target`` exit fell short of its target (negative: it beat it); None for
    other exits and for trades with no target of that kind."""
    if t.exit_reason != "profit_target" or not t.roots:
        return None
    multiplier = _multiplier(t)
    if not (math.isfinite(multiplier) and multiplier > 0):
        return None
    if t.strategy == "lt112" and t.part == "spread":
        target, realized = s.lt112_spread_profit_multiple * t.entry_price, -t.exit_price
    else:
        share = _share(t, s)
        if share is None:
            return None
        target = share * -t.entry_price
        realized = -(t.entry_price + t.exit_price) - t.fees / (t.quantity * multiplier)
    tick = root_tick(t.roots[0])
    return Shortfall(t.group_id, target, realized, t.quantity, multiplier, tick, len(t.roots))


def findings(t: Trade, s: Settings) -> Iterable[tuple[str, str]]:
    short = shortfall(t, s)
    if short is not None and short.violation:
        yield "profit_target_fill", f"profit_target {short.describe()}; allowed: one tick per leg short"


def worst(trades: Sequence[Trade], s: Settings) -> Shortfall | None:
    """The profit_target exit that realised least against its target (in ticks per leg)."""
    found = [x for t in trades if (x := shortfall(t, s)) is not None]
    return max(found, key=lambda x: (x.ticks_per_leg, x.group_id), default=None)


def worst_line(trades: Sequence[Trade], s: Settings) -> str:
    w = worst(trades, s)
    if w is None:
        return "worst profit_target exit: none (no profit_target exits)"
    return f"worst profit_target exit: {w.group_id}, {w.describe()}"
