"""Exchange hours and time zones as LEAN has them, read from LEAN's own market-hours-database.json.

Mirrors Common/Securities/MarketHoursDatabase.cs (entry lookup), Common/Util/
MarketHoursDatabaseJsonConverter.cs (how holidays and early closes are inherited) and
Common/Securities/SecurityExchangeHours.cs + LocalMarketHours.cs (the queries).  Every query takes
and returns *exchange-local* naive datetimes, as LEAN's do.  Only the regular session is modelled
exactly (the adapter never asks for extended hours); extended segments are listed but never merged
across midnight as LEAN's continuity rule would.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[2]
DATABASE = ROOT.parent / "shared" / "data" / "lean" / "market-hours" / "market-hours-database.json"
MISSING = f"LEAN's market-hours-database.json is not at {DATABASE} (only beside the project's shared data)"
_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class TimeZone:
    """Stands in for NodaTime's ``DateTimeZone``: ``str()`` is the tzdb id, as its ToString()."""

    def __init__(self, tz_id: str) -> None:
        self.id = tz_id
        self.zone = ZoneInfo(tz_id)

    def __str__(self) -> str:
        return self.id

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TimeZone) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)


def convert(moment: datetime, source: TimeZone, target: TimeZone) -> datetime:
    """LEAN's ``DateTime.ConvertTo(from, to)`` (Common/Extensions.cs) on naive local times."""
    return moment.replace(tzinfo=source.zone).astimezone(target.zone).replace(tzinfo=None)


NEW_YORK = TimeZone("America/New_York")
UTC = TimeZone("UTC")


@dataclass(frozen=True)
class Segment:
    start: timedelta
    end: timedelta
    state: str  # market, premarket, postmarket


def _span(text: str) -> timedelta:
    """LEAN's TimeSpan text: ``HH:MM:SS`` or ``D.HH:MM:SS`` / ``D:HH:MM:SS``."""
    days = 0
    if text.count(":") == 3:
        d, text = text.split(":", 1)
        days = int(d)
    elif "." in text.split(":")[0]:
        d, text = text.split(".", 1)
        days = int(d)
    h, m, s = (int(x) for x in text.split(":"))
    return timedelta(days=days, hours=h, minutes=m, seconds=s)


def _day(text: str) -> date:
    m, d, y = (int(x) for x in text.split("/"))
    return date(y, m, d)


@dataclass
class SecurityExchangeHours:
    """The queries of LEAN's SecurityExchangeHours, on exchange-local times."""

    time_zone: TimeZone
    week: dict[int, tuple[Segment, ...]]  # weekday (Mon=0) -> segments
    holidays: frozenset[date] = frozenset()
    early_closes: dict[date, timedelta] = field(default_factory=dict)
    late_opens: dict[date, timedelta] = field(default_factory=dict)

    @property
    def regular_market_duration(self) -> timedelta:
        # SecurityExchangeHours.cs constructor: the most common daily market duration, ties -> longer
        counts: dict[timedelta, int] = {}
        for segs in self.week.values():
            d = sum((s.end - s.start for s in segs if s.state == "market"), timedelta())
            counts[d] = counts.get(d, 0) + 1
        return max(counts, key=lambda d: (counts[d], d))

    def segments(self, day: date) -> tuple[Segment, ...]:
        """GetMarketHours: holidays closed; early closes cut the day, late opens start it later."""
        if day in self.holidays:
            return ()
        segs = self.week.get(day.weekday(), ())
        close = self.early_closes.get(day)
        if close is not None:
            segs = tuple(Segment(s.start, min(s.end, close), s.state) for s in segs if s.start <= close)
        opened = self.late_opens.get(day)
        if opened is not None:
            segs = tuple(Segment(max(s.start, opened), s.end, s.state) for s in segs if s.end > opened)
        return tuple(s for s in segs if s.end > s.start)

    def _usable(self, day: date, extended: bool) -> list[Segment]:
        return [s for s in self.segments(day) if extended or s.state == "market"]

    def is_date_open(self, local: datetime | date, extended_market_hours: bool = False) -> bool:
        day = local.date() if isinstance(local, datetime) else local
        return bool(self._usable(day, extended_market_hours))

    def is_open(self, local: datetime, extended_market_hours: bool) -> bool:
        offset = local - datetime.combine(local.date(), time.min)
        # MarketHoursSegment.Contains: start <= t < end
        return any(s.start <= offset < s.end for s in self._usable(local.date(), extended_market_hours))

    def get_next_market_open(self, local: datetime, extended_market_hours: bool) -> datetime:
        for i in range(15):
            day = local.date() + timedelta(days=i)
            for s in self._usable(day, extended_market_hours):
                start = datetime.combine(day, time.min) + s.start
                if start > local:
                    return start
        raise ValueError("Unable to locate next market open within two weeks.")

    def get_next_market_close(self, local: datetime, extended_market_hours: bool) -> datetime:
        for i in range(15):
            day = local.date() + timedelta(days=i)
            for s in self._usable(day, extended_market_hours):
                end = datetime.combine(day, time.min) + s.end
                if end > local:
                    return end
        raise ValueError("Unable to locate next market close within two weeks.")

    def get_last_daily_market_close(self, local: datetime | date, extended_market_hours: bool) -> datetime:
        day = local.date() if isinstance(local, datetime) else local
        usable = self._usable(day, extended_market_hours)
        if not usable:
            raise ValueError(f"{day} has no market hours")
        return datetime.combine(day, time.min) + usable[-1].end


@dataclass(frozen=True)
class Entry:
    data_time_zone: TimeZone
    exchange_hours: SecurityExchangeHours


def _raw_entry(doc: dict) -> tuple[str, str, SecurityExchangeHours]:
    week = {
        i: tuple(Segment(_span(s["start"]), _span(s["end"]), s["state"]) for s in doc.get(name, []))
        for i, name in enumerate(_DAYS)
    }
    hours = SecurityExchangeHours(
        TimeZone(doc["exchangeTimeZone"]),
        week,
        frozenset(_day(d) for d in doc.get("holidays", [])),
        {_day(d): _span(t) for d, t in doc.get("earlyCloses", {}).items()},
        {_day(d): _span(t) for d, t in doc.get("lateOpens", {}).items()},
    )
    return doc["dataTimeZone"], doc["exchangeTimeZone"], hours


class MarketHoursDatabase:
    """LEAN's MarketHoursDatabase over ``market-hours-database.json``."""

    def __init__(self, entries: dict[str, dict]) -> None:
        self._raw = entries
        self._done: dict[str, Entry] = {}

    @staticmethod
    @cache
    def from_file(path: Path = DATABASE) -> MarketHoursDatabase:
        return MarketHoursDatabase(json.loads(path.read_text())["entries"])

    def _convert(self, key: str) -> Entry:
        """MarketHoursDatabaseJsonConverter.Convert: a day list of its own; holidays / early closes
        / late opens from the underlying's entry when it has none; then holidays unioned with the
        market's common ``[*]`` entry and its early closes / late opens merged (specific wins)."""
        if key in self._done:
            return self._done[key]
        kind, market, symbol = key.split("-", 2)
        data_tz, _, hours = _raw_entry(self._raw[key])
        holidays, early, late = set(hours.holidays), dict(hours.early_closes), dict(hours.late_opens)
        if kind.endswith("Option") and symbol != "[*]":
            under = self._underlying_key(kind, market, symbol)
            if under is not None:
                uh = self._convert(under).exchange_hours
                holidays = holidays or set(uh.holidays)
                early = early or dict(uh.early_closes)
                late = late or dict(uh.late_opens)
        common = f"{kind}-{market}-[*]"
        if symbol != "[*]" and common in self._raw:
            ch = self._convert(common).exchange_hours
            holidays |= set(ch.holidays)
            early = {**ch.early_closes, **early}
            late = {**ch.late_opens, **late}
        hours.holidays, hours.early_closes, hours.late_opens = frozenset(holidays), early, late
        entry = Entry(TimeZone(data_tz), hours)
        self._done[key] = entry
        return entry

    def _underlying_key(self, kind: str, market: str, symbol: str) -> str | None:
        base = {"IndexOption": "Index", "Option": "Equity", "FutureOption": "Future"}[kind]
        for candidate in (f"{base}-{market}-{symbol}", f"{base}-{market}-[*]"):
            if candidate in self._raw:
                return candidate
        return None

    def get_entry(self, market: str, symbol: str, security_type: str) -> Entry:
        """MarketHoursDatabase.TryGetEntryImpl: exact key, the common ``[*]`` key, and for future
        options the future's entry (``security_type`` as LEAN names it: Index, IndexOption ...)."""
        for key in (f"{security_type}-{market}-{symbol}", f"{security_type}-{market}-[*]"):
            if key in self._raw:
                return self._convert(key)
        if security_type == "FutureOption":
            return self.get_entry(market, symbol, "Future")
        raise KeyError(f"no market hours for {security_type}-{market}-{symbol}")


def database() -> MarketHoursDatabase | None:
    """LEAN's database when the shared data is beside the project, else None (tests skip)."""
    return MarketHoursDatabase.from_file(DATABASE) if DATABASE.exists() else None
