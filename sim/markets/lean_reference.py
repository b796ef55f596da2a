"""LEAN's reference files: market-hours database, symbol properties, interest rates, universe CSVs,
map and factor files.

Why: the data reader (``sim.markets.lean_data``) needs time zones, sessions and multipliers from
them; each is validated when read, so a file with the wrong shape or types stops the run with one
``LeanDataError`` line naming the file and the problem instead of a traceback later.
"""

from __future__ import annotations

import csv
import json
import re
from bisect import bisect_right
from datetime import date, time
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from sim.markets.lean_data import ASSET_CLASSES, LeanDataError, yyyymmdd


def clock_of(text: str) -> time | None:
    """A segment time as LEAN writes it ("09:30:00", also "22:0:00"), or None if it is not one."""
    try:
        h, m, sec = (int(part) for part in text.split(":"))
        return time(h, m, sec)
    except ValueError:
        return None


class MarketHoursDatabase:
    """``market-hours/market-hours-database.json``: data time zones and regular sessions."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            doc = json.loads(path.read_text())
        except FileNotFoundError:
            raise LeanDataError(path, "file not found") from None
        except (ValueError, OSError) as exc:
            raise LeanDataError(path, f"not a market-hours database ({exc})") from exc
        entries = doc.get("entries") if isinstance(doc, dict) else None
        if not isinstance(entries, dict):
            raise LeanDataError(path, "not a market-hours database: no 'entries' object")
        self.entries: dict[str, dict] = entries
        self._checked: set[str] = set()

    def entry(self, asset: str, market: str, symbol: str) -> dict:
        """LEAN's lookup: exact key, then ``[*]``; a future option falls back to its future.  An
        entry is type-checked the first time it is used."""
        kind = ASSET_CLASSES[asset][0]
        for key in (f"{kind}-{market}-{symbol.upper()}", f"{kind}-{market}-[*]"):
            if key in self.entries:
                if key not in self._checked:
                    self._check(key, self.entries[key])
                    self._checked.add(key)
                return self.entries[key]
        if asset == "futureoption":
            return self.entry("future", market, symbol)
        raise LeanDataError(self.path, f"no entry for {kind}-{market}-{symbol.upper()} or its [*]")

    def _check(self, key: str, e: object) -> None:
        def bad(problem: str) -> LeanDataError:
            return LeanDataError(self.path, f"entry {key}: {problem}")

        if not isinstance(e, dict):
            raise bad(f"expected an object, found {type(e).__name__}")
        for field in ("dataTimeZone", "exchangeTimeZone"):
            zone = e.get(field)
            if not isinstance(zone, str):
                raise bad(f"{field} should be a time zone name, found {zone!r}")
            try:
                ZoneInfo(zone)
            except (ValueError, ZoneInfoNotFoundError):
                raise bad(f"{field} {zone!r} is not a known time zone") from None
        for day in ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"):
            segments = e.get(day, [])
            if not isinstance(segments, list):
                raise bad(f"{day} should be a list of segments, found {type(segments).__name__}")
            for seg in segments:
                if not isinstance(seg, dict) or not all(
                    isinstance(seg.get(k), str) for k in ("start", "end", "state")
                ):
                    raise bad(f"{day} segment {seg!r} should have start, end and state strings")
                if clock_of(seg["start"]) is None:
                    raise bad(f"{day} segment start {seg['start']!r} is not a time of day")

    def data_time_zone(self, asset: str, market: str, symbol: str) -> str:
        return self.entry(asset, market, symbol)["dataTimeZone"]

    def regular_open(self, asset: str, market: str, symbol: str, day: date) -> tuple[str, time] | None:
        """(exchange time zone, start of the first ``market`` segment) on ``day``'s weekday."""
        e = self.entry(asset, market, symbol)
        for seg in e.get(day.strftime("%A").lower(), []):
            if seg.get("state") == "market":
                start = clock_of(seg["start"])
                if start is not None:
                    return e["exchangeTimeZone"], start
        return None


class SymbolProperties:
    """``symbol-properties/symbol-properties-database.csv``: contract multipliers."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows: dict[tuple[str, str, str], list[str]] = {}
        try:
            with path.open(newline="") as fh:
                for row in csv.reader(fh):
                    if len(row) >= 6 and not row[0].startswith("#") and row[0] != "market":
                        self.rows[(row[0].lower(), row[1].upper(), row[2].lower())] = row
        except FileNotFoundError:
            raise LeanDataError(path, "file not found") from None

    def multiplier(self, asset: str, market: str, symbol: str) -> float:
        """LEAN's lookup: exact, then ``[*]``; a future option without a row uses its future's."""
        for key in ((market, symbol.upper(), asset), (market, "[*]", asset)):
            if key in self.rows:
                try:
                    return float(self.rows[key][5])
                except ValueError:
                    raise LeanDataError(self.path, f"bad contract_multiplier for {key}") from None
        if asset == "futureoption":
            return self.multiplier("future", market, symbol)
        raise LeanDataError(self.path, f"no row for {market},{symbol},{asset} or its [*]")


class InterestRates:
    """``alternative/interest-rate/usa/interest-rate.csv`` (``DATE,rate %``), a step function."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.days: list[date] = []
        self.rates: list[float] = []
        try:
            lines = path.read_text().splitlines()
        except FileNotFoundError:
            raise LeanDataError(path, "file not found") from None
        for i, line in enumerate(lines[1:], start=2):
            if line.strip():
                try:
                    day, pct = line.split(",")
                    self.days.append(date.fromisoformat(day.strip()))
                    self.rates.append(float(pct) / 100.0)
                except ValueError:
                    raise LeanDataError(
                        path, f"expected 'yyyy-mm-dd,percent', found {line!r}", line=i
                    ) from None
        if not self.days or self.days != sorted(self.days):
            raise LeanDataError(path, "no rows, or dates out of order")

    def rate(self, day: date) -> float:
        """The rate in force on ``day`` as a decimal (5.5 % -> 0.055)."""
        i = bisect_right(self.days, day) - 1
        if i < 0:
            raise LeanDataError(self.path, f"no rate on or before {day} (first row {self.days[0]})")
        return self.rates[i]


# ------------------------------------------------------------------ universes, map, factors


def read_universe(path: Path) -> pd.DataFrame:
    """A universe CSV as LEAN writes it.  Option universes: the first row (empty expiry) is the
    underlying; ``expiry`` becomes a date (options) or stays ``yyyyMM`` text (futures)."""
    try:
        frame = pd.read_csv(path, dtype={"#expiry": str})
    except FileNotFoundError:
        raise LeanDataError(path, "file not found") from None
    except (ValueError, pd.errors.ParserError) as exc:
        raise LeanDataError(path, f"cannot parse universe ({exc})") from exc
    first = str(frame.columns[0])
    if not first.startswith("#"):
        raise LeanDataError(path, f"header should start with '#', found {first!r}", line=1)
    frame = frame.rename(columns={first: first[1:]})
    if "strike" in frame.columns:
        frame["expiry"] = [None if pd.isna(e) else yyyymmdd(e) for e in frame["expiry"]]
    return frame


class MapRow(NamedTuple):
    day: date
    ticker: str
    exchange: str


class FactorRow(NamedTuple):
    day: date
    price_factor: float
    split_factor: float
    reference_price: float


def _csv_rows(path: Path, width: int) -> list[tuple[int, list[str]]]:
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        raise LeanDataError(path, "file not found") from None
    rows = [(i, line.split(",")) for i, line in enumerate(lines, start=1) if line.strip()]
    for i, fields in rows:
        if len(fields) < width or not re.fullmatch(r"\d{8}", fields[0]):
            raise LeanDataError(path, f"expected {width} fields starting yyyyMMdd", line=i)
    return rows


def read_map_file(path: Path) -> list[MapRow]:
    """``equity/usa/map_files/{ticker}.csv``: ``yyyyMMdd,ticker[,exchange]`` (ticker from that date)."""
    return [MapRow(yyyymmdd(f[0]), f[1], f[2] if len(f) > 2 else "") for _, f in _csv_rows(path, 2)]


def read_factor_file(path: Path) -> list[FactorRow]:
    """``equity/usa/factor_files/{ticker}.csv``: ``yyyyMMdd,price factor,split factor,reference price``."""
    try:
        return [FactorRow(yyyymmdd(f[0]), *map(float, f[1:4])) for _, f in _csv_rows(path, 4)]
    except ValueError as exc:
        raise LeanDataError(path, f"bad factor ({exc})") from exc
