"""Daily export of performance metrics to the engine's store (LEAN's ObjectStore in QuantConnect,
a folder in the sim), so a dashboard or the next session can read them without the logs; and the
text of the daily summary alert."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from core.ports import StateStore
from core.types import PositionGroup
from monitoring import performance as pf
from monitoring.open_positions import OpenPosition, as_row

METRICS_PREFIX = "monitoring/metrics"
LATEST_KEY = f"{METRICS_PREFIX}/latest.json"


def day_key(day: date) -> str:
    return f"{METRICS_PREFIX}/{day:%Y/%m/%d}.json"


class DailyMetricsExporter:
    """Accumulates the account's closes and writes the metrics to date after each one."""

    def __init__(
        self,
        store: StateStore,
        start_value: float,
        expected_win_rates: Mapping[str, float],
        benchmark: str = "SPY",
    ) -> None:
        if not start_value > 0:
            raise ValueError(f"start value must be positive, got {start_value}")
        self.store = store
        self._start = start_value
        self._expected = dict(expected_win_rates)
        self.benchmark = benchmark
        self._days: list[date] = []
        self._values: list[float] = []
        self._bench: dict[date, float] = {}
        # Each closed group's trade, kept while the book hands back the same (immutable) group
        # object: every close would otherwise rebuild the whole history's trades.
        self._trades: dict[str, tuple[PositionGroup, pf.ClosedTrade]] = {}

    def on_close(
        self,
        day: date,
        net_liquidation: float,
        benchmark_price: float | None,
        closed: Sequence[PositionGroup],
        held: Sequence[OpenPosition] = (),
    ) -> dict[str, Any]:
        """The day's metrics document, saved under the day's key and ``latest``; ``held`` are the
        positions open at the close, marked (``monitoring.open_positions``), whose value the
        strategies' P&L includes."""
        if self._days and day <= self._days[-1]:
            raise ValueError(f"closes must move forward: {day} after {self._days[-1]}")
        self._days.append(day)
        self._values.append(net_liquidation)
        if benchmark_price is not None and benchmark_price > 0:
            self._bench[day] = benchmark_price
        trades = [self._trade(g) for g in closed if g.closed_at is not None]
        portfolio = pf.portfolio_metrics(
            self._days, self._values, self._start, self._bench or None, self.benchmark
        )
        stats = pf.strategy_stats(trades, self._expected, held)
        today = [t for t in trades if t.closed == day]
        doc = {
            "day": day.isoformat(),
            "net_liquidation": net_liquidation,
            "day_pnl": net_liquidation - (self._values[-2] if len(self._values) > 1 else self._start),
            "closed_today": len(today),
            "realized_today": sum(t.pnl for t in today),
            "portfolio": portfolio.as_dict(),
            "strategies": {k: v.as_dict() for k, v in stats.items()},
            "open_positions": [as_row(p) for p in held],
        }
        doc = _json_safe(doc)
        data = json.dumps(doc, sort_keys=True).encode("utf-8")
        self.store.save(day_key(day), data)
        self.store.save(LATEST_KEY, data)
        return doc

    def _trade(self, group: PositionGroup) -> pf.ClosedTrade:
        kept = self._trades.get(group.group_id)
        if kept is None or kept[0] is not group:  # new, or the group was replaced (changed)
            kept = self._trades[group.group_id] = (group, pf.ClosedTrade.of(group))
        return kept[1]


def _json_safe(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def daily_summary(doc: Mapping[str, Any]) -> tuple[str, str]:
    """(title, body) of the end-of-day summary alert from an exported metrics document."""
    p = doc["portfolio"]

    def pct(v: Any) -> str:
        return "n/a" if v is None else f"{v:+.2%}"

    lines = [
        f"NLV {doc['net_liquidation']:,.2f} ({doc['day_pnl']:+,.2f} today; total {pct(p['total_return'])})",
        f"closed today {doc['closed_today']} ({doc['realized_today']:+,.2f}); "
        f"max drawdown {pct(p['max_drawdown'])}; Sharpe {_num(p['sharpe'])}",
    ]
    for name, s in sorted(doc["strategies"].items()):
        if name == "portfolio" or not (s["trades"] or s["open_positions"]):
            continue
        expected = s["expected_win_rate"]
        flag = "  UNDERPERFORMING" if s["underperforming"] else ""
        win = "n/a" if s["win_rate"] is None else f"{s['win_rate']:.0%}"
        lines.append(
            f"{name}: {s['trades']} trades, win {win}"
            + (f" vs {expected:.0%} expected" if expected is not None else "")
            + f", P&L {s['total_pnl']:+,.2f} (realised {s['realized_pnl']:+,.2f}, "
            + f"open {s['open_pnl']:+,.2f} in {s['open_positions']}){flag}"
        )
    return f"Daily summary {doc['day']}", "\n".join(lines)


def _num(v: Any) -> str:
    return "n/a" if v is None else f"{v:.2f}"
