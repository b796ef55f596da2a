"""What counts as one trade for win rate and consecutive losses (STRATEGY_RULES.md, "How targets,
stops and trades are measured"): a 0DTE condor, a strangle and a LEAP rung are their own group;
an LT112 unit (spread part + naked part) and an IPMCC campaign (long calls + every weekly) are one
trade whose P&L is the sum of their parts, complete when the unit's last part or the campaign's
last long call (not a roll) closes.  Pending sums are kept in the risk state (they survive a
restart)."""

from __future__ import annotations

from core.types import PositionGroup
from risk.strategy_guard import base_strategy

LT112_PARTS = 2  # the spread and the naked puts


class TradeUnits:
    def __init__(self) -> None:
        self.pending: dict[str, tuple[float, int]] = {}  # trade key -> (P&L so far, parts closed)

    def close(self, group: PositionGroup) -> float | None:
        """The trade's P&L when ``group`` completes it, else None (its P&L is kept for later)."""
        name = base_strategy(group.strategy)
        pnl = group.realized_pnl()
        if name not in ("lt112", "ipmcc") or group.strategy != name:
            return pnl  # a condor, strangle or rung; an assigned remainder stands alone
        key = f"{name}:{group.campaign_id}"
        total, parts = self.pending.get(key, (0.0, 0))
        total, parts = total + pnl, parts + 1
        done = (
            parts >= LT112_PARTS
            if name == "lt112"
            else group.part == "long_call" and group.exit_reason != "roll"
        )
        if not done:
            self.pending[key] = (total, parts)
            return None
        self.pending.pop(key, None)
        return total

    def to_json(self) -> dict[str, list[float]]:
        return {k: [v[0], float(v[1])] for k, v in sorted(self.pending.items())}

    @staticmethod
    def from_json(d: object) -> TradeUnits:
        units = TradeUnits()
        if not isinstance(d, dict):
            raise ValueError("trade_units must be a JSON object")
        units.pending = {str(k): (float(v[0]), int(v[1])) for k, v in d.items()}
        return units
