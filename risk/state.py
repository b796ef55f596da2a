"""The risk layer's memory, shared by the gate and the monitors: one typed state dataclass.

The circuit breaker, per-strategy health, the entry halt after an underlying jump with the last
price of each underlying, the stuck-quote memory, the last manual-reset token applied, the
assignments already flattened and what the monitors have already alerted.  ``persistence`` saves
it with the rest of the system's state (``RiskMonitors.state``); nothing here touches a store.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date, datetime

from risk.breaker import CircuitBreaker
from risk.data_quality import JumpWatch, QuoteWatch
from risk.strategy_guard import StrategyGuard
from risk.trade_units import TradeUnits


@dataclass
class AlertMemory:
    """What the monitors already said, so a restart neither repeats nor forgets an alert."""

    reported: set[str] = field(default_factory=set)  # one alert per unexplained difference / day
    greeks_alerted: set[str] = field(default_factory=set)  # Greeks breached and alerted today
    greeks_day: date | None = None
    day: date | None = None  # the session the quote memory was last trimmed for
    reset_requests: list[str] = field(default_factory=list)  # operator resets not applied yet

    def forget_before(self, day: date) -> None:
        """Drop once-a-day keys (``...:YYYY-MM-DD``) of sessions before ``day``: they can never
        match again, and kept they would grow the saved state every day for ever."""
        self.reported = {key for key in self.reported if not _dated_before(key, day)}


def _dated_before(key: str, day: date) -> bool:
    try:
        return date.fromisoformat(key.rsplit(":", 1)[-1]) < day
    except ValueError:  # not a once-a-day key (e.g. one alert per unexplained difference)
        return False


@dataclass
class RiskState:
    breaker: CircuitBreaker = field(default_factory=CircuitBreaker)
    guard: StrategyGuard = field(default_factory=StrategyGuard)
    jumps: JumpWatch = field(default_factory=JumpWatch)
    quotes: QuoteWatch = field(default_factory=QuoteWatch)
    units: TradeUnits = field(default_factory=TradeUnits)  # LT112 units, IPMCC campaigns in progress
    reset_token: str = ""  # the risk_breaker_reset value already applied
    flattened: dict[str, datetime] = field(default_factory=dict)  # holding symbol -> when handled
    alerts: AlertMemory = field(default_factory=AlertMemory)

    def replace_with(self, other: RiskState) -> None:
        """Take ``other``'s values in place: the gate and the monitors share this object."""
        for f in dataclasses.fields(self):
            setattr(self, f.name, getattr(other, f.name))
