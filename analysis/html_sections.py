"""The portfolio sections of report.html: what was run, the summary figures, strategies, execution,
the tail view, every trade and the tax view.  Shared numbers come from ``analysis.figures``."""

from __future__ import annotations

from analysis import tail
from analysis.figures import (
    COST_COLUMNS,
    PERFORMANCE_COLUMNS,
    PNL_NOTE,
    STRATEGY_COLUMNS,
    RunFigures,
    days_in_trade,
    profit_captured,
)
from analysis.html_format import esc, fig_cell, fig_rows, note, num, pct, table, text, time_cell
from analysis.report_data import ReportData

SLIPPAGE_NOTE = (
    "Slippage: per trade, what the fills paid against the net mid when the strategy proposed the "
    "entry and the exit (positive = cost; expiries and assignments have no exit order). Entry "
    "concession: the execution ladder's own measure, where entry fills landed between the mid at "
    "the moment each order was sent (0%) and the natural price (100%); negative = better than that "
    "mid, as when the market moved toward a resting order."
)


def header(f: RunFigures) -> str:
    return f'<table class="facts">{fig_rows(f.header)}</table>'


def summary(f: RunFigures) -> str:
    blocks = [("Portfolio", f.portfolio), ("Daily returns (tail)", f.tail), ("Risk and alerts", f.activity)]
    return "".join(
        f'<div class="card"><h3>{esc(title)}</h3><table class="facts">{fig_rows(items)}</table></div>'
        for title, items in blocks
    ).join(('<div class="cards">', "</div>"))


def strategies(f: RunFigures, d: ReportData) -> str:
    """Two tables, as in summary.txt: performance, then averages, costs and exits (one would not fit
    1024 px)."""
    labels = dict(STRATEGY_COLUMNS)
    out = ""
    for table_id, columns, exits in (
        ("strategy-table", PERFORMANCE_COLUMNS, False),
        ("strategy-costs", COST_COLUMNS, True),
    ):
        headers = ["strategy", *(labels[k] for k in columns), *(["exits"] if exits else [])]
        rows = []
        for r in f.strategies:
            flag = ' class="flag"' if r.underperforming else ""
            name = r.name + (" ⚠ underperforming" if r.underperforming else "")
            cells = "".join(fig_cell(r.cells[k]) for k in columns)
            rest = text(r.exits, "l small") if exits else ""
            rows.append(f"<tr{flag}>{text(name)}{cells}{rest}</tr>")
        out += table(headers, rows, table_id=table_id, text_columns=[len(headers) - 1] if exits else ())
    out += note(
        f"{esc(PNL_NOTE)} Win rate is flagged when it is below 80% of the expected rate after at least 10 trades. "
        "Largest loss: the worst losing trade (“no loss” when none lost). Gross P&amp;L: before fees "
        f"and slippage. {esc(SLIPPAGE_NOTE)}"
    )
    return out + _by_exit_reason(d)


def _by_exit_reason(d: ReportData) -> str:
    cells: dict[tuple[str, str], list[float]] = {}
    for t in d.trades:
        cells.setdefault((t.strategy, t.exit_reason or "?"), []).append(t.realized_pnl())
    if not cells:
        return ""
    rows = [
        f"<tr>{text(strategy)}{text(reason)}{num(len(pnls), '{:,d}')}{num(sum(pnls), signed_class=True)}"
        f"{num(sum(pnls) / len(pnls), signed_class=True)}</tr>"
        for (strategy, reason), pnls in sorted(cells.items())
    ]
    return "<h3>P&amp;L by exit reason</h3>" + table(
        ["strategy", "exit reason", "trades", "P&L", "average"], rows, left=2
    )


def execution(f: RunFigures) -> str:
    return f'<table class="facts">{fig_rows(f.execution)}</table>' + note(
        "Counters that stayed at zero are left out; residual unhedged legs are always shown."
    )


def drawdowns(d: ReportData) -> str:
    worst = tail.worst_drawdowns(d.days, d.nlv, d.start_value)
    if not worst:
        return note("No drawdown: net liquidation never fell below a previous high.")
    rows = [
        f"<tr>{num(i, '{:d}')}{pct(w.depth, True)}{text(w.peak)}{text(w.trough)}"
        f"{text(w.recovered or 'not yet')}{num(w.sessions, '{:,d}')}</tr>"
        for i, w in enumerate(worst, 1)
    ]
    head = ["#", "depth", "peak", "trough", "recovered", "sessions"]
    return table(head, rows, left=1) + note(
        "Distinct episodes from a high to the session that regains it, deepest first (up to 10)."
    )


def trades(d: ReportData) -> str:
    if not d.trades:
        return note("No closed trades.")
    rows = []
    for t in d.trades:
        legs = "\n".join(
            f"{leg.ratio * t.quantity:+d} {leg.contract.symbol.replace(' ', '')}" for leg in t.legs
        )
        rows.append(
            f"<tr>{text(t.group_id, 'l id')}{text(t.strategy)}{time_cell(t.opened_at)}{time_cell(t.closed_at)}"
            f"{num(days_in_trade(t), '{:,d}')}{num(t.realized_pnl(), signed_class=True)}"
            f"{pct(profit_captured(t), True)}{text(t.exit_reason)}{num(t.quantity, '{:,d}')}"
            f"{num(t.entry_price, '{:+.2f}')}{num(t.exit_price, '{:+.2f}')}{num(t.entry_fees + t.exit_fees)}"
            f"{num(d.slippage.get(t.group_id))}{text(legs, 'l legs')}</tr>"
        )
    head = ["group", "strategy", "opened", "closed", "days", "P&L", "% of max profit", "exit reason", "qty",
            "entry", "exit", "fees", "slippage", "legs"]  # fmt: skip
    return table(head, rows, left=4, scroll=True, table_id="trades-table", text_columns=[7, 13]) + note(
        "Prices are net per unit (debit +, credit −); P&amp;L after fees. Days: calendar days held. "
        "% of max profit: P&amp;L over the credit received (a credit trade's maximum profit); n/a for "
        "trades opened for a debit, whose maximum profit is not the premium."
    )


def tax(d: ReportData) -> str:
    if not d.tax:
        return note("No closed trades.")
    years = [
        f"<tr>{text(y.year)}{num(y.section_1256_realized, signed_class=True)}"
        f"{num(y.section_1256_mark_to_market, signed_class=True)}{num(y.section_1256_long_term)}"
        f"{num(y.section_1256_short_term)}{num(y.equity_short_term, signed_class=True)}"
        f"{num(y.equity_long_term, signed_class=True)}{num(y.review)}{num(y.wash_sale_flags, '{:,d}')}</tr>"
        for y in d.tax_by_year
    ]
    head = ["year", "§1256 realised", "§1256 year-end mark", "§1256 60% long", "§1256 40% short",
            "equity options short-term", "equity options long-term", "to review", "wash-sale flags"]  # fmt: skip
    flagged = [r for r in d.tax if r.wash_sale_with or r.treatment in ("mixed", "unclassified")]
    detail = [
        f'<tr class="flag">{text(r.group_id, "l id")}{text(r.strategy)}{text(r.closed)}{num(r.pnl, signed_class=True)}'
        f"{text(r.treatment)}{text(', '.join(r.wash_sale_with) or 'review classification', 'l wrap')}</tr>"
        for r in flagged
    ]
    out = table(head, years) + note(
        "Section 1256: futures, futures options and broad-based index options (SPX, SPXW, XSP, NDX, "
        "RUT, VIX…), 60% long-term / 40% short-term whatever the holding period, marked to market at "
        "year end. Equity and ETF options (SPY, QQQ, IWM…) are taxed by holding period. A wash-sale "
        "flag marks an equity-option loss with a same-underlying, same-direction option group opened "
        "within 30 days either side. A reporting aid, not tax advice."
    )
    if detail:
        head = ["group", "strategy", "closed", "P&L", "treatment", "flag"]
        out += table(head, detail, left=3, scroll=True, text_columns=[4, 5])
    return out
