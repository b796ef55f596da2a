"""A backtest on the synthetic market with a faulty broker ends with every multi-leg position
either whole or flat: zero residual unhedged legs, and a report of what was repaired and how.

The year-long version is ``make fault-backtest``; this one runs a few weeks at higher fault rates
so it stays quick while still seeing every kind of fault.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import date, timedelta

import pytest

from core.settings import Settings
from core.types import GroupStatus
from execution.group import GroupState
from sim.broker.faults import FaultConfig, FaultyBroker
from sim.calendar import ExchangeCalendar
from sim.engine import run_backtest
from sim.markets.synthetic import SyntheticConfig, SyntheticMarket
from sim.recorder import RunRecorder
from sim.report import summary_text, write_reports
from sim.store import MemoryStore

pytestmark = pytest.mark.slow  # two months of backtest with broker faults

START, END = date(2025, 1, 2), date(2025, 2, 28)
FAULTS = FaultConfig(partial=0.3, reject=0.08, drop=0.04, duplicate=0.05, delay=0.1, cancel_race=0.1, seed=5)


@pytest.fixture(scope="module")
def faulty_run():
    settings = Settings().with_overrides(start_date=START.isoformat(), end_date=END.isoformat())
    calendar = ExchangeCalendar(START - timedelta(days=7), END + timedelta(days=800))
    market = SyntheticMarket(SyntheticConfig(seed=7, start=START, end=END), calendar)
    return run_backtest(settings, market, calendar, MemoryStore(), RunRecorder(), faults=FAULTS)


def test_every_kind_of_fault_was_injected_and_repairs_happened(faulty_run):
    broker = faulty_run.platform.broker
    assert isinstance(broker, FaultyBroker)
    assert {"reject", "drop", "delay", "cancel_race"} <= set(broker.injected)
    assert broker.injected["partial_legs"] + broker.injected["partial_units"] > 0
    stats = faulty_run.system.executor.stats
    assert stats.counts["repairs_started"] > 0 and stats.counts["lost_orders"] > 0


def test_no_residual_unhedged_legs_and_every_group_ends_terminal_or_working(faulty_run):
    executor = faulty_run.system.executor
    assert executor.residual_exposure() == []
    for group in executor.groups.values():
        assert group.terminal or group.state in (GroupState.WORKING, GroupState.RETRY_WAIT), group.key
        assert group.repair_started is None, f"{group.key} still repairing at the end"
    assert not [r for r in executor.stats.repairs if r["past_deadline"]]


def test_broker_option_holdings_are_exactly_the_open_groups(faulty_run):
    expected: Counter[str] = Counter()
    for group in faulty_run.system.book.live():
        if group.status in (GroupStatus.OPEN, GroupStatus.CLOSING):
            for leg in group.legs:
                expected[leg.contract.symbol] += leg.ratio * group.quantity
    held = {s: h.quantity for s, h in faulty_run.platform.broker.holdings().items() if h.contract is not None}
    assert held == {s: q for s, q in expected.items() if q}


def test_the_reports_say_what_was_repaired_and_how(faulty_run, tmp_path):
    paths = write_reports(tmp_path, faulty_run)
    doc = json.loads(paths["execution"].read_text())
    assert doc["residual_unhedged"] == []
    assert doc["repairs"] and {r["how"] for r in doc["repairs"]} <= {
        "completed",
        "unwound",
        "reduced",
        "late_fill_reversed",
    }
    assert all(r["moved"] for r in doc["repairs"] if r["how"] != "late_fill_reversed")
    assert doc["faults"]["injected"]
    text = summary_text(faulty_run)
    assert re.search(r"^residual unhedged legs +0$", text, re.M) and "faults injected" in text
