"""summary.txt and report.html of one run agree on every figure they share: both files are read as
a person would (the text's ``label  value`` lines and tables, the page's label/value rows and the
strategy table), and each shared figure must read the same in both.  A few figures are also
checked against the raw run files, so "the same" also means "right"."""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from html.parser import HTMLParser

import pytest

from analysis.figures import EXECUTION_LABELS

# Figures that must be in both files whatever the run (execution counters and repairs vary).
CORE_FIGURES = {
    "market source", "period", "parameters read from", "parameters differing from defaults", "code version", "net liquidation",
    "total return", "annual return (CAGR)", "annual volatility", "Sharpe", "Sortino", "Calmar",
    "max drawdown", "max drawdown dates", "max drawdown duration", "longest time under water",
    "alpha vs SPY (annualised)", "beta vs SPY", "buying power used / cap at the last close",
    "highest use of the buying-power cap", "theta / NLV at the last close", "closed trades", "win rate",
    "open positions at the end", "strategy P&L (realised + open)", "NLV change not in strategy P&L",
    "fees paid", "slippage vs mid at proposal", "fees + slippage, share of gross P&L",
    "daily VaR 95% (historical)", "daily CVaR 95% (mean of the worst 5%)", "skew of daily returns",
    "excess kurtosis of daily returns", "worst day", "best day", "risk events recorded",
    "risk events by action", "entries blocked", "abandoned entries", "alerts", "hedge suggestions",
    "orders sent", "fills", "residual unhedged legs",
}  # fmt: skip


class _Rows(HTMLParser):
    """Every table row of the page as (table id, [(tag, attributes, text)])."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str, list[tuple[str, dict[str, str], str]]]] = []
        self._tables: list[str] = []
        self._row: list[tuple[str, dict[str, str], str]] | None = None
        self._cell: tuple[str, dict[str, str], list[str]] | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "table":
            self._tables.append(a.get("id", ""))
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = (tag, a, [])

    def handle_endtag(self, tag):
        if tag == "table" and self._tables:
            self._tables.pop()
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            name, attrs, parts = self._cell
            self._row.append((name, attrs, "".join(parts).strip()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append((self._tables[-1] if self._tables else "", self._row))
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[2].append(data)


def _page(folder):
    parser = _Rows()
    parser.feed((folder / "report.html").read_text(encoding="utf-8"))
    figures, tables = {}, defaultdict(list)
    for table_id, cells in parser.rows:
        if len(cells) == 2 and cells[0][0] == "th" and "data-fig" in cells[1][1]:
            figures[cells[0][2]] = cells[1][2]
        if table_id in ("strategy-table", "strategy-costs"):
            tables[table_id].append([c[2] for c in cells])
    strategy = [  # the two strategy tables side by side: one row per strategy
        perf + costs[1:]
        for perf, costs in zip(tables["strategy-table"], tables["strategy-costs"], strict=True)
    ]
    return figures, strategy


def _summary_figures(lines, labels):
    """``label  value`` lines (a long value continues on lines indented to the value column)."""
    out = {}
    for i, line in enumerate(lines):
        for label in labels:
            m = re.match(rf"^{re.escape(label)}( {{2,}})(\S.*)$", line)
            if not m:
                continue
            column = len(label) + len(m.group(1))
            parts = [m.group(2)]
            for rest in lines[i + 1 :]:
                if not (rest.startswith(" " * column) and rest[column : column + 1] not in ("", " ")):
                    break
                parts.append(rest[column:])
            out[label] = " ".join(parts)
    return out


def _summary_tables(lines):
    """Rows of the Strategies and Costs tables by strategy and column header."""
    rows: dict[str, dict[str, str]] = defaultdict(dict)
    last = ""
    for title in ("Strategies", "Averages and costs by strategy"):
        start = lines.index(title) + 2
        header = re.split(r" {2,}", lines[start])
        for line in lines[start + 1 :]:
            if not line or line.startswith("⚠"):
                break
            if line.startswith("  exits: "):
                rows[last]["exits"] = line.strip().removeprefix("exits: ")
                continue
            if line.startswith("    "):  # exits continued
                rows[last]["exits"] += " " + line.strip()
                continue
            cells = re.split(r" {2,}", line.strip())
            last = cells[0].removesuffix(" ⚠")
            rows[last].update(zip(header[1:], cells[1:], strict=True))
    return rows


@pytest.mark.slow  # the session's two-month backtest
def test_summary_and_report_agree_on_every_shared_figure(backtest):
    out, _, _ = backtest
    page, strategy = _page(out)
    lines = (out / "summary.txt").read_text(encoding="utf-8").splitlines()
    text = _summary_figures(lines, page)
    assert set(page) >= CORE_FIGURES, f"missing on the page: {CORE_FIGURES - set(page)}"
    assert set(text) == set(page), f"only on the page: {set(page) - set(text)}"
    different = {k: (text[k], page[k]) for k in page if text[k] != page[k]}
    assert different == {}, f"summary vs page: {different}"

    header, *rows = strategy
    tables = _summary_tables(lines)
    compared = 0
    for row in rows:
        name = row[0].removesuffix(" ⚠ underperforming")
        for column, value in zip(header[1:], row[1:], strict=True):
            if column in tables[name]:
                assert tables[name][column] == value, f"{name} {column}: {tables[name][column]} vs {value}"
                compared += 1
    assert set(tables) == {r[0].removesuffix(" ⚠ underperforming") for r in rows}
    assert compared >= 13 * len(rows), "every summary column is on the page"


@pytest.mark.slow  # the session's two-month backtest
def test_shared_figures_match_the_run_files(backtest):
    out, _, _ = backtest
    page, strategy = _page(out)
    events = [json.loads(line) for line in (out / "events.jsonl").open()]
    gate = {
        (e["time"], e["group_id"], e["rule"])
        for e in events
        if e["kind"] == "risk_event" and e["action"] == "block_entry"
    }
    blocks = [e for e in events if e["kind"] == "risk_block"]
    echoless = [b for b in blocks if (b["time"], b["group_id"], b["code"]) not in gate]
    risk_events = sum(1 for e in events if e["kind"] == "risk_event") + len(echoless)
    assert blocks and len(echoless) == 0, "in this run every block is recorded by the gate and echoed"
    assert page["risk events recorded"] == f"{risk_events:,d}", "one event, counted once"
    assert page["entries blocked"].startswith(f"{len(blocks):,d} (")
    assert page["alerts"] == str(sum(1 for e in events if e["kind"] == "alert"))

    with (out / "trades.csv").open() as fh:
        trades = list(csv.DictReader(fh))
    pnl: defaultdict[str, float] = defaultdict(float)
    for t in trades:
        pnl[t["strategy"]] += float(t["pnl"])
    with (out / "open_positions.csv").open() as fh:
        held = list(csv.DictReader(fh))
    # the rulebook's trades: an LT112 unit or IPMCC campaign is one, finished once nothing of it is held
    held_campaigns = {p["campaign"] for p in held if p["strategy"] in ("lt112", "ipmcc")}
    finished: defaultdict[tuple[str, str], float] = defaultdict(float)  # (strategy, trade) -> P&L
    for t in trades:
        campaign_trade = t["strategy"] in ("lt112", "ipmcc")
        if not (campaign_trade and t["campaign"] in held_campaigns):
            finished[t["strategy"], t["campaign"] if campaign_trade else t["group_id"]] += float(t["pnl"])
    scratches = sum(1 for v in finished.values() if round(v * 100) == 0)
    assert len(finished) < len(trades), "this run has LT112 units or IPMCC campaigns of several groups"
    assert page["closed trades"] == f"{len(finished)}" + (f" ({scratches} scratch)" if scratches else "")
    open_pnl: defaultdict[str, float] = defaultdict(float)
    for p in held:
        open_pnl[p["strategy"]] += float(p["unrealized_pnl"])
    assert held and all(p["unrealized_pnl"] for p in held), "this run ends with positions held, all marked"
    header, *rows = strategy
    by_name = {r[0].removesuffix(" ⚠ underperforming"): dict(zip(header, r, strict=True)) for r in rows}
    for name in set(pnl) | set(open_pnl):
        assert by_name[name]["realised"] == f"{pnl[name]:,.2f}"
        assert by_name[name]["open"] == f"{open_pnl[name]:,.2f}"
        assert by_name[name]["P&L"] == f"{pnl[name] + open_pnl[name]:,.2f}"
        losses = [v for (strategy, _), v in finished.items() if strategy == name and round(v * 100) < 0]
        assert by_name[name]["largest loss"] == (f"{min(losses):,.2f}" if losses else "no loss")
    execution = json.loads((out / "execution.json").read_text())
    assert page["orders sent"] == f"{execution['counts']['orders_sent']:,d}"
    zero = [label for k, label in EXECUTION_LABELS.items() if not execution["counts"].get(k)]
    summary = (out / "summary.txt").read_text()
    block = summary[summary.index("\nExecution\n") :].splitlines()
    assert zero and not any(line.startswith(label + "  ") for line in block for label in zero)
    assert "residual unhedged legs  0" in block, "the one counter always shown"
