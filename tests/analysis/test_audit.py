"""The rule auditor: a clean backtest passes; each kind of rule break in a trade log is reported."""

from __future__ import annotations

import csv
import dataclasses
from datetime import datetime
from pathlib import Path

import pytest

from analysis.audit import Auditor, Trade, load_trades, main
from core.settings import Settings

S = Settings()
HEADER = ["group_id", "strategy", "opened_at", "closed_at", "quantity", "legs", "entry_price", "exit_price",
          "entry_fees", "exit_fees", "pnl", "exit_reason", "max_loss_per_unit", "notes", "campaign", "part"]  # fmt: skip


def _row(**over):
    notes = {
        "signal_minute": 600, "nlv": 100_000, "vix": 18, "dte": 90, "delta_0": -0.06, "delta_1": 0.055,
        "strike_0": 5000, "strike_1": 6500, "underlying": 5800, "exit_profit": 1.0, "exit_credit": 2.0,
        "exit_dte": 60, "exit_mark": -1.0,
    }  # fmt: skip
    notes.update(over.pop("notes", {}))
    row = {
        "group_id": "strangle-20250304-001", "strategy": "strangle", "opened_at": "2025-03-04T10:05:00",
        "closed_at": "2025-04-01T11:00:00", "quantity": "1", "legs": "-1xES250530P05000000 -1xES250530C06500000",
        "entry_price": "-2.0", "exit_price": "1.0", "entry_fees": "5", "exit_fees": "0", "pnl": "45",
        "exit_reason": "profit_target", "max_loss_per_unit": "250", "campaign": "strangle-20250304-001",
        "part": "",
        "notes": ";".join(f"{k}={v}" for k, v in notes.items()),
    }  # fmt: skip
    row.update(over)
    return row


def _audit(tmp_path: Path, *rows) -> list[str]:
    path = tmp_path / "trades.csv"
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, HEADER)
        w.writeheader()
        w.writerows(rows)
    return [f"{v.rule}: {v.message}" for v in Auditor(S).audit(load_trades(path))]


def test_a_trade_by_the_rules_is_clean(tmp_path):
    assert _audit(tmp_path, _row()) == []


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        ({"group_id": "strangle-20250305-001"}, "entry_weekday"),  # a Wednesday
        ({"notes": {"signal_minute": 9 * 60 + 55}}, "entry_time"),
        ({"notes": {"dte": 79}}, "dte_window"),
        ({"notes": {"delta_0": -0.09}}, "delta"),
        ({"notes": {"delta_1": 0.07}}, "delta"),
        ({"notes": {"nlv": 50_000}}, "phase"),
        ({"quantity": "2"}, "size"),
        ({"notes": {"exit_profit": 0.9}}, "exit_reason"),  # "profit target" below 50% of credit
        ({"exit_reason": "stop_loss"}, "exit_reason"),  # a stop while in profit
        ({"exit_reason": "roll", "notes": {"exit_dte": 30}}, "exit_reason"),  # roll before 21 DTE
        ({"exit_reason": "roll", "notes": {"exit_dte": 21, "exit_profit": -0.5}}, "exit_reason"),  # at a loss
        ({"exit_reason": "made_up"}, "exit_reason"),
        ({"max_loss_per_unit": "6000"}, "position_risk"),
    ],
)
def test_each_rule_break_is_reported(tmp_path, change, rule):
    found = _audit(tmp_path, _row(**change))
    assert any(f.startswith(rule + ":") for f in found), found


def test_roll_successor_may_open_on_any_weekday(tmp_path):
    assert _audit(tmp_path, _row(group_id="strangle-20250306-001", notes={"roll_entry": 1})) == []


def test_too_many_strangles_open_on_one_underlying(tmp_path):
    rows = [_row(group_id=f"strangle-20250304-00{i}", campaign=f"c{i}") for i in range(1, 5)]
    found = _audit(tmp_path, *rows)
    assert sum(f.startswith("size:") for f in found) == 1


def test_cli_exit_codes(tmp_path, capsys):
    path = tmp_path / "trades.csv"
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, HEADER)
        w.writeheader()
        w.writerow(_row(notes={"dte": 200}))
    assert main(path, S, "rulebook defaults") == 1
    out = capsys.readouterr().out
    assert "dte_window" in out and out.rstrip().endswith("1 violation(s); rules from rulebook defaults")
    path.write_text(",".join(HEADER) + "\n")
    assert main(path, S, "x") == 0, "a run without trades is a clean trade log"


def test_the_trade_log_columns_are_the_ones_the_backtest_writes():
    from analysis.trade_log import TRADE_COLUMNS
    from sim.report import TRADE_COLUMNS as WRITTEN

    assert list(TRADE_COLUMNS) == list(WRITTEN) == HEADER


def _garbage(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "trades.csv"
    path.write_text(text)
    return path


def _good_line() -> str:
    row = _row()
    return ",".join(f'"{row[c]}"' for c in HEADER)


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("", ":1:", "empty file"),
        ("garbage\n", ":1:", "unknown column(s) garbage"),
        ("hello world\nthis is not a csv\n", ":1:", "missing column(s) group_id, strategy"),
        ("group_id,strategy\nx,y\n", ":1:", "missing column(s) opened_at"),
        (",".join([*HEADER, "colour"]) + "\n", ":1:", "unknown column(s) colour"),
        (",".join([*HEADER, "notes"]) + "\n", ":1:", "column(s) notes written twice"),
        (",".join(HEADER) + "\n" + _good_line() + "\n1,2,3\n", ":3:", "fewer fields than the header"),
        (",".join(HEADER) + "\n" + _good_line() + ",extra\n", ":2:", "more fields than the header"),
        (",".join(HEADER) + "\n" + _good_line().replace('"1"', '"one"', 1) + "\n", ":2:", "invalid literal"),
        (",".join(HEADER) + "\n" + _good_line().replace("strangle-20250304-001", "nonsense") + "\n", ":2:",
         "group_id 'nonsense' is not STRATEGY-YYYYMMDD-N"),
    ],
)  # fmt: skip
def test_a_garbage_trades_csv_is_an_error_naming_file_and_line(tmp_path, capsys, text, where, message):
    path = _garbage(tmp_path, text)
    assert main(path, S, "rulebook defaults") == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}{where}") and message in err, err


def test_a_missing_trades_file_is_an_error(tmp_path, capsys):
    assert main(tmp_path / "nope.csv", S, "x") == 2
    assert (
        capsys.readouterr().err
        == f"error: {tmp_path / 'nope.csv'}: cannot read (No such file or directory)\n"
    )


def test_trade_properties():
    t = Trade(
        group_id="lt112-20250305-001-naked", strategy="lt112", opened_at=datetime(2025, 3, 5, 10, 5),
        closed_at=datetime(2025, 4, 1), quantity=1, exit_reason="", max_loss_per_unit=0.0,
        notes={"signal_minute": 605.0}, campaign="c", part="naked", roots=(),
    )  # fmt: skip
    assert t.entry_id == "lt112-20250305-001" and t.signal_time.hour == 10 and t.signal_time.minute == 5
    assert dataclasses.replace(t, part="").entry_id == t.group_id
