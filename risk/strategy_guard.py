"""Per-strategy health: the consecutive-loss pause and the underperformance size cut.

- ``risk_consecutive_losses`` losing closed trades in a row pause the strategy's entries for
  ``risk_pause_days`` trading days after the day of the last loss; it then resumes at reduced size
  (``risk_reduced_size``) until its next winning trade.
- After ``risk_underperformance_min_trades`` closed trades, a win rate over the latest
  ``risk_underperformance_window`` trades below ``risk_underperformance_ratio`` x the strategy's
  expected win rate alerts once and reduces size (and its BP budget) until the rate recovers.

Other strategies are never affected.  A closed trade is a win when its P&L after fees is > 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from core.ports import TradingCalendar
from core.settings import Settings, named_values
from core.types import Decision
from risk.events import Action, RiskEvent


def base_strategy(name: str) -> str:
    """Re-labelled groups (``lt112:assigned``) count for the strategy that opened them."""
    return name.split(":", 1)[0]


@dataclass
class StrategyHealth:
    consecutive_losses: int = 0
    paused_until: str = ""  # ISO date from which entries are allowed again ('' = not paused)
    reduced_until_win: bool = False
    underperforming: bool = False
    results: list[bool] = field(default_factory=list)  # latest closed trades, True = win

    def __post_init__(self) -> None:
        if self.paused_until:
            date.fromisoformat(self.paused_until)  # raises ValueError on a bad date
        if self.consecutive_losses < 0:
            raise ValueError(f"consecutive losses {self.consecutive_losses} below zero")


@dataclass
class StrategyGuard:
    health: dict[str, StrategyHealth] = field(default_factory=dict)

    def on_trade_closed(
        self, strategy: str, pnl: float, when: datetime, s: Settings, calendar: TradingCalendar
    ) -> list[RiskEvent]:
        name = base_strategy(strategy)
        h = self.health.setdefault(name, StrategyHealth())
        win = pnl > 0
        h.results = ([*h.results, win])[-s.risk_underperformance_window :]
        events: list[RiskEvent] = []
        values = {"pnl": pnl, "consecutive_losses": h.consecutive_losses + (0 if win else 1)}
        if win:
            h.consecutive_losses = 0
            if h.reduced_until_win:
                h.reduced_until_win = False
                events.append(
                    RiskEvent(
                        when,
                        "consecutive_losses",
                        Action.RESTORE_SIZE,
                        f"{name}: first win after its pause, full size again",
                        values,
                        strategy=name,
                    )
                )
        else:
            h.consecutive_losses += 1
            if h.consecutive_losses >= s.risk_consecutive_losses:
                resume = _trading_days_after(when.date(), s.risk_pause_days, calendar)
                h.paused_until, h.reduced_until_win, h.consecutive_losses = resume.isoformat(), True, 0
                events.append(
                    RiskEvent(
                        when,
                        "consecutive_losses",
                        Action.PAUSE,
                        f"{name}: {s.risk_consecutive_losses} losing trades in a row; entries paused "
                        f"for {s.risk_pause_days} trading days (until {resume}), then "
                        f"{s.risk_reduced_size:.0%} size until a win",
                        {**values, "resume": resume.isoformat()},
                        strategy=name,
                    )
                )
        events += self._underperformance(name, h, when, s)
        return events

    def _underperformance(self, name: str, h: StrategyHealth, when: datetime, s: Settings) -> list[RiskEvent]:
        expected = named_values(s.risk_expected_win_rates).get(name)
        if expected is None or len(h.results) < s.risk_underperformance_min_trades:
            return []
        rate = sum(h.results) / len(h.results)
        floor = s.risk_underperformance_ratio * expected
        values = {"win_rate": rate, "expected": expected, "floor": floor, "trades": len(h.results)}
        if rate < floor - 1e-9 and not h.underperforming:
            h.underperforming = True
            return [
                RiskEvent(
                    when,
                    "underperformance",
                    Action.REDUCE_SIZE,
                    f"{name}: win rate {rate:.0%} over {len(h.results)} trades is below "
                    f"{floor:.0%} ({s.risk_underperformance_ratio:.0%} of the expected {expected:.0%}); "
                    f"size and BP budget cut to {s.risk_reduced_size:.0%}",
                    values,
                    strategy=name,
                )
            ]
        if rate >= floor - 1e-9 and h.underperforming:
            h.underperforming = False
            return [
                RiskEvent(
                    when,
                    "underperformance",
                    Action.RESTORE_SIZE,
                    f"{name}: win rate {rate:.0%} recovered to >= {floor:.0%}; full size again",
                    values,
                    strategy=name,
                )
            ]
        return []

    # --- decisions -------------------------------------------------------------------------------
    def check(self, strategy: str, today: date) -> Decision:
        h = self.health.get(base_strategy(strategy))
        if h is not None and h.paused_until and today < date.fromisoformat(h.paused_until):
            return Decision.block(
                "strategy_paused",
                f"{strategy}: paused after consecutive losses until {h.paused_until}",
            )
        return Decision.ok()

    def size_factor(self, strategy: str, today: date, s: Settings) -> float:
        h = self.health.get(base_strategy(strategy))
        if h is None:
            return 1.0
        return s.risk_reduced_size if (h.reduced_until_win or h.underperforming) else 1.0

    def reset(self, now: datetime, source: str) -> list[RiskEvent]:
        events = []
        for name, h in self.health.items():
            if h.paused_until or h.reduced_until_win:
                events.append(
                    RiskEvent(
                        now,
                        "consecutive_losses",
                        Action.RESET,
                        f"{name}: pause and size cut reset manually ({source})",
                        {},
                        strategy=name,
                    )
                )
            h.paused_until, h.reduced_until_win, h.consecutive_losses = "", False, 0
        return events


def _trading_days_after(day: date, n: int, calendar: TradingCalendar) -> date:
    """The first trading day after ``n`` full trading days following ``day``."""
    d, counted = day, 0
    for _ in range(n * 7 + 30):
        d += timedelta(days=1)
        if calendar.is_trading_day(d):
            if counted == n:
                return d
            counted += 1
    return d
