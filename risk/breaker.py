"""Portfolio circuit breaker: loss halts by day, week and month, and the intraday drawdown halt.

Baselines: the day's is the last NLV seen before the day began (the previous close), so an
overnight gap counts against the day it opens on; the week's and month's likewise.  The intraday
peak is the highest NLV seen during the day.  A tripped rule blocks new entries (never exits)
until its explicit reset: ``loss_daily`` and ``intraday_drawdown`` at the next session,
``loss_weekly`` at the next ISO week, ``loss_monthly`` at the next month, or a manual reset.  The
state is a small JSON-able object so it survives restarts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from core.settings import Settings
from core.types import Decision
from risk.events import Action, RiskEvent

# rule -> (period that resets it, description)
RULES = {
    "loss_daily": ("day", "daily loss"),
    "loss_weekly": ("week", "weekly loss"),
    "loss_monthly": ("month", "monthly loss"),
    "intraday_drawdown": ("day", "intraday drawdown from the peak"),
    "state_unreadable": ("manual", "risk state unreadable at start-up"),
}


def period_key(period: str, day: date) -> str:
    if period == "manual":
        return "manual"
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

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "period_key": self.period_key,
            "since": self.since,
            "loss": self.loss,
            "limit": self.limit,
        }

    @staticmethod
    def from_json(d: dict[str, Any]) -> Trip:
        rule = str(d["rule"])
        if rule not in RULES:
            raise ValueError(f"unknown breaker rule {rule!r}")
        return Trip(rule, str(d["period_key"]), str(d["since"]), float(d["loss"]), float(d["limit"]))


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
    bad_nlv: bool = False  # not persisted: the latest NLV was unusable

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

    def trip_manual(self, now: datetime, rule: str, message: str) -> RiskEvent:
        """A trip only a manual reset clears (fail closed when the risk memory is lost)."""
        self.trips[rule] = Trip(rule, "manual", now.isoformat(), 0.0, 0.0)
        return RiskEvent(now, rule, Action.TRIP, message, {"resets": "manual"})

    # --- decisions -------------------------------------------------------------------------------
    def check(self) -> Decision:
        if self.bad_nlv:
            return Decision.block("breaker_nlv_invalid", "net liquidation value is unusable")
        for rule in RULES:
            trip = self.trips.get(rule)
            if trip is not None:
                if RULES[rule][0] == "manual":
                    return Decision.block(
                        f"breaker_{rule}", f"{RULES[rule][1]}: entries blocked until a manual reset"
                    )
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

    # --- persistence -----------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "day": self.day,
            "day_start": self.day_start,
            "week_key": self.week_key,
            "week_start": self.week_start,
            "month_key": self.month_key,
            "month_start": self.month_start,
            "peak": self.peak,
            "last_nlv": self.last_nlv,
            "trips": [t.to_json() for t in self.trips.values()],
        }

    @staticmethod
    def from_json(d: dict[str, Any]) -> CircuitBreaker:
        b = CircuitBreaker(
            day=str(d["day"]),
            day_start=float(d["day_start"]),
            week_key=str(d["week_key"]),
            week_start=float(d["week_start"]),
            month_key=str(d["month_key"]),
            month_start=float(d["month_start"]),
            peak=float(d["peak"]),
            last_nlv=float(d["last_nlv"]),
        )
        for raw in d["trips"]:
            trip = Trip.from_json(raw)
            b.trips[trip.rule] = trip
        for name in ("day_start", "week_start", "month_start", "peak", "last_nlv"):
            if not math.isfinite(getattr(b, name)) or getattr(b, name) < 0:
                raise ValueError(f"breaker {name} {getattr(b, name)!r} is not a non-negative number")
        return b
