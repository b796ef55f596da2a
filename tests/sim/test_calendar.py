"""Exchange calendar: holidays, half days, normal days, weekends, range growth, LEAN agreement."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest

from sim.calendar import CBOE_OVERRIDES, CalendarUnavailable, ExchangeCalendar

LEAN = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "lean"
needs_data = pytest.mark.skipif(
    not LEAN.is_dir(), reason="shared LEAN data not present (a user's clone has no ../shared)"
)


@pytest.fixture(scope="module")
def cal() -> ExchangeCalendar:
    return ExchangeCalendar(date(2024, 1, 1), date(2024, 12, 31))


@pytest.mark.parametrize("day", [date(2024, 7, 4), date(2024, 3, 29), date(2024, 12, 25), date(2024, 1, 1)])
def test_holidays_are_closed(cal, day):
    assert not cal.is_trading_day(day)
    assert cal.session_open(day) is None and cal.session_close(day) is None
    assert not cal.is_early_close(day)


@pytest.mark.parametrize("day", [date(2024, 11, 29), date(2024, 12, 24), date(2024, 7, 3)])
def test_half_days_close_at_13(cal, day):
    assert cal.is_trading_day(day) and cal.is_early_close(day)
    assert cal.session_open(day) == datetime.combine(day, time(9, 30))
    assert cal.session_close(day) == datetime.combine(day, time(13, 0))


def test_normal_day_and_weekend(cal):
    day = date(2024, 5, 6)
    assert cal.is_trading_day(day) and not cal.is_early_close(day)
    assert (cal.session_open(day), cal.session_close(day)) == (
        datetime(2024, 5, 6, 9, 30),
        datetime(2024, 5, 6, 16),
    )
    for weekend in (date(2024, 7, 6), date(2024, 7, 7)):
        assert not cal.is_trading_day(weekend) and cal.session_close(weekend) is None


def test_days_outside_the_range_extend_it():
    cal = ExchangeCalendar(date(2024, 3, 1), date(2024, 3, 31))
    assert cal.session_close(date(2019, 12, 24)) == datetime(2019, 12, 24, 13)
    assert not cal.is_trading_day(date(2025, 1, 9))  # national day of mourning
    assert cal.is_trading_day(date(2024, 3, 28))


def test_lookups_inside_the_built_range_never_ask_the_library_again(monkeypatch):
    """Sessions are built once: the engine asks about every step's day, so a lookup must be a
    table read, not a library call (the library made unreachable after construction)."""
    cal = ExchangeCalendar(date(2024, 1, 1), date(2024, 12, 31))
    monkeypatch.setitem(sys.modules, "exchange_calendars", None)  # any further build would fail
    days = [date(2024, 1, 1) + timedelta(days=i) for i in range(366)]
    assert sum(cal.is_trading_day(d) for d in days) == 252
    assert all((cal.session_close(d) is not None) == cal.is_trading_day(d) for d in days)


def test_missing_package_is_named(monkeypatch):
    monkeypatch.setitem(sys.modules, "exchange_calendars", None)  # makes the import fail
    with pytest.raises(CalendarUnavailable, match="exchange_calendars"):
        ExchangeCalendar(date(2024, 1, 1), date(2024, 1, 31))


@needs_data
def test_sessions_agree_with_lean_cboe_index_hours():
    """Every weekday 2000-2027 against LEAN's Index-usa-[*] entry (times in Chicago, +1 h = New York)."""
    entry = json.loads((LEAN / "market-hours/market-hours-database.json").read_text())["entries"][
        "Index-usa-[*]"
    ]
    parse = lambda s: datetime.strptime(s, "%m/%d/%Y").date()  # noqa: E731
    holidays = {parse(d) for d in entry["holidays"]}
    early = {parse(d): time(int(t[:2]) + 1, int(t[3:5])) for d, t in entry["earlyCloses"].items()}
    for day, close in CBOE_OVERRIDES.items():  # the override table is exactly LEAN's evidence
        assert (day in holidays) if close is None else early[day] == close
    cal = ExchangeCalendar(date(2000, 1, 1), date(2027, 12, 31))
    day = date(2000, 1, 3)
    while day <= date(2027, 12, 31):
        if day.weekday() < 5:
            expected = None if day in holidays else datetime.combine(day, early.get(day, time(16, 0)))
            assert cal.session_close(day) == expected, day
        day += timedelta(days=1)


def _count_library_builds(monkeypatch) -> list[tuple[date, date]]:
    """Every session build asked of the exchange_calendars library (its public get_calendar)."""
    import exchange_calendars

    calls: list[tuple[date, date]] = []
    build = exchange_calendars.get_calendar

    def counted(name, *args, **kwargs):
        calls.append((date.fromisoformat(kwargs["start"]), date.fromisoformat(kwargs["end"])))
        return build(name, *args, **kwargs)

    monkeypatch.setattr(exchange_calendars, "get_calendar", counted)
    return calls


def test_cached_sessions_equal_the_library_and_skip_it_next_time(tmp_path, monkeypatch):
    uncached = ExchangeCalendar(date(2024, 1, 1), date(2026, 12, 31))
    calls = _count_library_builds(monkeypatch)
    first = ExchangeCalendar(date(2024, 1, 1), date(2026, 12, 31), cache_dir=tmp_path)
    again = ExchangeCalendar(date(2024, 1, 1), date(2026, 12, 31), cache_dir=tmp_path)
    assert calls == [(date(2024, 1, 1), date(2026, 12, 31))], "built once, then read from the cache"
    day = date(2024, 1, 1)
    while day <= date(2026, 12, 31):
        expected = (uncached.session_open(day), uncached.session_close(day))
        assert (first.session_open(day), first.session_close(day)) == expected, day
        assert (again.session_open(day), again.session_close(day)) == expected, day
        day += timedelta(days=1)
    assert not again.is_trading_day(date(2025, 1, 9)), "overrides still apply to cached sessions"
    assert again.session_close(date(2025, 11, 28)) == datetime(2025, 11, 28, 13)


def test_another_library_release_does_not_read_the_old_cache(tmp_path, monkeypatch):
    import sim.calendar_cache as cache_module

    monkeypatch.setattr(cache_module, "installed_library_version", lambda: "4.0.0")
    ExchangeCalendar(date(2025, 1, 1), date(2025, 12, 31), cache_dir=tmp_path)
    calls = _count_library_builds(monkeypatch)
    monkeypatch.setattr(cache_module, "installed_library_version", lambda: "4.0.1")
    ExchangeCalendar(date(2025, 1, 1), date(2025, 12, 31), cache_dir=tmp_path)
    assert calls == [(date(2025, 1, 1), date(2025, 12, 31))], "a new release rebuilds its sessions"
    assert len(list(tmp_path.glob("sessions-XNYS-2025-*.json"))) == 2


def test_a_corrupt_cache_file_is_logged_and_rebuilt(tmp_path, monkeypatch, caplog):
    ExchangeCalendar(date(2025, 1, 1), date(2025, 12, 31), cache_dir=tmp_path)
    (path,) = tmp_path.glob("sessions-XNYS-2025-*.json")
    doc = json.loads(path.read_text())
    doc["sessions"][10][2] = doc["sessions"][10][1]  # closes when it opens
    path.write_text(json.dumps(doc))
    calls = _count_library_builds(monkeypatch)
    cal = ExchangeCalendar(date(2025, 1, 1), date(2025, 12, 31), cache_dir=tmp_path)
    assert calls and "unreadable (bad session" in caplog.text and str(path) in caplog.text
    assert cal.session_close(date(2025, 1, 17)) == datetime(2025, 1, 17, 16)
    path.write_text("{not json")
    ExchangeCalendar(date(2025, 1, 1), date(2025, 12, 31), cache_dir=tmp_path)
    assert len(calls) == 2
    assert json.loads(path.read_text())["year"] == 2025, "the rebuilt sessions replaced the bad file"


def test_an_unwritable_cache_folder_is_logged_once_and_the_run_goes_on(tmp_path, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    cal = ExchangeCalendar(date(2024, 1, 1), date(2025, 12, 31), cache_dir=blocker / "cache")
    assert cal.is_trading_day(date(2025, 1, 17))
    assert caplog.text.count("not writable") == 1


def test_default_cache_folder():
    from sim.calendar_cache import default_cache_dir

    assert default_cache_dir({"TOMKING_CACHE_DIR": "/c"}) == Path("/c")
    assert default_cache_dir({"XDG_CACHE_HOME": "/x"}) == Path("/x/tomking")
    assert default_cache_dir({}) == Path.home() / ".cache" / "tomking"
