"""``summary.txt``: the backtest in one screen of plain text, rendered from the output folder with the
same figures as report.html (``analysis.figures``).  Long values and messages wrap at word
boundaries (never cut), and the Execution block lists only counters that are not zero."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path

from analysis.figures import (
    COST_COLUMNS,
    MAX_RISK_ACTIONS,
    PERFORMANCE_COLUMNS,
    PNL_NOTE,
    STRATEGY_COLUMNS,
    Figure,
    RunFigures,
    StrategyRow,
    figures,
)
from analysis.report_data import ReportData, load
from core.settings import Settings

SUMMARY_NAME = "summary.txt"
WIDTH = 110


def write_summary(
    out_dir: Path, fallback_settings: Settings | None = None, data: ReportData | None = None
) -> Path:
    """``data``: the folder already read (``report_data.load``), so report.html can share it."""
    path = out_dir / SUMMARY_NAME
    data = data if data is not None else load(out_dir, fallback_settings)
    path.write_text(render(figures(data)) + "\n", encoding="utf-8")
    return path


def render(f: RunFigures) -> str:
    lines = ["Backtest summary", "================", *_block(f.header)]
    lines += _section("Portfolio", _block(f.portfolio))
    lines += _section("Strategies", _table(f.strategies, PERFORMANCE_COLUMNS, exits=False))
    lines += _section("Averages and costs by strategy", _table(f.strategies, COST_COLUMNS, exits=True))
    lines += _section("Daily returns (tail)", _block(f.tail))
    lines += _section("Risk and alerts", _block(f.activity) + _risk_actions(f))
    lines += _section("Execution", _block(f.execution))
    return "\n".join(lines)


def _section(title: str, body: list[str]) -> list[str]:
    return ["", title, "-" * len(title), *body]


def _block(items: Sequence[Figure]) -> list[str]:
    """``label  value`` lines, values aligned; a long value wraps under itself."""
    if not items:
        return []
    width = max(len(f.label) for f in items) + 2
    lines = []
    for f in items:
        wrapped = textwrap.wrap(f.text, WIDTH - width, break_long_words=False, break_on_hyphens=False) or [""]
        lines.append(f"{f.label:<{width}}{wrapped[0]}".rstrip())
        lines += [" " * width + rest for rest in wrapped[1:]]
    return lines


def _table(rows: Sequence[StrategyRow], columns: list[str], exits: bool) -> list[str]:
    if len(rows) <= 1:  # the portfolio row alone
        return ["no closed trades and no open positions"]
    labels = dict(STRATEGY_COLUMNS)
    header = ["strategy", *(labels[c] for c in columns)]
    body = [[r.name + (" ⚠" if r.underperforming else ""), *(r.cells[c].text for c in columns)] for r in rows]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    out = []
    for n, row in enumerate([header, *body]):
        cells = [row[0].ljust(widths[0])] + [
            cell.rjust(w) for cell, w in zip(row[1:], widths[1:], strict=True)
        ]
        out.append("  ".join(cells).rstrip())
        if exits and n > 0 and rows[n - 1].exits:
            out += textwrap.wrap(
                "exits: " + rows[n - 1].exits, WIDTH, initial_indent="  ", subsequent_indent="    ",
                break_long_words=False, break_on_hyphens=False,
            )  # fmt: skip
    if any(r.underperforming for r in rows):
        out.append("⚠ win rate below 80% of the expected rate after at least 10 trades")
    if not exits:
        out += ["", *textwrap.wrap(PNL_NOTE, WIDTH, break_long_words=False, break_on_hyphens=False)]
    return out


def _risk_actions(f: RunFigures) -> list[str]:
    """Every trip, reset, halt, forced exit... (entry blocks are counted above), up to a limit."""
    lines = []
    for when, action, rule, message in f.risk_actions[:MAX_RISK_ACTIONS]:
        head = f"  {when}  {action:<13} {rule:<20} "
        lines += textwrap.wrap(
            message, WIDTH + 10, initial_indent=head, subsequent_indent=" " * len(head),
            break_long_words=False, break_on_hyphens=False,
        ) or [head.rstrip()]  # fmt: skip
    if len(f.risk_actions) > MAX_RISK_ACTIONS:
        lines.append(f"  ... {len(f.risk_actions) - MAX_RISK_ACTIONS} more in events.jsonl (kind risk_event)")
    return lines
