"""Everything the HTML report shows, derived from a backtest's output folder (``events.jsonl`` and
``equity.csv``) so a report can be rebuilt from the files alone.

Risk events are read generically: every event whose kind starts with ``risk_`` (plus alerts,
hedge suggestions and abandoned entries) goes on the timeline, whatever the risk layer records.
"""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from core.book import group_from_json
from core.types import PositionGroup
from monitoring import performance as pf
from monitoring.tax import SECTION_1256, TaxRow, TaxYear, classify, tax_rows, tax_years

TIMELINE_KINDS = ("alert", "hedge_suggestion", "entry_abandoned")
BENCHMARK = "SPY"


class ReportDataError(ValueError):
    """A report input is missing or malformed; the message names the file and line."""


@dataclass
class ReportData:
    days: list[date]
    nlv: list[float]
    bp_used: list[float]
    start_value: float
    trades: list[PositionGroup]
    slippage: dict[str, float]  # by group id (entries by intent id, exits by group id)
    greeks: list[dict[str, Any]]  # portfolio_greeks events
    day_closes: dict[date, dict[str, Any]]
    vol: list[dict[str, Any]]
    timeline: list[dict[str, Any]]  # risk_*, alerts, hedge suggestions, abandoned entries
    portfolio: pf.PortfolioMetrics
    stats: dict[str, pf.StrategyStats]
    daily_pnl: dict[str, dict[date, float]]
    correlation: tuple[list[str], Any]
    tax: list[TaxRow]
    tax_by_year: list[TaxYear]
    counts: dict[str, int] = field(default_factory=dict)


def iter_events(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                event = json.loads(line)
                event["_time"] = datetime.fromisoformat(event["time"])
            except (ValueError, KeyError, TypeError) as exc:
                raise ReportDataError(f"{path}:{n}: not an event line ({exc})") from None
            yield event


def read_equity(path: Path) -> tuple[list[date], list[float], list[float]]:
    days, nlv, bp = [], [], []
    with path.open(encoding="utf-8", newline="") as fh:
        for n, row in enumerate(csv.DictReader(fh), 2):
            try:
                days.append(date.fromisoformat(row["day"]))
                nlv.append(float(row["net_liquidation"]))
                bp.append(float(row["buying_power_used"]))
            except (KeyError, ValueError, TypeError) as exc:
                raise ReportDataError(f"{path}:{n}: bad equity row ({exc})") from None
    return days, nlv, bp


def load(out_dir: Path, start_value: float, expected_win_rates: Mapping[str, float]) -> ReportData:
    events_path, equity_path = out_dir / "events.jsonl", out_dir / "equity.csv"
    for p in (events_path, equity_path):
        if not p.exists():
            raise ReportDataError(f"{p} is missing: run a backtest into {out_dir} first")
    days, nlv, bp = read_equity(equity_path)
    trades: list[PositionGroup] = []
    opened: dict[str, PositionGroup] = {}
    approved_ref: dict[str, dict[str, Any]] = {}
    exit_ref: dict[str, float] = {}
    greeks: list[dict[str, Any]] = []
    closes: dict[date, dict[str, Any]] = {}
    vol: list[dict[str, Any]] = []
    timeline: list[dict[str, Any]] = []
    counts: dict[str, int] = defaultdict(int)
    for e in iter_events(events_path):
        kind = e.get("kind", "")
        counts[kind] += 1
        if kind == "trade_closed":
            trades.append(group_from_json(e["group"]))
        elif kind == "group_opened":
            g = group_from_json(e["group"])
            opened[g.group_id] = g
        elif kind == "entry_approved":
            approved_ref[e["group_id"]] = e
        elif kind == "exit_signal" and "reference_price" in e:
            exit_ref[e["group_id"]] = float(e["reference_price"])
        elif kind == "portfolio_greeks":
            greeks.append(e)
        elif kind == "day_close":
            closes[date.fromisoformat(e["day"])] = e
        elif kind == "vol_context":
            vol.append(e)
        if kind.startswith("risk_") or kind in TIMELINE_KINDS:
            timeline.append(e)
    slippage = _slippage(approved_ref, opened, trades, exit_ref)
    closed_trades = [
        pf.ClosedTrade(
            t.group_id,
            t.strategy,
            t.closed_at.date() if t.closed_at else days[-1],
            t.realized_pnl(),
            t.entry_fees + t.exit_fees,
            slippage.get(t.group_id, 0.0),
        )
        for t in trades
    ]
    benchmark = {
        d: float(c["prices"][BENCHMARK]) for d, c in closes.items() if BENCHMARK in c.get("prices", {})
    }
    portfolio = pf.portfolio_metrics(days, nlv, start_value, benchmark or None, BENCHMARK)
    stats = pf.strategy_stats(closed_trades, expected_win_rates)
    daily = strategy_daily_pnl(trades, greeks, days)
    rows = tax_rows(trades)
    marks = year_end_1256_marks(greeks, opened)
    return ReportData(
        days=days, nlv=nlv, bp_used=bp, start_value=start_value, trades=trades, slippage=slippage,
        greeks=greeks, day_closes=closes, vol=vol, timeline=timeline, portfolio=portfolio, stats=stats,
        daily_pnl=daily, correlation=pf.daily_pnl_correlation(daily, days), tax=rows,
        tax_by_year=tax_years(rows, marks), counts=dict(counts),
    )  # fmt: skip


def _slippage(
    approved: Mapping[str, Mapping[str, Any]],
    opened: Mapping[str, PositionGroup],
    trades: list[PositionGroup],
    exit_ref: Mapping[str, float],
) -> dict[str, float]:
    """Dollars paid against the mid at proposal time (positive = cost), per group id.

    Entries: the fill(s) of an intent, including the part groups a campaign splits into, against
    the intent's reference mid.  Exits: the closing fill against the exit signal's mid.  Exits by
    expiry or assignment have no order and no slippage."""
    out: dict[str, float] = defaultdict(float)
    parts: dict[str, list[PositionGroup]] = defaultdict(list)
    for g in opened.values():
        if g.part and g.group_id.endswith(f"-{g.part}"):  # split_into_parts names them <intent>-<part>
            parts[g.group_id[: -len(g.part) - 1]].append(g)
    for intent_id, e in approved.items():
        groups = [opened[intent_id]] if intent_id in opened else parts.get(intent_id, [])
        if not groups:
            continue  # never filled: abandoned, no slippage to speak of
        ref = float(e["reference_price"])
        qty = groups[0].quantity
        mult = groups[0].multiplier
        paid = sum(g.entry_price for g in groups)  # parts share the intent's units: their prices add up
        out[groups[0].group_id] += (paid - ref) * qty * mult
    for t in trades:
        if t.group_id in exit_ref and t.exit_reason not in ("expired", "assigned"):
            out[t.group_id] += (t.exit_price - exit_ref[t.group_id]) * t.quantity * t.multiplier
    return dict(out)


def strategy_daily_pnl(
    trades: list[PositionGroup], greeks: list[dict[str, Any]], days: list[date]
) -> dict[str, dict[date, float]]:
    """Each strategy's P&L per session: realised on the closing day plus the change in the
    unrealised P&L of its open positions between closes (so the sum equals realised P&L)."""
    realized: dict[str, dict[date, float]] = defaultdict(lambda: defaultdict(float))
    for t in trades:
        if t.closed_at is not None:
            realized[t.strategy][t.closed_at.date()] += t.realized_pnl()
    unrealized: dict[date, dict[str, float]] = {}
    for e in greeks:
        if not e.get("eod"):
            continue
        by: dict[str, float] = defaultdict(float)
        for p in e.get("positions", []):
            u = p.get("unrealized_pnl")
            if u is not None and math.isfinite(u):
                by[p["strategy"]] += float(u)
        unrealized[e["_time"].date()] = by
    names = set(realized) | {s for by in unrealized.values() for s in by}
    out: dict[str, dict[date, float]] = {}
    for name in sorted(names):
        prev = 0.0
        series: dict[date, float] = {}
        for d in days:
            u = unrealized.get(d, {}).get(name, 0.0)
            series[d] = realized[name].get(d, 0.0) + u - prev
            prev = u
        out[name] = series
    return out


def year_end_1256_marks(
    greeks: list[dict[str, Any]], opened: Mapping[str, PositionGroup]
) -> dict[int, float]:
    """Unrealised P&L of Section 1256 positions open at each year's last recorded close."""
    last_by_year: dict[int, dict[str, Any]] = {}
    for e in greeks:
        if e.get("eod"):
            last_by_year[e["_time"].year] = e
    out = {}
    for year, e in last_by_year.items():
        t = e["_time"]
        if not (year + 1 in last_by_year or (t.month == 12 and t.day >= 29)):
            continue  # the run ended before the year did: nothing is marked yet
        out[year] = sum(
            float(p["unrealized_pnl"] or 0.0)
            for p in e.get("positions", [])
            if p["group_id"] in opened and classify(opened[p["group_id"]]) == SECTION_1256
        )
    return out
