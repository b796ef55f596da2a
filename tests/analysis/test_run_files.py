"""The raw run files the reports read: equity.csv carries the rulebook's buying-power cap of each
close (phase of the NLV bounded by the VIX regime), and an in-memory run log lands in the folder."""

from __future__ import annotations

import csv
from datetime import date, datetime

import pytest

from analysis.run_files import read_equity
from core.settings import Settings
from sim.engine import EquityPoint
from sim.recorder import RunRecorder
from sim.report import write_equity


def test_equity_rows_carry_the_cap_of_the_day(tmp_path):
    points = [
        EquityPoint(date(2025, 3, 3), 100_000.0, 90_000.0, 20_000.0, 11.0),  # phase 4, VIX < 12: 45%
        EquityPoint(date(2025, 3, 4), 60_000.0, 50_000.0, 20_000.0, 18.0),  # phase 2: 65% < 80%
        EquityPoint(date(2025, 3, 5), 100_000.0, 90_000.0, 20_000.0, None),  # unknown VIX: EXTREME 80%
    ]
    write_equity(tmp_path / "equity.csv", points, Settings())
    with (tmp_path / "equity.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["buying_power_cap"] for r in rows] == ["45000.00", "39000.00", "80000.00"]
    assert [r["vix"] for r in rows] == ["11.00", "18.00", ""]
    eq = read_equity(tmp_path / "equity.csv")
    assert eq.bp_cap == [45_000.0, 39_000.0, 80_000.0] and eq.vix == [11.0, 18.0, None]


def test_an_older_equity_file_without_the_cap_still_reads(tmp_path):
    (tmp_path / "equity.csv").write_text(
        "day,net_liquidation,cash,buying_power_used\n2025-03-03,1.0,1.0,0.0\n"
    )
    assert read_equity(tmp_path / "equity.csv").bp_cap == [None]


def test_a_run_kept_in_memory_writes_its_whole_log(tmp_path):
    recorder = RunRecorder()
    recorder.record("start", datetime(2025, 3, 3, 9, 35), {"open_groups": 0})
    recorder.record("end_of_day", datetime(2025, 3, 3, 16), {"day": "2025-03-03"})
    recorder.write_events(tmp_path / "events.jsonl")
    assert len((tmp_path / "events.jsonl").read_text().splitlines()) == 2


def test_a_closed_log_refuses_late_events(tmp_path):
    recorder = RunRecorder(tmp_path / "events.jsonl")
    recorder.close()
    with pytest.raises(RuntimeError, match="after it was closed"):
        recorder.record("start", datetime(2025, 3, 3, 9, 35), {})
