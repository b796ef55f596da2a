"""Backtests on LEAN-format data through the CLI: VIX from the folder (or a required --vix), missing
sessions reported, one-line errors for bad files, step sizes that cannot hang, and run.json."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest

from sim.cli import main
from sim.markets.lean_data import LeanDataError, LeanDataMarket, MarketHoursDatabase
from tests.sim.test_lean_data import LEAN, _mini_data_root, _zip

pytestmark = pytest.mark.slow  # each test runs the CLI's backtest over days of LEAN data

BAR = "30600000,4700,4701,4699,4700.5,0\n"  # 08:30 Chicago = 09:30 New York


def _folder(tmp_path: Path) -> Path:
    """The mini SPX folder (2024-01-02 only) plus an empty zip for 2024-01-03."""
    root = _mini_data_root(tmp_path / "data")
    _zip(root / "index/usa/minute/spx/20240103_trade.zip", {"x.csv": ""})
    return root


def _run(tmp_path: Path, root: Path, *extra: str, capsys) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    args = ["backtest", "--data", str(root), "--start", "2024-01-02", "--end", "2024-01-05",
            "--out", str(out), *extra]  # fmt: skip
    rc = main(args)
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def test_vix_comes_from_the_data_folder_minute_bars_then_the_daily_file(tmp_path):
    root = _mini_data_root(tmp_path)
    market = LeanDataMarket(root, roots=())
    assert market.vix_series is None and market.snapshot_at(datetime(2024, 1, 2, 10, 0)).vix is None
    (root / "index/usa/minute/vix").mkdir(parents=True)
    _zip(root / "index/usa/minute/vix/20240102_trade.zip",
         {"v.csv": "30600000,13,13,13,13.1,0\n30660000,13.1,13.4,13.1,13.3,0\n"})  # fmt: skip
    (root / "index/usa/daily").mkdir(parents=True)
    _zip(root / "index/usa/daily/vix.zip", {"vix.csv": "20240101 00:00,12,12,12,12.5,0\n"
                                            "20240102 00:00,13,14,13,13.9,0\n"})  # fmt: skip
    market = LeanDataMarket(root, roots=(), vix=99.0)
    assert market.snapshot_at(datetime(2024, 1, 2, 9, 31)).vix == 13.1  # the 09:30 bar ended at 09:31
    assert market.snapshot_at(datetime(2024, 1, 2, 9, 32)).vix == 13.3
    assert market.vix_series is not None
    assert market.vix_series.at(datetime(2024, 1, 3, 11, 0)) == 13.9  # no minute file: last daily close
    assert market.vix_series.at(datetime(2024, 1, 2, 11, 0)) == 13.3


def test_a_lean_run_needs_vix_data_or_an_explicit_constant(tmp_path, capsys):
    root = _folder(tmp_path)
    rc, _, err = _run(tmp_path, root, capsys=capsys)
    assert rc == 2 and err.count("\n") == 1 and "has no VIX series" in err and "pass --vix N" in err
    rc, out, _ = _run(tmp_path, root, "--vix", "20", capsys=capsys)
    assert rc == 0 and "VIX constant 20" in out


def test_missing_and_empty_sessions_are_reported_not_silently_skipped(tmp_path, capsys):
    root = _folder(tmp_path)
    rc, out, _ = _run(tmp_path, root, "--vix", "20", capsys=capsys)
    assert rc == 0
    run = json.loads((tmp_path / "out/run.json").read_text())
    assert run["market"]["missing_sessions"] == {
        "2024-01-03": "empty file 20240103_trade.zip",
        "2024-01-04": "no SPX minute file",
        "2024-01-05": "no SPX minute file",
    }
    assert run["market"]["sessions_with_data"] == ["2024-01-02"]
    assert "missing sessions: 3" in out
    summary = " ".join((tmp_path / "out/summary.txt").read_text().split())  # long values wrap
    assert "3 missing sessions: 2024-01-03 (empty file 20240103_trade.zip)" in summary
    assert run["outcome"]["closed_trades"] == 0 and run["outcome"]["why_nothing_traded"]
    assert "why nothing traded " + run["outcome"]["why_nothing_traded"][0] in summary


def _break_mhdb(root: Path, entries: object) -> None:
    (root / "market-hours/market-hours-database.json").write_text(json.dumps({"entries": entries}))


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (lambda r: (r / "index/usa/minute/spx/20240102_trade.zip").write_bytes(b"\x8f random bytes" * 50),
         "20240102_trade.zip: not a readable zip archive"),
        (lambda r: (r / "index/usa/minute/spx/20240102_trade.zip").write_bytes(
            (r / "index/usa/minute/spx/20240102_trade.zip").read_bytes()[:40]), "20240102_trade.zip: not a readable zip"),
        (lambda r: _zip(r / "index/usa/minute/spx/20240102_trade.zip", {"x.csv": BAR + "30660000,47x0,1,1,1,0\n"}),
         "line 2: field 2 is not a number"),
        (lambda r: _zip(r / "index/usa/minute/spx/20240102_trade.zip", {"x.csv": BAR.replace("306", "307") + BAR}),
         "line 2: time 30600000 is not a ms-of-day at or after the previous row"),
        (lambda r: _break_mhdb(r, []), "market-hours-database.json: not a market-hours database"),
        (lambda r: _break_mhdb(r, {"Index-usa-[*]": {"dataTimeZone": 5, "exchangeTimeZone": "America/Chicago"}}),
         "entry Index-usa-[*]: dataTimeZone should be a time zone name, found 5"),
        (lambda r: _break_mhdb(r, {"Index-usa-[*]": {"dataTimeZone": "Mars/Olympus", "exchangeTimeZone": "UTC"}}),
         "'Mars/Olympus' is not a known time zone"),
        (lambda r: _break_mhdb(r, {"Index-usa-[*]": {"dataTimeZone": "UTC", "exchangeTimeZone": "UTC",
                                                     "monday": "09:30"}}), "monday should be a list of segments"),
    ],
)  # fmt: skip
def test_bad_files_stop_the_run_with_one_line_naming_file_and_problem(tmp_path, capsys, damage, problem):
    root = _folder(tmp_path)
    damage(root)
    rc, _, err = _run(tmp_path, root, "--vix", "20", capsys=capsys)
    lines = [line for line in err.splitlines() if not line.startswith("backtest: ")]  # progress lines
    assert rc == 2 and "Traceback" not in err
    assert len(lines) == 1 and lines[0].startswith("error: ") and problem in lines[0]


def test_mhdb_entries_are_type_checked_when_used(tmp_path):
    root = _mini_data_root(tmp_path)
    _break_mhdb(root, {"Index-usa-[*]": {"dataTimeZone": "UTC", "exchangeTimeZone": "UTC",
                                         "monday": [{"start": 930, "end": "16:00:00", "state": "market"}]}})  # fmt: skip
    db = MarketHoursDatabase(root / "market-hours/market-hours-database.json")
    with pytest.raises(LeanDataError, match=r"monday segment .* should have start, end and state strings"):
        db.entry("index", "usa", "SPX")


@pytest.mark.parametrize("step", ["0", "-5", "100000", "five"])
def test_step_sizes_that_would_never_finish_are_rejected_in_one_line(tmp_path, step):
    root = _folder(tmp_path)
    cmd = [
        sys.executable,
        "-m",
        "sim",
        "backtest",
        "--quiet",
        "--data",
        str(root),
        "--vix",
        "20",
        "--start",
        "2024-01-02",
        "--end",
        "2024-01-02",
        "--out",
        str(tmp_path / "out"),
        "--step-minutes",
        step,
    ]
    done = subprocess.run(
        cmd, capture_output=True, text=True, timeout=120, check=False
    )  # 0 used to loop forever
    assert done.returncode == 2
    assert "--step-minutes" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.skipif(
    not LEAN.is_dir(), reason="shared LEAN data not present (a user's clone has no ../shared)"
)
def test_the_readme_example_says_why_nothing_traded(tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["backtest", "--data", str(LEAN), "--start", "2021-01-04", "--end", "2021-01-14",
               "--vix", "25", "--out", str(out)])  # fmt: skip
    text = capsys.readouterr().out
    assert rc == 0
    run = json.loads((out / "run.json").read_text())
    assert run["market"]["source"] == "lean_data" and len(run["market"]["missing_sessions"]) == 7
    reasons = run["outcome"]["why_nothing_traded"]
    assert any("SPY" in r and "it has SPXW, SPX" in r for r in reasons)
    assert any("Mon 2021-01-04, Thu 2021-01-14" in r for r in reasons)
    assert "nothing traded: " in text


def test_zip_members_of_empty_days_are_checked_without_reading_the_data(tmp_path):
    root = _folder(tmp_path)
    with zipfile.ZipFile(root / "index/usa/minute/spx/20240103_trade.zip") as zf:
        assert zf.namelist() == ["x.csv"]
    market = LeanDataMarket(root, roots=())
    assert date(2024, 1, 3) in market.trading_days()  # the raw reader lists it; the run leaves it out
