"""Every number that summary.txt and report.html both show, computed and formatted once here.

Both renderers print ``Figure.text`` as it is, under ``Figure.label``; neither computes or formats
a shared figure itself, so the two files cannot disagree (tests/analysis/test_report_agreement.py
reads both and compares them).

Definitions a reader may want spelled out (also printed in the report's notes):
- slippage: per trade, the dollars its fills paid against the net mid when the strategy proposed
  the entry and the exit (positive = cost; expiries and assignments have no exit order);
- entry concession: the execution ladder's own measure, how far entry fills landed from the mid
  at the moment each order was sent, as a share of the way to the natural price (0% = mid,
  100% = natural; negative = better than that mid);
- risk events: each decision of the risk layer once (see ``report_data``);
- buying-power cap: the rulebook's phase x VIX-regime share of NLV at each close (equity.csv).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

from analysis import tail
from analysis.report_data import ReportData, number
from analysis.run_files import OPEN_POSITIONS
from analysis.run_info import code_version_text, market_text, nothing_traded_text, parameter_changes
from core.types import PositionGroup
from monitoring import performance as pf

MAX_RISK_ACTIONS = 25


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    text: str
    sign: int = 0  # +1 / -1 where the sign is good / bad news (the page colours it), else 0


@dataclass(frozen=True)
class StrategyRow:
    name: str
    underperforming: bool
    cells: dict[str, Figure]  # by column key
    exits: str


@dataclass
class RunFigures:
    header: list[Figure]
    portfolio: list[Figure]
    tail: list[Figure]
    activity: list[Figure]
    execution: list[Figure]
    strategies: list[StrategyRow]
    risk_actions: list[tuple[str, str, str, str]]  # time, action, rule, message (not entry blocks)

    def shared(self) -> list[Figure]:
        """Every label/value figure both renderers print (the strategy table aside)."""
        return [*self.header, *self.portfolio, *self.tail, *self.activity, *self.execution]


STRATEGY_COLUMNS: list[tuple[str, str]] = [
    ("trades", "trades"), ("win_rate", "win rate"), ("expected", "expected"), ("realized", "realised"),
    ("open", "open"), ("pnl", "P&L"),
    ("average_win", "avg win"), ("average_loss", "avg loss"), ("largest_loss", "largest loss"),
    ("profit_factor", "profit factor"), ("fees", "fees"), ("slippage", "slippage"),
    ("gross", "gross P&L"), ("concession", "entry concession"),
]  # fmt: skip

# both files print the strategy figures as two tables: performance, then averages and costs (and exits)
PERFORMANCE_COLUMNS = ["trades", "win_rate", "expected", "realized", "open", "pnl", "largest_loss",
                       "profit_factor"]  # fmt: skip
COST_COLUMNS = ["average_win", "average_loss", "fees", "slippage", "gross", "concession"]
PNL_NOTE = (
    "P&L = realised (closed trades) + open (positions held at the end, marked at mid at the last "
    "close). Trades, win rate and averages count finished trades as the rulebook does: an LT112 unit "
    "or an IPMCC campaign (with its weeklies) is one trade, and one still held is not finished. "
    "Win rate: won / (won + lost); a scratch (P&L 0.00 after fees) is neither."
)

EXECUTION_LABELS = {
    "orders_sent": "orders sent", "fills": "fills", "partial_fills": "partial fills",
    "rejections_transient": "rejections (transient)", "rejections_permanent": "rejections (permanent)",
    "retries": "retries", "lost_orders": "lost orders", "duplicate_events": "duplicate events",
    "cancel_races": "cancel races", "repairs_started": "repairs started",
    "repairs_completed": "repairs completed", "repairs_unwound": "repairs unwound",
    "repairs_reduced": "repairs reduced", "repairs_expired": "repairs expired",
    "deadline_alerts": "deadline alerts", "unexplained_holdings": "unexplained holdings",
    "fill_problems": "fill problems",
}  # fmt: skip


# --- formatting: the one place a shared number becomes text ----------------------------------------
def _finite(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def money(v: Any) -> str:
    return f"{v:,.2f}" if _finite(v) else _special(v)


def pct(v: Any, signed: bool = False) -> str:
    return (f"{v:+.2%}" if signed else f"{v:.2%}") if _finite(v) else _special(v)


def ratio(v: Any, digits: int = 2) -> str:
    return f"{v:,.{digits}f}" if _finite(v) else _special(v)


def count(v: int) -> str:
    return f"{v:,d}"


def _special(v: Any) -> str:
    if isinstance(v, float) and math.isinf(v):
        return "∞" if v > 0 else "-∞"
    return "n/a"


def _sign(v: Any) -> int:
    return (1 if v > 0 else -1 if v < 0 else 0) if _finite(v) else 0


def _fig(key: str, label: str, text: str, sign: int = 0) -> Figure:
    return Figure(key, label, text, sign)


# --- the figures -----------------------------------------------------------------------------------
def figures(d: ReportData) -> RunFigures:
    return RunFigures(
        header=_header(d),
        portfolio=_portfolio(d),
        tail=_tail(d),
        activity=_activity(d),
        execution=_execution(d),
        strategies=_strategies(d),
        risk_actions=_risk_actions(d),
    )


def _header(d: ReportData) -> list[Figure]:
    period = f"{d.days[0]} .. {d.days[-1]} ({len(d.days)} sessions)" if d.days else "no sessions"
    changes = parameter_changes(d.settings)
    header = [
        _fig("market", "market source", market_text(d.run)),
        _fig("period", "period", period),
        _fig("parameters_from", "parameters read from", str(d.run.get("parameters_from") or "not recorded")),
        _fig(
            "parameters", "parameters differing from defaults",
            ", ".join(f"{k}={v}" for k, v in changes) if changes else "none (rulebook defaults)",
        ),
        _fig("code_version", "code version", code_version_text(d.run)),
    ]  # fmt: skip
    why = nothing_traded_text(d.run)
    return header + ([_fig("nothing_traded", "why nothing traded", why)] if why else [])


def _portfolio(d: ReportData) -> list[Figure]:
    m = d.portfolio
    p = d.stats["portfolio"]
    end = money(d.nlv[-1]) if d.nlv else "n/a"
    if m.max_drawdown_peak is None:
        dates = duration = "no drawdown"
    else:
        recovered = m.max_drawdown_recovered or "not yet"
        dates = f"peak {m.max_drawdown_peak} · trough {m.max_drawdown_trough} · recovered {recovered}"
        duration = f"{m.max_drawdown_sessions} sessions peak to recovery"
    return [
        _fig("nlv", "net liquidation", f"{money(d.start_value)} → {end}"),
        _fig("total_return", "total return", pct(m.total_return, True), _sign(m.total_return)),
        _fig("cagr", "annual return (CAGR)", pct(m.annual_return, True), _sign(m.annual_return)),
        _fig("volatility", "annual volatility", pct(m.annual_volatility)),
        _fig("sharpe", "Sharpe", ratio(m.sharpe)),
        _fig("sortino", "Sortino", ratio(m.sortino)),
        _fig("calmar", "Calmar", ratio(m.calmar)),
        _fig("max_drawdown", "max drawdown", pct(m.max_drawdown, True), _sign(m.max_drawdown)),
        _fig("max_drawdown_dates", "max drawdown dates", dates),
        _fig("max_drawdown_duration", "max drawdown duration", duration),
        _fig("underwater", "longest time under water", f"{m.longest_underwater_sessions} sessions"),
        _fig("alpha", f"alpha vs {m.benchmark} (annualised)", pct(m.alpha, True), _sign(m.alpha)),
        _fig("beta", f"beta vs {m.benchmark}", ratio(m.beta, 3)),
        *_buying_power(d),
        _fig("theta_nlv", "theta / NLV at the last close", _theta_share(d)),
        _fig("trades", "closed trades", _trades_text(p)),
        _fig("win_rate", "win rate", pct(p.win_rate)),
        _fig("open_positions", "open positions at the end", _open_text(d, p)),
        *_strategy_pnl(d, p),
        _fig("fees", "fees paid", money(p.fees)),
        _fig("slippage", "slippage vs mid at proposal", money(p.slippage)),
        _fig("cost_share", "fees + slippage, share of gross P&L", pct(p.cost_share_of_gross)),
    ]


def _trades_text(s: pf.StrategyStats) -> str:
    """Closed trades, with the scratches (P&L 0.00: neither won nor lost) when there are any."""
    return count(s.trades) + (f" ({s.scratches} scratch)" if s.scratches else "")


def _open_text(d: ReportData, s: pf.StrategyStats) -> str:
    if d.open_positions is None:
        return f"not recorded ({OPEN_POSITIONS} absent)"
    return count(s.open_positions) + (
        f" ({s.unmarked} unmarked: no quote at the last close)" if s.unmarked else ""
    )


def _strategy_pnl(d: ReportData, p: pf.StrategyStats) -> list[Figure]:
    """The strategies' P&L (realised + open) and the part of the NLV change it does not explain:
    in the sim, trading is the only cash flow (fees are inside each trade's P&L; no interest, no
    dividends), so the rest is value outside the marked groups (an unmarked position, holdings an
    assignment or a partial fill left outside a group, repairs unwound to flat)."""
    if d.open_positions is None:
        return [
            _fig(
                "strategy_pnl",
                "strategy P&L (realised + open)",
                f"{money(p.realized_pnl)} realised; open not recorded",
            )
        ]
    text = f"{money(p.realized_pnl)} realised + {money(p.open_pnl)} open = {money(p.total_pnl)}"
    change = (d.nlv[-1] if d.nlv else d.start_value) - d.start_value
    rest = round(change - p.total_pnl, 2) + 0.0  # + 0.0: no "-0.00"
    return [
        _fig("strategy_pnl", "strategy P&L (realised + open)", text, _sign(p.total_pnl)),
        _fig("unexplained", "NLV change not in strategy P&L", money(rest), _sign(rest)),
    ]


def _buying_power(d: ReportData) -> list[Figure]:
    if not d.days:
        return [_fig("bp", "buying power used / cap", "no sessions")]
    last_cap = d.bp_cap[-1]
    if last_cap is None:
        last = f"{money(d.bp_used[-1])} (cap not recorded in equity.csv)"
        peak = "n/a"
    else:
        last = f"{money(d.bp_used[-1])} of {money(last_cap)} ({pct(_share(d.bp_used[-1], last_cap))})"
        shares = [_share(u, c) for u, c in zip(d.bp_used, d.bp_cap, strict=True) if c is not None]
        worst = max(range(len(shares)), key=lambda i: shares[i])
        peak = f"{pct(shares[worst])} on {d.days[worst]}"
    return [
        _fig("bp_last", "buying power used / cap at the last close", last),
        _fig("bp_peak", "highest use of the buying-power cap", peak),
    ]


def _share(used: float, cap: float) -> float:
    return used / cap if cap > 0 else (math.inf if used > 0 else math.nan)


def _theta_share(d: ReportData) -> str:
    last = next((e for e in reversed(d.greeks) if e.get("eod")), None)
    if last is None:
        return "no positions sampled"
    nlv, theta = number(last.get("net_liquidation")), number(last.get("theta_day"))
    if nlv is None or theta is None or nlv <= 0:
        return "n/a"
    return f"{pct(theta / nlv)} ({money(theta)} $/day)"


def _tail(d: ReportData) -> list[Figure]:
    returns = tail.daily_returns(d.nlv, d.start_value)
    if returns is None:
        return [_fig("distribution", "daily return distribution", "undefined: net liquidation fell to zero")]
    dist = tail.distribution(returns)
    if dist is None:
        return [_fig("distribution", "daily return distribution", "fewer than 3 sessions")]
    return [
        _fig("var", "daily VaR 95% (historical)", pct(dist.var, True), _sign(dist.var)),
        _fig("cvar", "daily CVaR 95% (mean of the worst 5%)", pct(dist.cvar, True), _sign(dist.cvar)),
        _fig("skew", "skew of daily returns", ratio(dist.skew)),
        _fig("kurtosis", "excess kurtosis of daily returns", ratio(dist.excess_kurtosis)),
        _fig("worst_day", "worst day", pct(dist.worst_day, True), _sign(dist.worst_day)),
        _fig("best_day", "best day", pct(dist.best_day, True), _sign(dist.best_day)),
    ]


def _activity(d: ReportData) -> list[Figure]:
    actions = Counter(
        str(e.get("action") or ("block_entry" if e.get("kind") == "risk_block" else e.get("kind")))
        for e in d.risk_events
    )
    by_action = ", ".join(f"{a} {n}" for a, n in sorted(actions.items()))
    codes = Counter(str(b.get("code")) for b in d.blocks)
    blocked = count(len(d.blocks))
    if codes:
        blocked += " (" + ", ".join(f"{c} {n}" for c, n in _most_common(codes)) + ")"
    hedges = sum(1 for e in d.timeline if e.get("kind") == "hedge_suggestion")
    return [
        _fig("risk_events", "risk events recorded", count(len(d.risk_events))),
        _fig("risk_by_action", "risk events by action", by_action or "none"),
        _fig("blocked", "entries blocked", blocked),
        _fig("abandoned", "abandoned entries", count(d.counts.get("entry_abandoned", 0))),
        _fig("alerts", "alerts", count(d.counts.get("alert", 0))),
        _fig("hedges", "hedge suggestions", count(hedges)),
    ]


def _most_common(c: Counter[str]) -> list[tuple[str, int]]:
    return sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))


def _execution(d: ReportData) -> list[Figure]:
    doc = d.execution
    if doc is None:
        return [_fig("execution", "execution report", "not written (execution.json absent)")]
    counts = doc.get("counts", {})
    order = [*EXECUTION_LABELS, *sorted(k for k in counts if k not in EXECUTION_LABELS)]
    out = [
        _fig(f"exec_{k}", EXECUTION_LABELS.get(k) or k.replace("_", " "), count(int(counts[k])))
        for k in order
        if isinstance(counts.get(k), int) and counts[k] != 0
    ]
    repairs = doc.get("repairs", [])
    if repairs:
        how = Counter(str(r.get("how")) for r in repairs)
        cost = sum(float(r.get("cost_dollars", 0.0)) for r in repairs)
        out.append(
            _fig(
                "repairs", "repairs",
                ", ".join(f"{k} {n}" for k, n in sorted(how.items())) + f" (net cash {money(cost)})",
            )
        )  # fmt: skip
        flat = [float(r["realized_dollars"]) for r in repairs if r.get("realized_dollars") is not None]
        if flat:
            out.append(
                _fig(
                    "unwound", "unwound to flat",
                    f"{len(flat)} groups, realised {money(sum(flat))} (not in trades.csv)",
                )
            )  # fmt: skip
    out.append(_fig("residual", "residual unhedged legs", count(len(doc.get("residual_unhedged", [])))))
    if "faults" in doc:
        injected = doc["faults"].get("injected", {})
        out.append(
            _fig("faults", "faults injected", ", ".join(f"{k} {v}" for k, v in injected.items()) or "none")
        )
    return out


def _strategies(d: ReportData) -> list[StrategyRow]:
    quality = (d.execution or {}).get("fill_quality", {})
    labels = dict(STRATEGY_COLUMNS)
    exits: dict[str, Counter[str]] = {}
    for t in d.trades:
        exits.setdefault(t.strategy, Counter())[t.exit_reason or "?"] += 1
    rows = []
    for name, s in d.stats.items():
        q = quality.get(name) if name != "portfolio" else None
        cells = {
            "trades": _trades_text(s), "win_rate": pct(s.win_rate), "expected": pct(s.expected_win_rate),
            "realized": money(s.realized_pnl), "open": _open_cell(d, s),
            "pnl": money(s.total_pnl) if d.open_positions is not None else "n/a",
            "average_win": money(s.average_win), "average_loss": money(s.average_loss),
            "largest_loss": money(s.largest_loss) if s.losses else "no loss",
            "profit_factor": ratio(s.profit_factor), "fees": money(s.fees), "slippage": money(s.slippage),
            "gross": money(s.gross_pnl),
            "concession": pct(q["share_of_mid_to_natural"], True) if q and q.get("units") else "n/a",
        }  # fmt: skip
        signs = {"realized": _sign(s.realized_pnl), "open": _sign(s.open_pnl), "pnl": _sign(s.total_pnl),
                 "gross": _sign(s.gross_pnl)}  # fmt: skip
        row_exits = exits.get(name) if name != "portfolio" else sum(exits.values(), Counter())
        rows.append(
            StrategyRow(
                name,
                s.underperforming,
                {k: Figure(k, labels[k], v, signs.get(k, 0)) for k, v in cells.items()},
                ", ".join(f"{r} {n}" for r, n in sorted((row_exits or Counter()).items())),
            )
        )
    return rows


def _open_cell(d: ReportData, s: pf.StrategyStats) -> str:
    if d.open_positions is None:
        return "n/a"
    return money(s.open_pnl) + (f" ({s.unmarked} unmarked)" if s.unmarked else "")


def profit_captured(t: PositionGroup) -> float | None:
    """Realised P&L as a share of the trade's maximum profit, for trades opened for a credit (the
    credit is the most they can make); None for debit trades."""
    credit = -t.entry_price * t.quantity * t.multiplier
    return t.realized_pnl() / credit if credit > 0 else None


def days_in_trade(t: PositionGroup) -> int | None:
    """Calendar days from the opening fill to the close (0 for a same-day trade)."""
    if t.opened_at is None or t.closed_at is None:
        return None
    return (t.closed_at.date() - t.opened_at.date()).days


def _risk_actions(d: ReportData) -> list[tuple[str, str, str, str]]:
    """What the risk layer did other than block an entry: trips, resets, halts, forced exits..."""
    out = []
    for e in d.risk_events:
        action = str(e.get("action", ""))
        if e.get("kind") != "risk_event" or action == "block_entry":
            continue
        out.append(
            (f"{e['_time']:%Y-%m-%d %H:%M}", action, str(e.get("rule", "")), str(e.get("message", "")))
        )
    return out
