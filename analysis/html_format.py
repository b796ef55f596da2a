"""Cells and tables of report.html.  Shared figures (``analysis.figures``) are printed exactly as
formatted there; page-only numbers (trade rows, Greeks) are formatted here.  Every table is
sortable (click a header) and long ones get a filter box (``html_report.SCRIPT``)."""

from __future__ import annotations

import html
import math
from collections.abc import Collection, Iterable, Sequence
from datetime import date, datetime
from typing import Any

from analysis.figures import Figure

FILTER_FROM_ROWS = 12  # tables with more rows get a filter box


def esc(v: Any) -> str:
    return html.escape("" if v is None else str(v))


def fig_cell(f: Figure, left: bool = False) -> str:
    cls = ["l"] if left else []
    if f.sign:
        cls.append("pos" if f.sign > 0 else "neg")
    attr = f' class="{" ".join(cls)}"' if cls else ""
    return f'<td{attr} data-fig="{esc(f.key)}">{esc(f.text)}</td>'


def fig_rows(items: Iterable[Figure]) -> str:
    """``label | value`` rows; the label cell carries the figure's key for readers and tests."""
    return "".join(
        f'<tr><th class="l" scope="row">{esc(f.label)}</th>{fig_cell(f, left=True)}</tr>' for f in items
    )


def num(v: Any, fmt: str = "{:,.2f}", signed_class: bool = False) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return '<td data-sort="">n/a</td>'
    if isinstance(v, float) and math.isinf(v):
        return "<td>∞</td>" if v > 0 else "<td>-∞</td>"
    cls = ""
    if signed_class and isinstance(v, int | float):
        cls = ' class="neg"' if v < 0 else ' class="pos"' if v > 0 else ""
    return f'<td{cls} data-sort="{v!r}">{esc(fmt.format(v))}</td>'


def pct(v: Any, signed_class: bool = False) -> str:
    return num(v, "{:+.2%}" if signed_class else "{:.2%}", signed_class)


def text(v: Any, cls: str = "l") -> str:
    return f'<td class="{cls}">{esc(v)}</td>'


def time_cell(value: datetime | date | None) -> str:
    """A time whose date never breaks at its hyphens (the time may go to a second line)."""
    if value is None:
        return '<td class="l"></td>'
    shown = when(value)
    day, _, clock = shown.partition(" ")
    rest = f" {esc(clock)}" if clock else ""
    return f'<td class="l t" data-sort="{esc(shown)}"><span class="d">{esc(day)}</span>{rest}</td>'


def note(body: str) -> str:
    """A note paragraph; ``body`` is HTML (escape text with ``esc`` first)."""
    return f'<p class="note">{body}</p>'


def table(
    headers: Sequence[str],
    rows: Sequence[str],
    left: int = 1,
    scroll: bool = False,
    table_id: str = "",
    text_columns: Collection[int] = (),
) -> str:
    """A sortable table whose first ``left`` columns (and ``text_columns``) hold text, aligned
    left; ``scroll`` caps its height (the page itself never scrolls sideways: text cells wrap)."""
    texts = set(range(left)) | set(text_columns)
    head = "".join(
        f'<th class="{"l" if i in texts else ""}" scope="col">{esc(h)}</th>' for i, h in enumerate(headers)
    )
    ident = f' id="{esc(table_id)}"' if table_id else ""
    body = f'<table class="data sortable"{ident}><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    box = f'<div class="scroll">{body}</div>' if scroll else body
    if len(rows) >= FILTER_FROM_ROWS:
        box = (
            '<input type="search" class="filter" placeholder="filter rows (any text)" '
            f'aria-label="filter the table below">{box}'
        )
    return box


def when(value: datetime | date | None) -> str:
    """Times as a trader reads them: ``2025-02-21 15:05`` (exchange time)."""
    if value is None:
        return ""
    return value.strftime("%Y-%m-%d %H:%M") if isinstance(value, datetime) else str(value)
