"""Per-strategy P&L on one short real backtest (seed 3, Jan-Feb 2025: it ends with IPMCC campaigns,
LEAP rungs and a strangle still held): realised + open adds up to the NLV change, and summary.txt,
report.html, the command's printed result and the lab summary show the same figure.

Cash effects in the sim, which is why the sum must be exact: cash moves only by fills (premium and
fees) and by expiry settlement.  Fees are inside each trade's P&L (entry + exit fees) and inside
each open position's cost basis; a settled option closes its group at the intrinsic value the cash
moved by; there is no interest on cash, no dividends and no futures variation sweep (the book keeps
futures P&L open, the NLV is the same).  So NLV change = sum of strategy totals, and the only
difference allowed is rounding: trades.csv and equity.csv hold cents (each value within half a
cent), open_positions.csv keeps ten significant digits (well under a millionth of a dollar)."""

from __future__ import annotations

import csv
import hashlib
import math
import re

import pytest

from analysis.report_data import load
from sim.lab.spec import make_spec
from sim.lab.task import run_task


def _strategy_rows(lines: list[str]) -> dict[str, dict[str, str]]:
    """The Strategies table of summary.txt (or of the printed result) by strategy and column."""
    start = lines.index("Strategies") + 2
    header = re.split(r" {2,}", lines[start])
    rows = {}
    for line in lines[start + 1 :]:
        if not line or line.startswith("⚠"):
            break
        cells = re.split(r" {2,}", line.strip())
        rows[cells[0].removesuffix(" ⚠")] = dict(zip(header, cells, strict=True))
    return rows


def test_strategy_totals_add_up_to_the_nlv_change(backtest):
    out, _, _ = backtest
    d = load(out)
    assert d.open_positions and all(p.unrealized_pnl is not None for p in d.open_positions)
    assert {p.strategy for p in d.open_positions} >= {"ipmcc", "leap_ladder"}, "positions held at the end"
    strategies = {k: v for k, v in d.stats.items() if k != "portfolio"}
    total = sum(s.total_pnl for s in strategies.values())
    with (out / "trades.csv").open() as fh:
        rows = len(list(csv.DictReader(fh)))
    tolerance = 0.005 * (rows + 1) + 1e-6  # half a cent per trades.csv row and for the last NLV
    assert total == pytest.approx(d.nlv[-1] - d.start_value, abs=tolerance)
    assert d.stats["portfolio"].total_pnl == pytest.approx(total, abs=1e-9)
    realized = sum(s.realized_pnl for s in strategies.values())
    assert not math.isclose(realized, d.nlv[-1] - d.start_value, abs_tol=100.0), "closed trades alone do not"
    ipmcc = strategies["ipmcc"]
    assert ipmcc.open_positions >= 2 and ipmcc.total_pnl == pytest.approx(ipmcc.realized_pnl + ipmcc.open_pnl)
    summary = (out / "summary.txt").read_text(encoding="utf-8")
    assert "NLV change not in strategy P&L             0.00" in summary


def test_summary_page_printed_result_and_lab_agree_on_strategy_pnl(backtest):
    out, printed, _ = backtest
    d = load(out)
    expected = {k: f"{s.total_pnl:,.2f}" for k, s in d.stats.items() if k != "portfolio"}
    summary = _strategy_rows((out / "summary.txt").read_text(encoding="utf-8").splitlines())
    assert {k: summary[k]["P&L"] for k in expected} == expected
    assert _strategy_rows(printed.splitlines()) == summary, "the command prints summary.txt's table"
    page = (out / "report.html").read_text(encoding="utf-8")
    assert all(f">{v}<" in page for v in expected.values())

    spec = make_spec(d.settings, d.days[0], d.days[-1], seed=3)
    lab = run_task(spec)
    assert lab["trades_sha256"] == hashlib.sha256((out / "trades.csv").read_bytes()).hexdigest(), "same run"
    assert {k: f"{v:,.2f}" for k, v in lab["strategy_pnl"].items()} == expected
