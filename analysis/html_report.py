"""``report.html``: one self-contained page (inline SVG charts, no scripts, no network) that a trader
reads after a backtest — performance against the rulebook's expectations, where the P&L came
from, the Greeks and risk events over time, every trade, and a tax view for the accountant.

Built from the output folder alone (``events.jsonl``, ``equity.csv``), so it can be rebuilt
without re-running: ``python -m analysis.html_report reports/``.  Event text is redacted before it is shown.
"""

from __future__ import annotations

import html
import math
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from analysis import report_charts
from analysis.report_data import ReportData, load
from monitoring.performance import expected_win_rates
from monitoring.redact import Redactor, secrets_from_environment

REPORT_NAME = "report.html"
MAX_TIMELINE_ROWS = 200

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;max-width:1100px;padding:16px;color:#222}
h1{font-size:22px;margin:8px 0}h3{font-size:14px;margin:14px 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
nav a{margin-right:12px;font-size:13px}
table{border-collapse:collapse;font-size:12px;margin:6px 0}
th,td{border:1px solid #e2e2e2;padding:3px 7px;text-align:right;white-space:nowrap}
th{background:#f5f5f5}td.l,th.l{text-align:left}
.neg{color:#b00020}.pos{color:#137333}.flag{background:#fff3cd}
figure.chart{margin:8px 0 18px;padding:0}figure.chart svg{width:100%;height:auto;display:block}
#chart-correlation svg{width:auto;max-width:100%}
figcaption{font-size:13px;font-weight:600;margin-bottom:4px}
.note{font-size:12px;color:#555}.scroll{max-height:480px;overflow:auto;border:1px solid #eee;max-width:100%}
"""


def write_html_report(out_dir: Path, settings: Any, title: str = "Backtest report") -> Path:
    """Write ``report.html`` into ``out_dir`` and return its path."""
    data = load(out_dir, float(settings.starting_cash), expected_win_rates(settings))
    redact = Redactor(secrets_from_environment(os.environ))
    path = out_dir / REPORT_NAME
    path.write_text(render(data, title, redact), encoding="utf-8")
    return path


def render(d: ReportData, title: str, redact: Redactor) -> str:
    charts_missing = report_charts.available()
    sections: list[tuple[str, str, str]] = [("summary", "Summary", _summary(d))]
    sections.append(("strategies", "Strategies", _strategy_table(d)))
    for cid, caption, draw in report_charts.CHARTS:
        body = f'<p class="note">{html.escape(charts_missing)}</p>' if charts_missing else draw(d)
        sections.append((cid, caption, f'<figure class="chart" id="chart-{cid}">{body}</figure>'))
        if cid == "greeks":
            sections.append(
                ("positions", "Position Greeks at the last close with open positions", _positions(d))
            )
            sections.append(("hedges", "Hedge suggestions", _hedges(d, redact)))
        if cid == "risk-timeline":
            sections.append(("risk-events", "Risk events (latest first)", _risk_table(d, redact)))
        if cid == "volatility":
            sections.append(("vol-latest", "Volatility and quotes at the last close", _vol_table(d)))
    sections.append(("tax", "Tax view", _tax(d)))
    sections.append(("trades", "Trades", _trades(d)))
    nav = " ".join(f'<a href="#{cid}">{html.escape(cap)}</a>' for cid, cap, _ in sections)
    body = "\n".join(
        f'<section id="{cid}"><h2>{html.escape(cap)}</h2>{content}</section>'
        for cid, cap, content in sections
    )
    period = f"{d.days[0]} .. {d.days[-1]}" if d.days else "no sessions"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        f'<h1>{html.escape(title)}</h1><p class="note">{html.escape(period)}</p><nav>{nav}</nav>{body}'
        "</body></html>\n"
    )


# --- formatting helpers -------------------------------------------------------------------------
def _num(v: Any, fmt: str = "{:,.2f}", signed_class: bool = False) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "<td>n/a</td>"
    if isinstance(v, float) and math.isinf(v):
        return "<td>∞</td>" if v > 0 else "<td>-∞</td>"
    cls = ""
    if signed_class and isinstance(v, int | float):
        cls = ' class="neg"' if v < 0 else ' class="pos"' if v > 0 else ""
    return f"<td{cls}>{html.escape(fmt.format(v))}</td>"


def _pct(v: Any, signed_class: bool = False) -> str:
    return _num(v, "{:+.2%}" if signed_class else "{:.2%}", signed_class)


def _text(v: Any) -> str:
    return f'<td class="l">{html.escape("" if v is None else str(v))}</td>'


def _table(headers: Sequence[str], rows: Iterable[str], left: int = 1, scroll: bool = False) -> str:
    head = "".join(
        f'<th class="{"l" if i < left else ""}">{html.escape(h)}</th>' for i, h in enumerate(headers)
    )
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    return f'<div class="scroll">{table}</div>' if scroll else table


# --- sections -----------------------------------------------------------------------------------
def _summary(d: ReportData) -> str:
    m = d.portfolio
    p = d.stats.get("portfolio")
    end = d.nlv[-1] if d.nlv else math.nan
    rows = [
        ("net liquidation", _text(f"{d.start_value:,.2f} → {end:,.2f}")),
        ("total return", _pct(m.total_return, True)),
        ("annual return (CAGR)", _pct(m.annual_return, True)),
        ("annual volatility", _pct(m.annual_volatility)),
        ("Sharpe", _num(m.sharpe)),
        ("Sortino", _num(m.sortino)),
        ("Calmar", _num(m.calmar)),
        ("max drawdown", _pct(m.max_drawdown, True)),
        (
            "max drawdown dates",
            _text(
                f"peak {m.max_drawdown_peak} · trough {m.max_drawdown_trough} · "
                f"recovered {m.max_drawdown_recovered or 'not yet'}"
            ),
        ),
        ("max drawdown duration", _text(f"{m.max_drawdown_sessions} sessions peak to recovery")),
        ("longest time under water", _text(f"{m.longest_underwater_sessions} sessions")),
        (f"alpha vs {m.benchmark} (annualised)", _pct(m.alpha, True)),
        (f"beta vs {m.benchmark}", _num(m.beta, "{:.3f}")),
    ]
    if p is not None:
        rows += [
            ("closed trades", _num(p.trades, "{:,d}")),
            ("win rate", _pct(p.win_rate)),
            ("fees paid", _num(p.fees)),
            ("slippage vs mid", _num(p.slippage)),
            ("fees + slippage, share of gross P&L", _pct(p.cost_share_of_gross)),
        ]
    risk = sum(n for k, n in d.counts.items() if k.startswith("risk_"))
    rows.append(("risk events recorded", _num(risk, "{:,d}")))
    body = "".join(f'<tr><th class="l">{html.escape(k)}</th>{v}</tr>' for k, v in rows)
    return f"<table>{body}</table>"


def _strategy_table(d: ReportData) -> str:
    headers = ["strategy", "trades", "win rate", "expected", "vs expected", "total P&L", "P&L share",
               "avg win", "avg loss", "largest loss", "profit factor", "fees", "slippage", "gross P&L"]  # fmt: skip
    rows = []
    for name, s in d.stats.items():
        flag = ' class="flag"' if s.underperforming else ""
        vs = s.win_rate / s.expected_win_rate if s.expected_win_rate and s.trades else math.nan
        rows.append(
            f"<tr{flag}>{_text(name + (' ⚠ underperforming' if s.underperforming else ''))}"
            f"{_num(s.trades, '{:,d}')}{_pct(s.win_rate)}{_pct(s.expected_win_rate)}{_num(vs, '{:.0%}')}"
            f"{_num(s.total_pnl, signed_class=True)}{_pct(s.pnl_share, True)}{_num(s.average_win)}"
            f"{_num(s.average_loss)}{_num(s.largest_loss)}{_num(s.profit_factor)}{_num(s.fees)}"
            f"{_num(s.slippage)}{_num(s.gross_pnl, signed_class=True)}</tr>"
        )
    note = (
        '<p class="note">Win rate is flagged when it is below 80% of the expected rate after at least 10 '
        "trades. P&amp;L share: the strategy's P&amp;L over the sum of every strategy's absolute P&amp;L. "
        "Gross P&amp;L: before fees and slippage against the mid when each order was proposed.</p>"
    )
    return _table(headers, rows, scroll=True) + note + _by_exit_reason(d)


def _by_exit_reason(d: ReportData) -> str:
    """Where each strategy's P&L came from: trades and P&L by how they ended."""
    cells: dict[tuple[str, str], list[float]] = {}
    for t in d.trades:
        cells.setdefault((t.strategy, t.exit_reason or "?"), []).append(t.realized_pnl())
    if not cells:
        return ""
    rows = [
        f"<tr>{_text(strategy)}{_text(reason)}{_num(len(pnls), '{:,d}')}{_num(sum(pnls), signed_class=True)}"
        f"{_num(sum(pnls) / len(pnls), signed_class=True)}</tr>"
        for (strategy, reason), pnls in sorted(cells.items())
    ]
    return "<h3>P&amp;L by exit reason</h3>" + _table(
        ["strategy", "exit reason", "trades", "P&L", "average"], rows, left=2
    )


def _positions(d: ReportData) -> str:
    sample = next((e for e in reversed(d.greeks) if e.get("eod") and e.get("positions")), None)
    if sample is None:
        return '<p class="note">No position was open at a close.</p>'
    rows = [
        f"<tr>{_text(p['group_id'])}{_text(p['strategy'])}{_num(p.get('bw_delta_1pct'), '{:+,.0f}')}"
        f"{_num(p.get('gamma_1pct'), '{:+,.0f}')}{_num(p.get('theta_day'), '{:+,.0f}')}"
        f"{_num(p.get('vega_1pt'), '{:+,.0f}')}{_num(p.get('mark'), '{:+.2f}')}"
        f"{_num(p.get('unrealized_pnl'), signed_class=True)}{_text(', '.join(p.get('missing_quotes') or []))}</tr>"
        for p in sample["positions"]
    ]
    total = (
        f'<tr><th class="l">portfolio</th><th></th>{_num(sample.get("bw_delta_1pct"), "{:+,.0f}")}'
        f"{_num(sample.get('gamma_1pct'), '{:+,.0f}')}{_num(sample.get('theta_day'), '{:+,.0f}')}"
        f"{_num(sample.get('vega_1pt'), '{:+,.0f}')}<td></td><td></td><td></td></tr>"
    )
    head = ["group", "strategy", "β-Δ $/1% SPX", "Γ $Δ/1%", "Θ $/day", "vega $/pt", "mark", "unrealised P&L",
            "unquoted legs"]  # fmt: skip
    return f'<p class="note">{html.escape(sample["time"])}</p>' + _table(
        head, [*rows, total], left=2, scroll=True
    )


def _hedges(d: ReportData, redact: Redactor) -> str:
    rows = [e for e in d.timeline if e.get("kind") == "hedge_suggestion"]
    if not rows:
        return '<p class="note">No Greek limit came near (80%) its value during the run.</p>'
    latest = rows[-30:][::-1]
    body = [
        f"<tr>{_text(e['time'])}{_text(e.get('name'))}{_text(e.get('state'))}{_num(e.get('usage'), '{:.0%}')}"
        f"{_text(redact(str(e.get('suggestion', ''))))}</tr>"
        for e in latest
    ]
    return _table(["time", "limit", "state", "usage", "suggestion"], body, left=3) + (
        f'<p class="note">{len(rows)} suggestions in total; the latest 30 are shown.</p>'
    )


def _risk_table(d: ReportData, redact: Redactor) -> str:
    events = [e for e in d.timeline if e.get("kind") != "hedge_suggestion"]
    if not events:
        return '<p class="note">No risk events, alerts or abandoned entries were recorded.</p>'
    counts = Counter(f"{e['kind']}:{_code(e)}" for e in events)
    summary = _table(
        ["event", "count"], (f"<tr>{_text(k)}{_num(n, '{:,d}')}</tr>" for k, n in counts.most_common())
    )
    latest = events[-MAX_TIMELINE_ROWS:][::-1]
    rows = [
        f"<tr>{_text(e['time'])}{_text(e['kind'])}{_text(e.get('strategy', ''))}{_text(e.get('group_id', ''))}"
        f"{_text(_code(e))}"
        f"{_text(redact(str(e.get('message', e.get('title', '')))))}</tr>"
        for e in latest
    ]
    return summary + _table(
        ["time", "kind", "strategy", "group", "code", "message"], rows, left=6, scroll=True
    )


def _vol_table(d: ReportData) -> str:
    latest: dict[str, dict[str, Any]] = {}
    for e in d.vol:
        latest[e["underlying"]] = e
    if not latest:
        return '<p class="note">No volatility samples.</p>'
    rows = [
        f"<tr>{_text(u)}{_text(e.get('root'))}{_text(e.get('expiry'))}{_pct(e.get('atm_iv'))}"
        f"{_pct(e.get('iv_rank'))}{_pct(e.get('iv_percentile'))}{_num(e.get('skew_25d'), '{:+.2f}')}"
        f"{_pct(e.get('median_spread_pct'))}{_num(e.get('quotes'), '{:,d}')}</tr>"
        for u, e in sorted(latest.items())
    ]
    head = ["underlying", "root", "expiry", "ATM IV", "IV rank", "IV percentile", "25Δ skew (pts)",
            "median spread / mid", "quotes in chain"]  # fmt: skip
    note = (
        '<p class="note">IV rank and percentile compare the 30-day ATM IV with its own daily history '
        "in this run (up to a year; blank before 20 sessions). Skew: 25Δ put IV minus 25Δ call IV.</p>"
    )
    return _table(head, rows, left=3) + note


def _code(e: dict[str, Any]) -> str:
    """The reason of a risk event whatever its shape: code, rule (and action), or alert severity."""
    if e.get("code"):
        return str(e["code"])
    if e.get("rule"):
        return f"{e['rule']} → {e['action']}" if e.get("action") else str(e["rule"])
    return str(e.get("severity", ""))


def _tax(d: ReportData) -> str:
    if not d.tax:
        return '<p class="note">No closed trades.</p>'
    years = [
        f"<tr>{_text(y.year)}{_num(y.section_1256_realized, signed_class=True)}"
        f"{_num(y.section_1256_mark_to_market, signed_class=True)}{_num(y.section_1256_long_term)}"
        f"{_num(y.section_1256_short_term)}{_num(y.equity_short_term, signed_class=True)}"
        f"{_num(y.equity_long_term, signed_class=True)}{_num(y.review)}{_num(y.wash_sale_flags, '{:,d}')}</tr>"
        for y in d.tax_by_year
    ]
    head = ["year", "§1256 realised", "§1256 year-end mark", "§1256 60% long", "§1256 40% short",
            "equity options short-term", "equity options long-term", "to review", "wash-sale flags"]  # fmt: skip
    flagged = [r for r in d.tax if r.wash_sale_with or r.treatment in ("mixed", "unclassified")]
    detail = [
        f'<tr class="flag">{_text(r.group_id)}{_text(r.strategy)}{_text(r.closed)}{_num(r.pnl, signed_class=True)}'
        f"{_text(r.treatment)}{_text(', '.join(r.wash_sale_with) or 'review classification')}</tr>"
        for r in flagged
    ]
    note = (
        '<p class="note">Section 1256: futures, futures options and broad-based index options (SPX, SPXW, '
        "XSP, NDX, RUT, VIX…), 60% long-term / 40% short-term whatever the holding period, marked to "
        "market at year end. Equity and ETF options (SPY, QQQ, IWM…) are taxed by holding period. A "
        "wash-sale flag marks an equity-option loss with a same-underlying, same-direction option group "
        "opened within 30 days either side. A reporting aid, not tax advice.</p>"
    )
    out = _table(head, years) + note
    if detail:
        out += _table(["group", "strategy", "closed", "P&L", "treatment", "flag"], detail, left=3)
    return out


def _trades(d: ReportData) -> str:
    if not d.trades:
        return '<p class="note">No closed trades.</p>'
    rows = []
    for t in sorted(d.trades, key=lambda t: t.closed_at or datetime.min):
        legs = " ".join(
            f"{leg.ratio * t.quantity:+d} {leg.contract.symbol.replace(' ', '')}" for leg in t.legs
        )
        rows.append(
            f"<tr>{_text(t.group_id)}{_text(t.strategy)}{_text(_short(t.opened_at))}{_text(_short(t.closed_at))}"
            f"{_text(legs)}{_num(t.quantity, '{:,d}')}{_num(t.entry_price, '{:+.2f}')}{_num(t.exit_price, '{:+.2f}')}"
            f"{_num(t.entry_fees + t.exit_fees)}{_num(d.slippage.get(t.group_id))}"
            f"{_num(t.realized_pnl(), signed_class=True)}{_text(t.exit_reason)}</tr>"
        )
    head = [
        "group",
        "strategy",
        "opened",
        "closed",
        "legs",
        "qty",
        "entry",
        "exit",
        "fees",
        "slippage",
        "P&L",
        "exit reason",
    ]
    return _table(head, rows, left=5, scroll=True) + (
        '<p class="note">Prices are net per unit (debit +, credit −); P&amp;L after fees.</p>'
    )


def _short(value: date | datetime | None) -> str:
    return (
        ""
        if value is None
        else value.strftime("%Y-%m-%d %H:%M")
        if isinstance(value, datetime)
        else str(value)
    )


def main(argv: list[str] | None = None) -> int:
    """Rebuild ``report.html`` of an existing output folder."""
    import argparse
    import sys

    from analysis.report_data import ReportDataError
    from core.settings import Settings, SettingsError

    parser = argparse.ArgumentParser(prog="python -m analysis.html_report", description=main.__doc__)
    parser.add_argument("out", nargs="?", default="reports", help="a backtest's output folder")
    parser.add_argument("--config", default="config.json", help="config.json the backtest used")
    args = parser.parse_args(argv)
    try:
        config = Path(args.config)
        settings = Settings.from_config_file(config) if config.exists() else Settings()
        path = write_html_report(Path(args.out), settings)
    except (SettingsError, ReportDataError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"HTML report: {path.resolve()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
