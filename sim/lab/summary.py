"""A backtest's result cut to what a study needs (a few kB, not the event log): the return metrics
of ``monitoring.performance``, the worst day, P&L per strategy (realised + open: the reports'
definition), breaker trips and forced exits, the closing equity of every session (walk-forward
stitches them) and the trades file's hash."""

from __future__ import annotations

import hashlib
import itertools
import math
from collections import Counter
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from monitoring.performance import ClosedTrade, portfolio_metrics, strategy_stats
from risk.events import RISK_EVENT, Action
from sim.engine import RunResult
from sim.report import final_open_positions

TRIP, FORCED_EXIT = Action.TRIP.value, Action.FORCED_EXIT.value


class RiskCounts:
    """Counts the risk layer's events by (rule, action) as the run records them (subscribed to the
    run's recorder: a task keeps no event log to count from afterwards)."""

    def __init__(self) -> None:
        self.by_rule: Counter[tuple[str, str]] = Counter()

    def record(self, kind: str, time: datetime, payload: Mapping[str, Any]) -> None:
        if kind == RISK_EVENT:
            self.by_rule[(str(payload.get("rule", "")), str(payload.get("action", "")))] += 1


def summarize(result: RunResult, risk: RiskCounts, starting_cash: float, trades_csv: bytes) -> dict[str, Any]:
    days = [p.day for p in result.equity]
    nlv = [p.net_liquidation for p in result.equity]
    values = [starting_cash, *nlv]
    returns = [b / a - 1.0 if a > 0 else -1.0 for a, b in itertools.pairwise(values)]
    worst = min(range(len(returns)), key=lambda i: returns[i]) if returns else None
    closed = [ClosedTrade.of(t, closed=days[-1] if days else None) for t in result.recorder.trades]
    stats = strategy_stats(closed, open_positions=final_open_positions(result))
    stats.pop("portfolio")
    by_rule = risk.by_rule
    return {
        "sessions": len(nlv),
        "steps": result.steps,
        "start_value": starting_cash,
        "end_value": nlv[-1] if nlv else starting_cash,
        **_metrics(days, nlv, starting_cash),
        "worst_day": _num(returns[worst]) if worst is not None else None,
        "worst_day_date": days[worst].isoformat() if worst is not None else None,
        "trades": len(result.recorder.trades),
        "strategy_pnl": {k: round(s.total_pnl, 2) for k, s in stats.items()},  # realised + open
        "strategy_open_pnl": {k: round(s.open_pnl, 2) for k, s in stats.items()},
        "strategy_trades": {k: s.trades for k, s in stats.items() if s.trades},
        "breaker_trips": {rule: n for (rule, action), n in sorted(by_rule.items()) if action == TRIP},
        "forced_exits": sum(n for (_, action), n in by_rule.items() if action == FORCED_EXIT),
        "equity": [[d.isoformat(), round(v, 2)] for d, v in zip(days, nlv, strict=True)],
        "trades_sha256": hashlib.sha256(trades_csv).hexdigest(),
    }


def _metrics(days: list[date], nlv: list[float], starting_cash: float) -> dict[str, float | None]:
    names = ("total_return", "annual_return", "sharpe", "sortino", "calmar", "max_drawdown")
    if nlv and min(nlv) <= 0:  # a ruined account: returns past zero mean nothing, the loss is all
        return {**dict.fromkeys(names), "total_return": nlv[-1] / starting_cash - 1.0, "max_drawdown": -1.0}
    m = portfolio_metrics(days, nlv, starting_cash)
    return {name: _num(getattr(m, name)) for name in names}


def _num(value: float) -> float | None:
    """JSON has no NaN or infinity: an undefined metric (flat equity, no drawdown) is null."""
    return float(value) if math.isfinite(value) else None
