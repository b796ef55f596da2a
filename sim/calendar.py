"""US equity / index option sessions for the offline engine, in naive US/Eastern datetimes.

Why: the engine asks "is it a trading day, when does it open and close" about 20k times per
backtest year, so sessions are computed once per year range from ``exchange_calendars`` (XNYS)
and answered from a dict.  ``exchange_calendars`` is imported lazily (it is not in every LEAN
image); a missing package raises ``CalendarUnavailable`` naming it.  With a ``cache_dir`` the
library's sessions are kept on disk per year and release (``sim.calendar_cache``), so a process
whose years are cached never imports the library.

Cboe index options follow the NYSE holiday schedule; on half days they stop at 12:00 Chicago =
13:00 New York.  ``CBOE_OVERRIDES`` pins the days the strategies depend on (half days and the
one-off 2025-01-09 closure) to what LEAN's market-hours database says for ``Index-usa-[*]``
(``holidays`` / ``earlyCloses`` in exchange time, America/Chicago), so an older or newer library
release can't silently move them.  With exchange_calendars 4.13.2, XNYS agrees with that LEAN
entry on every weekday of 2000-2027, so today the pins change nothing; a disagreement is logged.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time
from pathlib import Path

from sim.calendar_cache import SessionCache, Sessions

log = logging.getLogger("sim.calendar")

_EASTERN = "America/New_York"

REGULAR_OPEN = time(9, 30)
REGULAR_CLOSE = time(16, 0)
HALF_DAY_CLOSE = time(13, 0)  # LEAN Index-usa-[*] earlyCloses "12:00:00" America/Chicago

# day -> close time (US/Eastern) or None for closed.  Evidence: LEAN market-hours database,
# entry "Index-usa-[*]" (Cboe indices; index options inherit it): holidays + earlyCloses.
CBOE_OVERRIDES: dict[date, time | None] = {
    date(2023, 7, 3): HALF_DAY_CLOSE,  # earlyCloses 7/3/2023 12:00 CT
    date(2023, 11, 24): HALF_DAY_CLOSE,  # earlyCloses 11/24/2023
    date(2024, 7, 3): HALF_DAY_CLOSE,  # earlyCloses 7/3/2024
    date(2024, 11, 29): HALF_DAY_CLOSE,  # earlyCloses 11/29/2024
    date(2024, 12, 24): HALF_DAY_CLOSE,  # earlyCloses 12/24/2024
    date(2025, 1, 9): None,  # holidays 1/9/2025 (national day of mourning, President Carter)
    date(2025, 7, 3): HALF_DAY_CLOSE,  # earlyCloses 7/3/2025
    date(2025, 11, 28): HALF_DAY_CLOSE,  # earlyCloses 11/28/2025
    date(2025, 12, 24): HALF_DAY_CLOSE,  # earlyCloses 12/24/2025
    date(2026, 11, 27): HALF_DAY_CLOSE,  # earlyCloses 11/27/2026
    date(2026, 12, 24): HALF_DAY_CLOSE,  # earlyCloses 12/24/2026
}


class CalendarUnavailable(RuntimeError):
    """The optional calendar package is missing or can't build the requested range."""


def _exchange_calendars():  # type: ignore[no-untyped-def]
    try:
        import exchange_calendars
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise CalendarUnavailable(
            "the offline calendar needs the 'exchange_calendars' package (pip install exchange_calendars)"
        ) from exc
    return exchange_calendars


class ExchangeCalendar:
    """``core.ports.TradingCalendar`` for US equity / index options (XNYS + ``CBOE_OVERRIDES``).

    Sessions for ``start..end`` (widened to whole years) are built once; asking about a day
    outside that range rebuilds once for the wider range, so any date works and repeated calls
    stay O(1).  ``cache_dir``: where to keep the library's sessions between processes (None: not
    kept; ``sim.calendar_cache.default_cache_dir()`` is the user's cache folder).
    """

    def __init__(
        self, start: date, end: date, *, exchange: str = "XNYS", cache_dir: Path | None = None
    ) -> None:
        if end < start:
            raise ValueError(f"calendar range is empty: {start} .. {end}")
        self._exchange = exchange
        self._cache = None if cache_dir is None else SessionCache(cache_dir)
        self._sessions: dict[date, tuple[datetime, datetime]] = {}
        self._first = self._last = start
        self._build(date(start.year, 1, 1), date(end.year, 12, 31))

    # --- TradingCalendar ---------------------------------------------------------------------
    def is_trading_day(self, day: date) -> bool:
        return self._session(day) is not None

    def session_open(self, day: date) -> datetime | None:
        s = self._session(day)
        return None if s is None else s[0]

    def session_close(self, day: date) -> datetime | None:
        s = self._session(day)
        return None if s is None else s[1]

    def is_early_close(self, day: date) -> bool:
        s = self._session(day)
        return s is not None and s[1].time() < REGULAR_CLOSE

    # --- internals ---------------------------------------------------------------------------
    def _session(self, day: date) -> tuple[datetime, datetime] | None:
        if isinstance(day, datetime):
            day = day.date()
        if not self._first <= day <= self._last:
            self._build(min(self._first, date(day.year, 1, 1)), max(self._last, date(day.year, 12, 31)))
        return self._sessions.get(day)

    def _build(self, first: date, last: date) -> None:
        sessions = self._library_sessions(first.year, last.year)
        for day, close in CBOE_OVERRIDES.items():
            if first <= day <= last:
                _apply_override(sessions, day, close, self._exchange)
        self._sessions, self._first, self._last = sessions, first, last

    def _library_sessions(self, first_year: int, last_year: int) -> Sessions:
        """The library's sessions of whole years, from the cache where it has them."""
        if self._cache is None:
            return _from_library(self._exchange, date(first_year, 1, 1), date(last_year, 12, 31))
        cache = self._cache
        years = {y: cache.load(self._exchange, y) for y in range(first_year, last_year + 1)}
        missing = [y for y, got in years.items() if got is None]
        if missing:  # one library build for the span of the missing years
            built = _from_library(self._exchange, date(min(missing), 1, 1), date(max(missing), 12, 31))
            for y in missing:
                year = {d: s for d, s in built.items() if d.year == y}
                cache.store(self._exchange, y, year)
                years[y] = year
        return {d: s for y in sorted(years) for d, s in (years[y] or {}).items()}


def _from_library(exchange: str, first: date, last: date) -> Sessions:
    xc = _exchange_calendars()
    try:
        cal = xc.get_calendar(exchange, start=first.isoformat(), end=last.isoformat())
    except Exception as exc:  # the library raises several types for out-of-bounds ranges
        raise CalendarUnavailable(f"{exchange} sessions {first}..{last}: {exc}") from exc
    opens = cal.opens.dt.tz_convert(_EASTERN).dt.tz_localize(None)
    closes = cal.closes.dt.tz_convert(_EASTERN).dt.tz_localize(None)
    return {
        s.date(): (o.to_pydatetime(), c.to_pydatetime())
        for s, o, c in zip(cal.sessions, opens, closes, strict=True)
    }


def _apply_override(
    sessions: dict[date, tuple[datetime, datetime]], day: date, close: time | None, exchange: str
) -> None:
    current = sessions.get(day)
    if close is None:
        if current is not None:
            log.warning("%s lists %s as a session; Cboe index options were closed (override)", exchange, day)
            del sessions[day]
        return
    wanted = (datetime.combine(day, REGULAR_OPEN), datetime.combine(day, close))
    if current != wanted and day.weekday() < 5:
        log.warning("%s has %s as %s; Cboe index options: %s (override)", exchange, day, current, wanted)
        sessions[day] = wanted
