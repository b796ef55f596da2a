"""The figures summary.txt and report.html share, on small hand-made output folders: each of the
contradictions a first-time user found (risk events counted twice, a "largest loss" that was a win,
"11 suggestions; the latest 30 are shown", "peak None") and what the header says about the run."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime, timedelta

import pytest

from analysis.figures import RunFigures, days_in_trade, figures, profit_captured
from analysis.report_data import load
from analysis.run_info import market_text, parameter_changes
from analysis.summary import render, write_summary
from core.book import group_to_json
from core.settings import Settings
from core.types import GroupStatus, Leg, PositionGroup, Right
from monitoring.open_positions import OPEN_POSITIONS, OpenPosition, write_csv
from sim.report import write_parameters
from testing.factories import spxw

START = date(2025, 3, 3)


def _folder(tmp_path, events, days=5, settings=None, execution=None, run=None, held=(), nlv=200000.0):
    """A run folder; ``held`` are the open positions at the end (None: no open_positions.csv)."""
    rows = ["day,net_liquidation,cash,buying_power_used,vix,buying_power_cap"]
    rows += [f"{START + timedelta(days=i)},{nlv:.2f},200000.00,30000.00,18.00,160000.00" for i in range(days)]
    if held is not None:
        write_csv(tmp_path / OPEN_POSITIONS, list(held))
    (tmp_path / "equity.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    write_parameters(tmp_path / "parameters.json", settings or Settings())
    if execution is not None:
        (tmp_path / "execution.json").write_text(json.dumps(execution))
    if run is not None:
        (tmp_path / "run.json").write_text(json.dumps(run))
    return tmp_path


def _by_label(f: RunFigures) -> dict[str, str]:
    return {x.label: x.text for x in f.shared()}


def _closed(
    group_id: str, pnl_per_unit: float, opened: datetime, closed: datetime, strategy: str = "probe"
) -> dict:
    """A closed one-lot short put sold for 2.00 and bought back for 2.00 + ``pnl_per_unit``."""
    g = PositionGroup(
        group_id, strategy, (Leg(spxw(5000.0, Right.PUT, closed.date()), -1),), 1, GroupStatus.CLOSED,
        opened_at=opened, entry_price=-2.0, closed_at=closed, exit_price=2.0 + pnl_per_unit,
        exit_reason="profit_target" if pnl_per_unit < 0 else "stop_loss",
    )  # fmt: skip
    # realised = (credit 2.00 - exit cost) x 100: ``pnl_per_unit`` < 0 is a win
    return {"time": closed.isoformat(), "kind": "trade_closed", "group": group_to_json(g)}


def _t(day: int, hour: int = 10, minute: int = 0) -> str:
    return datetime(2025, 3, 3 + day, hour, minute).isoformat()


def test_a_blocked_entry_is_one_risk_event_not_two(tmp_path):
    gate = {"time": _t(0), "kind": "risk_event", "rule": "correlation_equity_index", "action": "block_entry",
            "message": "too many", "strategy": "probe", "group_id": "g1", "values": {}}  # fmt: skip
    echo = {"time": _t(0), "kind": "risk_block", "code": "correlation_equity_index", "group_id": "g1",
            "strategy": "probe", "message": "too many"}  # fmt: skip
    alone = {"time": _t(1), "kind": "risk_block", "code": "bp_cap", "group_id": "g2", "strategy": "probe"}
    trip = {"time": _t(2), "kind": "risk_event", "rule": "loss_daily", "action": "trip", "message": "halt",
            "strategy": "", "group_id": "", "values": {}}  # fmt: skip
    d = load(_folder(tmp_path, [gate, echo, alone, trip]))
    shown = _by_label(figures(d))
    assert shown["risk events recorded"] == "3", "the gate's event, the echo-less block and the trip"
    assert shown["risk events by action"] == "block_entry 2, trip 1"
    assert shown["entries blocked"] == "2 (bp_cap 1, correlation_equity_index 1)"
    assert [e["kind"] for e in d.timeline] == ["risk_event", "risk_block", "risk_event"]


def test_a_strategy_without_losses_has_no_largest_loss(tmp_path):
    wins = [_closed(f"w{i}", -1.0, datetime(2025, 3, 3, 10), datetime(2025, 3, 4 + i, 11)) for i in range(3)]
    f = figures(load(_folder(tmp_path, wins)))
    row = next(r for r in f.strategies if r.name == "probe")
    assert row.cells["pnl"].text == "300.00" and row.cells["win_rate"].text == "100.00%"
    assert row.cells["largest_loss"].text == "no loss"
    assert row.cells["average_loss"].text == "n/a"


def test_largest_loss_is_the_worst_losing_trade(tmp_path):
    trades = [
        _closed("w", -1.0, datetime(2025, 3, 3, 10), datetime(2025, 3, 4, 11)),
        _closed("l1", 0.5, datetime(2025, 3, 3, 10), datetime(2025, 3, 5, 11)),
        _closed("l2", 3.0, datetime(2025, 3, 3, 10), datetime(2025, 3, 6, 11)),
    ]
    row = next(r for r in figures(load(_folder(tmp_path, trades))).strategies if r.name == "probe")
    assert row.cells["largest_loss"].text == "-300.00"


def test_profit_captured_and_days_in_trade():
    g = PositionGroup(
        "x", "probe", (Leg(spxw(5000.0, Right.PUT, date(2025, 3, 21)), -1),), 2, GroupStatus.CLOSED,
        opened_at=datetime(2025, 3, 3, 10), entry_price=-2.0, entry_fees=2.0,
        closed_at=datetime(2025, 3, 10, 11), exit_price=1.0,
    )  # fmt: skip
    assert profit_captured(g) == pytest.approx((400.0 - 200.0 - 2.0) / 400.0), "P&L over the credit"
    assert days_in_trade(g) == 7
    debit = PositionGroup("y", "probe", g.legs, 1, GroupStatus.CLOSED, entry_price=3.0)
    assert profit_captured(debit) is None and days_in_trade(debit) is None


def test_a_run_without_trades_or_drawdown_says_so_in_words(tmp_path):
    folder = _folder(tmp_path, [{"time": _t(0, 16), "kind": "end_of_day", "day": START.isoformat()}])
    write_summary(folder)
    text = (folder / "summary.txt").read_text()
    shown = _by_label(figures(load(folder)))
    assert shown["max drawdown dates"] == "no drawdown" and shown["max drawdown duration"] == "no drawdown"
    assert "None" not in text and "no closed trades" in text
    assert shown["closed trades"] == "0" and shown["risk events recorded"] == "0"


def _hedge(i: int) -> dict:
    return {"time": _t(0, 10, i), "kind": "hedge_suggestion", "name": "theta", "state": "near",
            "usage": 0.85, "value": 1.0, "limit": 1.0, "suggestion": f"reduce g{i}"}  # fmt: skip


@pytest.mark.parametrize(("n", "note"), [(11, "11 suggestions in total; all 11 are shown"),
                                         (35, "35 suggestions in total; the latest 30 are shown")])  # fmt: skip
def test_hedge_note_counts_what_it_shows(tmp_path, n, note):
    from analysis.html_risk import hedges
    from monitoring.redact import Redactor

    html = hedges(load(_folder(tmp_path, [_hedge(i) for i in range(n)])), Redactor(()))
    assert note in html and html.count("<tr>") == min(n, 30) + 1


def test_stress_loss_is_drawn_when_recorded_and_said_missing_otherwise(tmp_path):
    pytest.importorskip("matplotlib", reason="charts need the report extra (matplotlib)")
    from analysis.html_report import write_html_report

    samples = [{"time": _t(i, 16), "kind": "portfolio_greeks", "eod": True, "net_liquidation": 200_000.0,
                "stress_loss": -20_000.0 - 1_000.0 * i, "stress_limit": 40_000.0, "positions": []}
               for i in range(5)]  # fmt: skip
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    drawn = write_html_report(_folder(tmp_path / "a", samples)).read_text()
    assert 'id="chart-stress"' in drawn and "Stress loss: not recorded" not in drawn
    missing = write_html_report(_folder(tmp_path / "b", [])).read_text()
    assert 'id="chart-stress"' not in missing and "Stress loss: not recorded" in missing


def test_execution_block_lists_only_counters_that_moved_and_messages_keep_their_words(tmp_path):
    message = "daily loss 5.92% reached the 5% halt: " + " ".join(f"word{i}" for i in range(40))
    trip = {"time": _t(0), "kind": "risk_event", "rule": "loss_daily", "action": "trip", "message": message,
            "strategy": "", "group_id": "", "values": {}}  # fmt: skip
    execution = {"counts": {"orders_sent": 7, "fills": 5, "retries": 0}, "repairs": [], "fill_quality": {},
                 "residual_unhedged": []}  # fmt: skip
    text = render(figures(load(_folder(tmp_path, [trip], execution=execution))))
    block = text[text.index("\nExecution\n") :].splitlines()
    assert [line.split("  ")[0] for line in block[3:]] == ["orders sent", "fills", "residual unhedged legs"]
    words = " ".join(line.strip() for line in text.splitlines() if "word" in line or "loss_daily" in line)
    for i in range(40):
        assert f" word{i} " in f" {words} ", f"word{i} was cut"
    assert all(len(line) <= 130 for line in text.splitlines())


def test_summary_is_rebuilt_byte_for_byte_from_the_files(tmp_path):
    folder = _folder(tmp_path, [_closed("w", -1.0, datetime(2025, 3, 3, 10), datetime(2025, 3, 4, 11))])
    first = write_summary(folder).read_bytes()
    assert write_summary(folder).read_bytes() == first


def test_header_names_the_market_the_changed_parameters_and_the_code(tmp_path):
    settings = Settings().with_overrides(starting_cash=400_000.0, zero_dte_min_vix=25.0)
    run = {
        "market": {"source": "synthetic", "seed": 11, "step_minutes": 5},
        "code_version": "git v1.2-3-gabc",
    }
    shown = _by_label(figures(load(_folder(tmp_path, [], settings=settings, run=run))))
    assert shown["market source"] == "synthetic market, seed 11, 5-minute steps"
    assert shown["parameters differing from defaults"] == "zero_dte_min_vix=25.0, starting_cash=400000.0"
    assert shown["code version"] == "git v1.2-3-gabc"
    assert shown["period"] == "2025-03-03 .. 2025-03-07 (5 sessions)"


def test_market_source_in_words_for_each_kind_of_run():
    assert market_text({"market": {"source": "lean_data", "folder": "/data/lean", "vix": 18.0}}) == (
        "LEAN data folder /data/lean, constant VIX 18.0"
    )
    history = {"market": {"source": "history", "window": "2020-03-01..2020-06-30", "symbols": "SPX"}}
    assert market_text(history) == "history (symbols SPX, window 2020-03-01..2020-06-30)"
    assert market_text({}).startswith("not recorded")
    assert parameter_changes(Settings()) == []


def test_the_tail_is_computed_without_empyrical_or_scipy_stats(tmp_path, monkeypatch):
    """As on LEAN's image without the report extra: the summary still has VaR, skew and the rest."""
    for name in ("empyrical", "scipy.stats"):
        monkeypatch.setitem(sys.modules, name, None)  # an import of either now fails
    text = render(figures(load(_folder(tmp_path, [], days=6))))
    for label in ("daily VaR 95% (historical)", "skew of daily returns", "worst day"):
        assert label in text
    assert "not installed" not in text


def _held(group_id, strategy, entry, mark, qty=1):
    return OpenPosition(group_id, strategy, group_id, "", datetime(2025, 3, 3, 10), qty, 100.0, "-1xSPY",
                        entry, 1.0, mark)  # fmt: skip


def test_strategy_pnl_is_realised_plus_open_in_both_files(tmp_path):
    """A probe with +300 closed and one position held at +149 (sold 2.00, marked 0.50, $1 fee); a
    strategy holding only an unmarked position; NLV rose by exactly the marked P&L."""
    wins = [_closed(f"w{i}", -1.0, datetime(2025, 3, 3, 10), datetime(2025, 3, 4 + i, 11)) for i in range(3)]
    held = [_held("probe-open", "probe", -2.0, -0.5), _held("rung", "leap_ladder", -7.0, None)]
    folder = _folder(tmp_path, wins, held=held, nlv=200_449.0)
    f = figures(load(folder))
    rows = {r.name: r.cells for r in f.strategies}
    assert [rows["probe"][k].text for k in ("trades", "realized", "open", "pnl")] == [
        "3",
        "300.00",
        "149.00",
        "449.00",
    ]
    assert [rows["leap_ladder"][k].text for k in ("trades", "realized", "open", "pnl")] == [
        "0", "0.00", "0.00 (1 unmarked)", "0.00",
    ]  # fmt: skip
    shown = _by_label(f)
    assert shown["strategy P&L (realised + open)"] == "300.00 realised + 149.00 open = 449.00"
    assert shown["NLV change not in strategy P&L"] == "0.00"
    assert shown["open positions at the end"] == "2 (1 unmarked: no quote at the last close)"
    text = write_summary(folder).read_text()
    assert "300.00 realised + 149.00 open = 449.00" in text and "(1 unmarked)" in text


def test_a_folder_without_open_positions_says_so_instead_of_showing_zero(tmp_path):
    wins = [_closed("w", -1.0, datetime(2025, 3, 3, 10), datetime(2025, 3, 4, 11))]
    f = figures(load(_folder(tmp_path, wins, held=None)))
    probe = next(r for r in f.strategies if r.name == "probe").cells
    assert (probe["realized"].text, probe["open"].text, probe["pnl"].text) == ("100.00", "n/a", "n/a")
    assert _by_label(f)["open positions at the end"] == "not recorded (open_positions.csv absent)"


def test_a_scratch_trade_is_shown_and_left_out_of_the_win_rate(tmp_path):
    trades = [_closed("w", -1.0, datetime(2025, 3, 3, 10), datetime(2025, 3, 4, 11)),
              _closed("s", 0.0, datetime(2025, 3, 3, 10), datetime(2025, 3, 5, 11))]  # fmt: skip
    f = figures(load(_folder(tmp_path, trades)))
    probe = next(r for r in f.strategies if r.name == "probe").cells
    assert (probe["trades"].text, probe["win_rate"].text, probe["largest_loss"].text) == (
        "2 (1 scratch)", "100.00%", "no loss",
    )  # fmt: skip
    assert _by_label(f)["closed trades"] == "2 (1 scratch)"
