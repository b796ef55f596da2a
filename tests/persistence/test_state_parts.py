"""One corruption policy for every part of the system's state: a part whose saved value does not
decode to its type (checksum valid, types wrong) is quarantined, the system fails closed (safe
mode: no entries), a critical alert says so, the bad bytes are kept, and every other part is
restored as saved.  Run over the parts of the assembled system, so a new part is covered too."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from assembly import build_system
from core.ports import Severity, StatePart
from core.settings import Settings
from persistence.codec import decode, encode
from persistence.manager import StateManager
from persistence.schema import SCHEMA_VERSION
from sim.calendar import ExchangeCalendar
from sim.engine import RunResult, run_backtest
from sim.markets.synthetic import SyntheticConfig, SyntheticMarket
from sim.recorder import RunLogState, RunRecorder
from sim.store import MemoryStore

START, END = date(2025, 1, 2), date(2025, 1, 10)
SNAPSHOT = "state/snapshot"
EVERY_PART = ("book", "pauses", "decisions", "execution", "risk", "quotes", "run_log", "persistence")


@pytest.fixture(scope="module")
def finished() -> tuple[RunResult, MemoryStore]:
    settings = Settings().with_overrides(start_date=START.isoformat(), end_date=END.isoformat())
    calendar = ExchangeCalendar(START - timedelta(days=7), END + timedelta(days=800))
    market = SyntheticMarket(SyntheticConfig(seed=7, start=START, end=END), calendar)
    store = MemoryStore()
    result = run_backtest(settings, market, calendar, store, RunRecorder())
    assert result.system is not None and result.system.book.live(), "the run must hold positions"
    return result, store


def _copy(store: MemoryStore) -> MemoryStore:
    copy = MemoryStore()
    copy.data.update(store.data)
    return copy


def _restart(result: RunResult, store: MemoryStore):  # type: ignore[no-untyped-def]
    """A new process on the finished run's platform (same broker, same holdings) and ``store``."""
    assert result.platform is not None
    recorder = RunRecorder()
    system = build_system(
        result.platform, result.system.settings if result.system else Settings(), recorder,
        state=StateManager(store), parts=(StatePart("run_log", RunLogState, recorder),),
    )  # fmt: skip
    alerts_before = len(result.platform.alerts)
    system.start()
    return system, result.platform.alerts[alerts_before:]


def test_every_part_of_the_system_is_covered(finished):  # type: ignore[no-untyped-def]
    result, store = finished
    _, body = decode(store.data[SNAPSHOT], "snapshot", SCHEMA_VERSION)
    assert set(body["parts"]) == set(EVERY_PART)
    again, alerts = _restart(result, _copy(store))
    assert not again.pauses, f"the saved state restarts clean: {again.pauses.describe()} {alerts}"


@pytest.mark.parametrize("part", EVERY_PART)
def test_a_part_of_the_wrong_type_is_quarantined_and_fails_closed(finished, part):  # type: ignore[no-untyped-def]
    result, saved = finished
    store = _copy(saved)
    _, body = decode(store.data[SNAPSHOT], "snapshot", SCHEMA_VERSION)
    body["parts"][part] = ["not", "a", part]  # a valid document whose part is not its type
    bad = encode("snapshot", SCHEMA_VERSION, body)
    store.data[SNAPSHOT] = bad
    system, alerts = _restart(result, store)

    assert system.pauses.has("persistence", "safe_mode"), "fails closed: no entries"
    assert "state_invalid_types" in str(system.pauses.reasons)
    critical = [f"{title}: {message}" for _, sev, title, message in alerts if sev is Severity.CRITICAL]
    assert any(part in text and "operator_ack" in text for text in critical), critical
    kept = [v for k, v in store.data.items() if "/quarantine/" in k]
    assert bad in kept, "the bad bytes are kept aside, unchanged"
    if part != "book":  # what decodes is restored: exits keep managing the book
        groups = sorted(g.group_id for g in system.book.live())
        assert groups == sorted(g.group_id for g in result.system.book.live())
