"""Portfolio circuit breaker: loss halts by day, week and month, and the intraday drawdown halt.

Baselines: the day's is the last NLV seen before the day began (the previous close), so an
overnight gap counts against the day it opens on; the week's and month's likewise.  The intraday
peak is the highest NLV seen during the day.  A tripped rule blocks new entries (never exits)
until its explicit reset: ``loss_daily`` and ``intraday_drawdown`` at the next session,
``loss_weekly`` at the next ISO week, ``loss_monthly`` at the next month, or a manual reset.  The
breaker is a plain dataclass: it is part of the saved risk state (``risk.state``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime

from core.settings import Settings
from core.types import Decision
from risk.events import Action, RiskEvent

# rule -> (period that resets it, description)
RULES = {
    "loss_daily": ("day", "daily loss"),
    "loss_weekly": ("week", "weekly loss"),
    "loss_monthly": ("month", "monthly loss"),
    "intraday_drawdown": ("day", "intraday drawdown from the peak"),
}


def period_key(period: str, day: date) -> str:
    if period == "day":
        return day.isoformat()
    if period == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{day.year}-{day.month:02d}"


@dataclass
class Trip:
    rule: str
    period_key: str  # the trip clears once the current key for its period differs
    since: str  # ISO time
    loss: float
    limit: float

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise ValueError(f"unknown breaker rule {self.rule!r}")


@dataclass
class CircuitBreaker:
    day: str = ""  # ISO date of the current session
    day_start: float = 0.0
    week_key: str = ""
    week_start: float = 0.0
    month_key: str = ""
    month_start: float = 0.0
    peak: float = 0.0
    last_nlv: float = 0.0
    trips: dict[str, Trip] = field(default_factory=dict)
    bad_nlv: bool = False  # the latest NLV was unusable

    def __post_init__(self) -> None:
        for name in ("day_start", "week_start", "month_start", "peak", "last_nlv"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"breaker {name} {value!r} is not a non-negative number")
        for rule, trip in self.trips.items():
            if trip.rule != rule:
                raise ValueError(f"breaker trip {trip.rule!r} filed under {rule!r}")

    # --- observation -----------------------------------------------------------------------------
    def observe(self, now: datetime, nlv: float, s: Settings) -> list[RiskEvent]:
        """Update baselines with the NLV seen at ``now``; trip rules whose loss reached the limit."""
        events: list[RiskEvent] = []
        if not math.isfinite(nlv) or nlv <= 0:
            if not self.bad_nlv:
                events.append(
                    RiskEvent(
                        now,
                        "nlv_invalid",
                        Action.BLOCK_ENTRY,
                        f"net liquidation {nlv!r} is unusable: entries blocked until it is",
                        {"nlv": nlv},
                    )
                )
            self.bad_nlv = True
            return events
        self.bad_nlv = False
        today = now.date()
        events += self._roll(now, today, nlv)
        self.peak = max(self.peak, nlv)
        checks = (
            ("loss_daily", self.day_start, s.risk_daily_loss_halt),
            ("loss_weekly", self.week_start, s.risk_weekly_loss_halt),
            ("loss_monthly", self.month_start, s.risk_monthly_loss_halt),
            ("intraday_drawdown", self.peak, s.risk_intraday_drawdown),
        )
        for rule, base, limit in checks:
            if rule in self.trips or base <= 0:
                continue
            loss = 1.0 - nlv / base
            if loss >= limit - 1e-12:
                period = RULES[rule][0]
                self.trips[rule] = Trip(rule, period_key(period, today), now.isoformat(), loss, limit)
                events.append(
                    RiskEvent(
                        now,
                        rule,
                        Action.TRIP,
                        f"{RULES[rule][1]} {loss:.2%} reached the {limit:.0%} halt: no new entries "
                        f"until the next {period} (exits still run)",
                        {"nlv": nlv, "baseline": base, "loss": loss, "limit": limit, "resets": period},
                    )
                )
        self.last_nlv = nlv
        return events

    def _roll(self, now: datetime, today: date, nlv: float) -> list[RiskEvent]:
        """New day / week / month: baselines move to the last NLV seen, expired trips clear."""
        events: list[RiskEvent] = []
        previous = self.last_nlv if self.last_nlv > 0 else nlv
        if self.day != today.isoformat():
            self.day, self.day_start, self.peak = today.isoformat(), previous, nlv
        week, month = period_key("week", today), period_key("month", today)
        if self.week_key != week:
            self.week_key, self.week_start = week, previous
        if self.month_key != month:
            self.month_key, self.month_start = month, previous
        for rule, trip in list(self.trips.items()):
            if period_key(RULES[rule][0], today) != trip.period_key:
                del self.trips[rule]
                events.append(
                    RiskEvent(
                        now,
                        rule,
                        Action.RESET,
                        f"{RULES[rule][1]} halt reset: new {RULES[rule][0]}",
                        {"tripped_at": trip.since, "loss": trip.loss},
                    )
                )
        return events

    # --- decisions -------------------------------------------------------------------------------
    def check(self) -> Decision:
        if self.bad_nlv:
            return Decision.block("breaker_nlv_invalid", "net liquidation value is unusable")
        for rule in RULES:
            trip = self.trips.get(rule)
            if trip is not None:
                return Decision.block(
                    f"breaker_{rule}",
                    f"{RULES[rule][1]} {trip.loss:.2%} >= {trip.limit:.0%} since {trip.since}; "
                    f"resets next {RULES[rule][0]} or by manual reset",
                )
        return Decision.ok()

    def reset(self, now: datetime, source: str) -> list[RiskEvent]:
        events = [
            RiskEvent(
                now,
                rule,
                Action.RESET,
                f"{RULES[rule][1]} halt reset manually ({source})",
                {"tripped_at": t.since, "loss": t.loss},
            )
            for rule, t in self.trips.items()
        ]
        self.trips.clear()
        # Re-base on the current value so the same, accepted, loss does not trip again at once.
        if self.last_nlv > 0:
            self.day_start = self.week_start = self.month_start = self.peak = self.last_nlv
        return events
