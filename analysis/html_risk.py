"""The risk sections of report.html: Greeks and unrealised P&L per strategy and per position at the
last close, hedge suggestions, every risk event, and the volatility context per underlying."""

from __future__ import annotations

from collections import Counter
from typing import Any

from analysis.html_format import esc, note, num, pct, table, text, time_cell, when
from analysis.report_data import ReportData, event_label
from monitoring.redact import Redactor

MAX_TIMELINE_ROWS = 200
MAX_HEDGE_ROWS = 30


def _last_close(d: ReportData) -> dict[str, Any] | None:
    return next((e for e in reversed(d.greeks) if e.get("eod") and e.get("positions")), None)


def by_strategy(d: ReportData) -> str:
    sample = _last_close(d)
    if sample is None:
        return note("No position was open at a close.")
    nlv = sample.get("net_liquidation") or 0.0
    rows = []
    for name, g in sorted((sample.get("by_strategy") or {}).items()):
        unrealized = g.get("unrealized_pnl")
        if unrealized is None:  # samples written before the sampler kept it per strategy
            unrealized = sum(
                p.get("unrealized_pnl") or 0.0 for p in sample["positions"] if p["strategy"] == name
            )
        theta = g.get("theta_day")
        rows.append(
            f"<tr>{text(name)}{num(g.get('positions'), '{:,d}')}{num(g.get('bw_delta_1pct'), '{:+,.0f}')}"
            f"{num(g.get('gamma_1pct'), '{:+,.0f}')}{num(theta, '{:+,.0f}')}"
            f"{pct(theta / nlv if nlv > 0 and theta is not None else None)}"
            f"{num(g.get('vega_1pt'), '{:+,.0f}')}{num(unrealized, signed_class=True)}"
            f"{num(g.get('unmarked'), '{:,d}')}</tr>"
        )
    head = ["strategy", "positions", "β-Δ $/1% SPX", "Γ $Δ/1%", "Θ $/day", "Θ / NLV", "vega $/pt",
            "unrealised P&L", "unmarked"]  # fmt: skip
    return (
        note(esc(when(sample["_time"])))
        + table(head, rows)
        + note(
            "Unrealised P&amp;L at mid after entry fees; unmarked: positions without a full quote, left "
            "out of the sum."
        )
    )


def positions(d: ReportData) -> str:
    sample = _last_close(d)
    if sample is None:
        return note("No position was open at a close.")
    rows = [
        f"<tr>{text(p['group_id'], 'l id')}{text(p['strategy'])}{num(p.get('bw_delta_1pct'), '{:+,.0f}')}"
        f"{num(p.get('gamma_1pct'), '{:+,.0f}')}{num(p.get('theta_day'), '{:+,.0f}')}"
        f"{num(p.get('vega_1pt'), '{:+,.0f}')}{num(p.get('mark'), '{:+.2f}')}"
        f"{num(p.get('unrealized_pnl'), signed_class=True)}{text(', '.join(p.get('missing_quotes') or []), 'l wrap')}</tr>"
        for p in sample["positions"]
    ]
    total = (
        f'<tr class="total"><th class="l">portfolio</th><td></td>{num(sample.get("bw_delta_1pct"), "{:+,.0f}")}'
        f"{num(sample.get('gamma_1pct'), '{:+,.0f}')}{num(sample.get('theta_day'), '{:+,.0f}')}"
        f"{num(sample.get('vega_1pt'), '{:+,.0f}')}<td></td><td></td><td></td></tr>"
    )
    head = ["group", "strategy", "β-Δ $/1% SPX", "Γ $Δ/1%", "Θ $/day", "vega $/pt", "mark", "unrealised P&L",
            "unquoted legs"]  # fmt: skip
    return note(esc(when(sample["_time"]))) + table(
        head, [*rows, total], left=2, scroll=True, text_columns=[8]
    )


def hedges(d: ReportData, redact: Redactor) -> str:
    rows = [e for e in d.timeline if e.get("kind") == "hedge_suggestion"]
    if not rows:
        return note("No Greek limit came near (80%) its value during the run.")
    latest = rows[-MAX_HEDGE_ROWS:][::-1]
    body = [
        f"<tr>{time_cell(e['_time'])}{text(e.get('name'))}{text(e.get('state'))}{num(e.get('usage'), '{:.0%}')}"
        f"{text(redact(str(e.get('suggestion', ''))), 'l wrap')}</tr>"
        for e in latest
    ]
    shown = (
        f"all {len(rows)} are shown"
        if len(rows) <= MAX_HEDGE_ROWS
        else f"the latest {MAX_HEDGE_ROWS} are shown"
    )
    return table(["time", "limit", "state", "usage", "suggestion"], body, left=3, text_columns=[4]) + note(
        f"{len(rows)} suggestion{'s' if len(rows) != 1 else ''} in total; {shown}, latest first."
    )


def risk_events(d: ReportData, redact: Redactor) -> str:
    events = [e for e in d.timeline if e.get("kind") != "hedge_suggestion"]
    if not events:
        return note("No risk events, alerts or abandoned entries were recorded.")
    counts = Counter(f"{event_label(e)}" for e in events)
    summary = table(
        ["event", "count"], [f"<tr>{text(k)}{num(n, '{:,d}')}</tr>" for k, n in counts.most_common()]
    )
    latest = events[-MAX_TIMELINE_ROWS:][::-1]
    rows = [
        f"<tr>{time_cell(e['_time'])}{text(event_label(e))}{text(e.get('strategy', ''))}"
        f"{text(e.get('group_id', ''), 'l id')}"
        f"{text(redact(str(e.get('message', e.get('title', '')))), 'l wrap')}</tr>"
        for e in latest
    ]
    shown = (
        f"all {len(events)} are listed" if len(events) <= MAX_TIMELINE_ROWS
        else f"the latest {MAX_TIMELINE_ROWS} of {len(events)} are listed; every one is in events.jsonl"
    )  # fmt: skip
    return (
        summary
        + table(["time", "event", "strategy", "group", "message"], rows, left=5, scroll=True)
        + note(
            f"Each risk decision once: a blocked entry is the gate's risk_event (the orchestrator's "
            f"risk_block record of the same decision is not counted again). Latest first; {esc(shown)}."
        )
    )


def volatility(d: ReportData) -> str:
    latest: dict[str, dict[str, Any]] = {}
    for e in d.vol:
        latest[e["underlying"]] = e
    if not latest:
        return note("No volatility samples.")
    rows = [
        f"<tr>{text(u)}{text(e.get('root'))}{text(e.get('expiry'))}{pct(e.get('atm_iv'))}"
        f"{pct(e.get('iv_rank'))}{pct(e.get('iv_percentile'))}{num(e.get('skew_25d'), '{:+.2f}')}"
        f"{pct(e.get('median_spread_pct'))}{num(e.get('quotes'), '{:,d}')}</tr>"
        for u, e in sorted(latest.items())
    ]
    head = ["underlying", "root", "expiry", "ATM IV", "IV rank", "IV percentile", "25Δ skew (pts)",
            "median spread / mid", "quotes in chain"]  # fmt: skip
    return table(head, rows, left=3) + note(
        "IV rank and percentile compare the ~30-day ATM IV with its own daily history in this run (up "
        "to a year; blank before 20 sessions). Skew: 25Δ put IV minus 25Δ call IV. Futures (/ES, /CL, "
        "/GC): the option chain of the listed future nearest 30 days, its history continued across "
        "contract rolls."
    )
