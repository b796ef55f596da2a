"""What counts as one trade for win rate and consecutive losses (STRATEGY_RULES.md, "How targets,
stops and trades are measured"): a 0DTE condor, a strangle and a LEAP rung are their own group;
an LT112 unit (spread part + naked part) and an IPMCC campaign (long calls + every weekly) are one
trade whose P&L is the sum of their parts, complete when the unit's last part or the campaign's
last long call (not a roll) closes.  Pending sums are kept in the risk state (they survive a
restart)."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.trades import CAMPAIGN_TRADES
from core.types import PositionGroup
from risk.strategy_guard import base_strategy

LT112_PARTS = 2  # the spread and the naked puts


@dataclass(frozen=True)
class OpenTrade:
    """A trade some of whose parts have closed: their P&L so far and how many closed."""

    pnl: float
    parts: int


@dataclass
class TradeUnits:
    """Part of the risk state: the trades still waiting for their other parts."""

    pending: dict[str, OpenTrade] = field(default_factory=dict)  # trade key -> what closed so far

    def close(self, group: PositionGroup) -> float | None:
        """The trade's P&L when ``group`` completes it, else None (its P&L is kept for later)."""
        name = base_strategy(group.strategy)
        pnl = group.realized_pnl()
        if group.strategy not in CAMPAIGN_TRADES:
            return pnl  # a condor, strangle or rung; an assigned remainder stands alone
        key = f"{name}:{group.campaign_id}"
        so_far = self.pending.get(key, OpenTrade(0.0, 0))
        total, parts = so_far.pnl + pnl, so_far.parts + 1
        done = (
            parts >= LT112_PARTS
            if name == "lt112"
            else group.part == "long_call" and group.exit_reason != "roll"
        )
        if not done:
            self.pending[key] = OpenTrade(total, parts)
            return None
        self.pending.pop(key, None)
        return total
