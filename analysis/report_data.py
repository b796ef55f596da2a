"""Everything the reports show, read once from a backtest's output folder (see ``run_files``), so a
report can be rebuilt from the files alone and summary.txt and report.html start from one reading.

Risk events are counted once.  The gate records each blocked entry as a ``risk_event`` (action
``block_entry``, with the rule's inputs) and the orchestrator echoes the same decision as a
``risk_block`` (its per-intent code); the reader keeps the ``risk_event`` and drops the echo with
the same time, group and code.  A ``risk_block`` without its ``risk_event`` (a system built
without a risk log) still counts, once.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from analysis import run_files as rf
from core.book import group_from_json
from core.settings import Settings
from core.types import PositionGroup
from monitoring import performance as pf
from monitoring.open_positions import OpenPosition
from monitoring.tax import SECTION_1256, TaxRow, TaxYear, classify, tax_rows, tax_years

TIMELINE_KINDS = ("alert", "hedge_suggestion", "entry_abandoned")
BENCHMARK = "SPY"
ReportDataError = rf.ReportDataError


@dataclass
class ReportData:
    settings: Settings
    run: dict[str, Any]  # run.json ({} when absent)
    days: list[date]
    nlv: list[float]
    bp_used: list[float]
    bp_cap: list[float | None]
    start_value: float
    trades: list[PositionGroup]
    open_positions: list[OpenPosition] | None  # held at the end (None: open_positions.csv absent)
    slippage: dict[str, float]  # by group id (entries by intent id, exits by group id)
    greeks: list[dict[str, Any]]  # portfolio_greeks events
    day_closes: dict[date, dict[str, Any]]
    vol: list[dict[str, Any]]
    stress: list[dict[str, Any]]  # samples carrying a stress_loss, when the risk layer records one
    risk_events: list[dict[str, Any]]  # each risk event once (see the module docstring)
    blocks: list[dict[str, Any]]  # every blocked entry (risk_block: one per blocked intent)
    timeline: list[dict[str, Any]]  # risk events, alerts, hedge suggestions, abandoned entries
    portfolio: pf.PortfolioMetrics
    stats: dict[str, pf.StrategyStats]
    daily_pnl: dict[str, dict[date, float]]
    correlation: tuple[list[str], Any]
    tax: list[TaxRow]
    tax_by_year: list[TaxYear]
    benchmark: dict[date, float]
    execution: dict[str, Any] | None = None
    counts: dict[str, int] = field(default_factory=dict)


def load(out_dir: Path, fallback_settings: Settings | None = None) -> ReportData:
    rf.require(out_dir, rf.EVENTS, rf.EQUITY)
    settings = rf.read_settings(out_dir, fallback_settings)
    eq = rf.read_equity(out_dir / rf.EQUITY)
    start_value = float(settings.starting_cash)
    closed: dict[str, PositionGroup] = {}
    opened: dict[str, PositionGroup] = {}
    approved_ref: dict[str, dict[str, Any]] = {}
    exit_ref: dict[str, float] = {}
    greeks: list[dict[str, Any]] = []
    closes: dict[date, dict[str, Any]] = {}
    vol: list[dict[str, Any]] = []
    stress: list[dict[str, Any]] = []
    risk: list[dict[str, Any]] = []
    blocks: list[dict[str, Any]] = []
    other: list[dict[str, Any]] = []
    counts: dict[str, int] = defaultdict(int)
    for e in rf.iter_events(out_dir / rf.EVENTS):
        kind = e.get("kind", "")
        counts[kind] += 1
        if kind == "trade_closed":
            g = group_from_json(e["group"])
            closed.pop(g.group_id, None)  # a resumed run may log a close again: the last one counts
            closed[g.group_id] = g
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
        elif kind == "risk_block":
            blocks.append(e)
        elif kind.startswith("risk_"):
            risk.append(e)
        elif kind in TIMELINE_KINDS:
            other.append(e)
        if _stress_value(e) is not None:
            stress.append(e)
    risk_events = _risk_events_once(risk, blocks)
    timeline = sorted([*risk_events, *other], key=lambda e: e["_time"])
    trades = sorted(closed.values(), key=lambda t: (t.closed_at or datetime.min, t.group_id))
    slippage = _slippage(approved_ref, opened, trades, exit_ref)
    last_day = eq.days[-1] if eq.days else date.min
    closed_trades = [pf.ClosedTrade.of(t, slippage.get(t.group_id, 0.0), last_day) for t in trades]
    benchmark = {
        d: float(c["prices"][BENCHMARK]) for d, c in closes.items() if BENCHMARK in c.get("prices", {})
    }
    portfolio = pf.portfolio_metrics(eq.days, eq.nlv, start_value, benchmark or None, BENCHMARK)
    daily = strategy_daily_pnl(trades, greeks, eq.days)
    rows = tax_rows(trades)
    held = rf.read_open_positions(out_dir / rf.OPEN_POSITIONS)
    return ReportData(
        settings=settings, run=rf.read_json(out_dir / rf.RUN) or {}, days=eq.days, nlv=eq.nlv,
        bp_used=eq.bp_used, bp_cap=eq.bp_cap, start_value=start_value, trades=trades, open_positions=held,
        slippage=slippage,
        greeks=greeks, day_closes=closes, vol=vol, stress=stress, risk_events=risk_events, blocks=blocks,
        timeline=timeline, portfolio=portfolio,
        stats=pf.strategy_stats(closed_trades, pf.expected_win_rates(settings), held or ()), daily_pnl=daily,
        correlation=pf.daily_pnl_correlation(daily, eq.days), tax=rows,
        tax_by_year=tax_years(rows, year_end_1256_marks(greeks, opened)), benchmark=benchmark,
        execution=rf.read_json(out_dir / rf.EXECUTION), counts=dict(counts),
    )  # fmt: skip


def _risk_events_once(risk: list[dict[str, Any]], blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``risk_event`` records plus the ``risk_block`` records that no ``risk_event`` describes."""
    gate = {
        (e["time"], e.get("group_id", ""), e.get("rule", ""))
        for e in risk
        if e.get("kind") == "risk_event" and e.get("action") == "block_entry"
    }
    echoless = [b for b in blocks if (b["time"], b.get("group_id", ""), b.get("code", "")) not in gate]
    return sorted([*risk, *echoless], key=lambda e: e["_time"])


def event_label(e: Mapping[str, Any]) -> str:
    """How the page names an event on the timeline and in the counts."""
    kind = e.get("kind", "")
    if kind == "risk_block":
        return f"blocked: {e.get('code')}"
    if kind == "risk_event":
        return f"{e.get('action')}: {e.get('rule')}"
    if kind == "alert":
        return f"alert ({e.get('severity', '?')})"
    if kind == "hedge_suggestion":
        return f"hedge: {e.get('name', '?')} {e.get('state', '')}"
    return kind


def number(value: Any) -> float | None:
    """A finite number read from an event, else None (events are JSON: anything may be there)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _stress_value(e: Mapping[str, Any]) -> float | None:
    """The portfolio stress loss an event carries (field ``stress_loss``, or ``loss`` of a
    ``stress_loss`` event), if any."""
    return number(e.get("stress_loss", e.get("loss") if e.get("kind") == "stress_loss" else None))


def stress_points(d: ReportData) -> list[tuple[datetime, float, float | None, float | None]]:
    """(time, stress loss in dollars, its share of NLV, the limit's share of NLV) per sample; the
    shares are None when the sample does not say the NLV (or the limit)."""
    out = []
    for e in d.stress:
        loss = _stress_value(e)
        nlv = number(e.get("net_liquidation"))
        limit = number(e.get("stress_limit", e.get("limit") if e.get("kind") == "stress_loss" else None))
        if loss is None:
            continue
        share = abs(loss) / nlv if nlv is not None and nlv > 0 else None
        limit_share = abs(limit) / nlv if nlv is not None and nlv > 0 and limit is not None else None
        out.append((e["_time"], abs(loss), share, limit_share))
    return out


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
