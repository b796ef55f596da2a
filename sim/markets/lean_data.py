"""LEAN's on-disk ``Data/`` format, read exactly as LEAN writes it (``lean data download``).

Why: the offline engine should run on the same files LEAN backtests on, and a bad file must stop
the run with ``LeanDataError`` (file, zip member, line, problem) rather than be skipped.
``sim.markets.lean_market.LeanDataMarket`` builds market snapshots on top of this module (and is
re-exported here, lazily, as ``sim.markets.lean_data.LeanDataMarket``: the name the CLI imports).

Format facts, each checked against LEAN's own sample data (see the tests):

* Minute rows start with milliseconds since midnight in the data time zone of the market-hours
  database: Index-usa-SPX America/Chicago (SPX bars start 08:30 = 09:30 New York), equity,
  option and index option America/New_York, futures and future options UTC (a future option
  uses its future's entry).  A bar's time is its START: a minute bar stamped 09:31 covers
  09:31-09:32 and is only known at 09:32.
* Trade bars ``time,open,high,low,close,volume``; quote bars ``time,bidopen,bidhigh,bidlow,
  bidclose,bidsize,askopen,askhigh,asklow,askclose,asksize`` (empty price fields = that side had
  no quote); open interest ``time,value``.  Daily/hour rows start ``yyyyMMdd HH:mm`` instead.
* Prices are integers x 10000 in equity, option and index option files; index, future and future
  option prices are written as plain decimals.  Sizes, volumes and open interest are never scaled.
* Option zips ``{yyyyMMdd}_{quote|trade|openinterest}_{american|european}.zip`` hold one member
  per contract ``{date}_{ticker}_{res}_{ticktype}_{style}_{call|put}_{strike x 10000}_{expiry}.csv``;
  future zips ``{date}_{quote|trade|openinterest}.zip`` hold ``{date}_{ticker}_{res}_{ticktype}_{yyyyMM}.csv``;
  future option folders are per underlying contract month (``futureoption/cme/minute/es/202003``).
* Universe CSVs (``*/universes/...``) have a ``#``-prefixed header, decimal (unscaled) prices and,
  for equity / index options, LEAN's implied volatility and Greeks.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from sim.markets.lean_errors import LeanDataError

log = logging.getLogger("sim.markets.lean_data")

MS_PER_DAY = 86_400_000
_STRIDE = 2 * MS_PER_DAY
TRADE_COLUMNS = ("open", "high", "low", "close", "volume")
QUOTE_COLUMNS = (
    *("bid_open", "bid_high", "bid_low", "bid_close", "bid_size"),
    *("ask_open", "ask_high", "ask_low", "ask_close", "ask_size"),
)
OPEN_INTEREST_COLUMNS = ("open_interest",)
COLUMNS = {"trade": TRADE_COLUMNS, "quote": QUOTE_COLUMNS, "openinterest": OPEN_INTEREST_COLUMNS}
_SIZE_COLUMNS = {"volume", "bid_size", "ask_size", "open_interest"}

# folder name -> (market-hours database type name, price scale in minute/hour/daily files)
ASSET_CLASSES: dict[str, tuple[str, float]] = {
    "equity": ("Equity", 10_000.0),
    "option": ("Option", 10_000.0),
    "indexoption": ("IndexOption", 10_000.0),
    "index": ("Index", 1.0),
    "future": ("Future", 1.0),
    "futureoption": ("FutureOption", 1.0),
}


# ------------------------------------------------------------------------------- file names


class OptionEntry(NamedTuple):
    member: str
    ticker: str
    tick_type: str
    style: str  # "american" | "european"
    right: str  # "C" | "P"
    strike: float
    expiry: date


_OPTION_ENTRY = re.compile(
    r"^\d{8}_([a-z0-9.]+)_(?:minute|second|tick)_(quote|trade|openinterest)_(american|european)_"
    r"(call|put)_(-?\d+)_(\d{8})\.csv$"
)
_FUTURE_ENTRY = re.compile(
    r"^\d{8}_([a-z0-9.]+)_(?:minute|second|tick)_(quote|trade|openinterest)_(\d{6})(?:_\d{8})?\.csv$"
)
_DAY_ZIP = re.compile(r"^(\d{8})_(quote|trade|openinterest)(?:_(american|european))?\.zip(\.zip)?$")
MONTH_CODES = "FGHJKMNQUVXZ"


def yyyymmdd(text: str) -> date:
    return date(int(text[:4]), int(text[4:6]), int(text[6:8]))


def parse_option_entry(path: Path, member: str) -> OptionEntry:
    m = _OPTION_ENTRY.match(member)
    if m is None:
        raise LeanDataError(path, "not a LEAN option entry name", member=member)
    ticker, tick, style, right, strike, expiry = m.groups()
    return OptionEntry(member, ticker, tick, style, right[0].upper(), int(strike) / 10_000, yyyymmdd(expiry))


def parse_future_entry(path: Path, member: str) -> tuple[str, str]:
    """(ticker, contract month ``yyyyMM``) of a future zip member."""
    m = _FUTURE_ENTRY.match(member)
    if m is None:
        raise LeanDataError(path, "not a LEAN future entry name", member=member)
    return m.group(1), m.group(3)


def future_key(ticker: str, yyyymm: str) -> str:
    """LEAN/CME contract key: ``ES`` + ``202003`` -> ``ESH20``."""
    return f"{ticker.upper()}{MONTH_CODES[int(yyyymm[4:6]) - 1]}{yyyymm[2:4]}"


@dataclass(frozen=True)
class DayFile:
    day: date
    tick_type: str
    path: Path


def list_day_files(folder: Path) -> list[DayFile]:
    """The per-day zips of one ticker folder.  LEAN names them ``.zip``; a ``.zip.zip`` (found in
    LEAN's own sample) is accepted with a warning when there is no ``.zip`` of the same name."""
    if not folder.is_dir():
        return []
    found: dict[tuple[date, str], Path] = {}
    doubled: list[Path] = []
    for p in sorted(folder.iterdir()):
        m = _DAY_ZIP.match(p.name)
        if m is None:
            continue
        key = (yyyymmdd(m.group(1)), m.group(2))
        if m.group(4):
            doubled.append(p)
            found.setdefault(key, p)
        else:
            found[key] = p
    for p in doubled:
        log.warning("%s is named .zip.zip; read as a plain zip (rename it to .zip)", p)
    return [DayFile(day, tick, path) for (day, tick), path in sorted(found.items())]


# ------------------------------------------------------------------------------------- bars


@dataclass(frozen=True)
class Bars:
    """Rows of several zip members (one series each), concatenated in member order.

    ``time_ms`` is the bar START in ms since midnight (data time zone); ``offsets[i]:offsets[i+1]``
    are member ``i``'s rows; prices already divided by the file's scale.
    """

    path: Path
    members: tuple[str, ...]
    columns: tuple[str, ...]
    offsets: np.ndarray
    time_ms: np.ndarray
    values: np.ndarray
    keys: np.ndarray  # member index * 2 days + time_ms: one sorted array for vectorised lookups

    def column(self, name: str) -> np.ndarray:
        return self.values[:, self.columns.index(name)]

    def latest(self, cutoff_ms: int, period_ms: int) -> np.ndarray:
        """Per member, the row of the last bar that ENDED at or before ``cutoff_ms`` (-1: none)."""
        n = len(self.members)
        if n == 0:
            return np.empty(0, dtype=np.int64)
        query = np.arange(n, dtype=np.int64) * _STRIDE + (cutoff_ms - period_ms)
        pos = np.searchsorted(self.keys, query, side="right") - 1
        return np.where(pos >= self.offsets[:-1], pos, -1)

    def cumulative(self, name: str, rows: np.ndarray) -> np.ndarray:
        """Per member, the sum of ``name`` from its first row through ``rows`` (0 where row < 0)."""
        cum = np.concatenate([[0.0], np.cumsum(np.nan_to_num(self.column(name)))])
        safe = np.where(rows >= 0, rows + 1, self.offsets[:-1])
        return cum[safe] - cum[self.offsets[:-1]]


_NAMES: OrderedDict[Path, tuple[str, ...]] = OrderedDict()
_BARS: OrderedDict[tuple[Path, str, tuple[str, ...] | None, float], Bars] = OrderedDict()
_CACHE_SIZE = 32  # parsed files can be tens of MB each


def _cached(cache: OrderedDict, key, build):  # type: ignore[no-untyped-def]
    if key in cache:
        cache.move_to_end(key)
        return cache[key]
    value = cache[key] = build()
    if len(cache) > _CACHE_SIZE:
        cache.popitem(last=False)
    return value


def _open_zip(path: Path) -> zipfile.ZipFile:
    if not path.is_file():
        raise LeanDataError(path, "file not found")
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise LeanDataError(path, f"not a readable zip archive ({exc})") from exc


def zip_members(path: Path) -> tuple[str, ...]:
    def build() -> tuple[str, ...]:
        with _open_zip(path) as zf:
            return tuple(zf.namelist())

    return _cached(_NAMES, path, build)


def read_bars(path: Path, tick_type: str, scale: float, members: tuple[str, ...] | None = None) -> Bars:
    """Minute/second rows of ``members`` (default: all) of one zip; cached per file and selection."""
    return _cached(
        _BARS, (path, tick_type, members, scale), lambda: _read_bars(path, tick_type, scale, members)
    )


def _read_bars(path: Path, tick_type: str, scale: float, members: tuple[str, ...] | None) -> Bars:
    columns = COLUMNS[tick_type]
    with _open_zip(path) as zf:
        names = tuple(zf.namelist()) if members is None else members
        parts = []
        for name in names:
            if name.endswith(".zip"):
                raise LeanDataError(path, "nested zip archives are not LEAN's format", member=name)
            try:
                parts.append(zf.read(name).strip())
            except KeyError:
                raise LeanDataError(path, "member not in archive", member=name) from None
            except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
                raise LeanDataError(path, f"cannot decompress ({exc})", member=name) from exc
    rows = np.array([p.count(b"\n") + 1 if p else 0 for p in parts], dtype=np.int64)
    commas = np.array([p.count(b",") for p in parts], dtype=np.int64)
    if np.any(commas != rows * len(columns)):  # cheap C-level check for short / long / blank rows
        _raise_problem(path, names, parts, len(columns), "field count")
    offsets = np.concatenate([[0], np.cumsum(rows)])
    if offsets[-1] == 0:
        empty = np.empty(0, np.int64)
        return Bars(path, names, columns, offsets, empty, np.empty((0, len(columns))), empty)
    try:
        frame = pd.read_csv(io.BytesIO(b"\n".join(p for p in parts if p)), header=None, dtype=np.float64)
    except (ValueError, pd.errors.ParserError) as exc:
        _raise_problem(path, names, parts, len(columns), str(exc))
        raise  # unreachable: _raise_problem always raises
    values = frame.to_numpy(dtype=np.float64)
    if len(values) != offsets[-1]:
        raise LeanDataError(path, f"parsed {len(values)} rows, expected {offsets[-1]}")
    stamp = values[:, 0]
    bad = ~np.isfinite(stamp) | (stamp < 0) | (stamp >= MS_PER_DAY) | (stamp != np.floor(stamp))
    member_of = np.repeat(np.arange(len(names)), rows)
    first_row = offsets[member_of]
    bad[1:] |= (np.diff(stamp) < 0) & (member_of[1:] == member_of[:-1])
    if bad.any():
        i = int(np.argmax(bad))
        problem = f"time {float(stamp[i]):.0f} is not a ms-of-day at or after the previous row"
        raise LeanDataError(path, problem, member=names[member_of[i]], line=int(i - first_row[i] + 1))
    data = values[:, 1:].copy()
    for j, col in enumerate(columns):
        if col not in _SIZE_COLUMNS and scale != 1.0:
            data[:, j] /= scale
    time_ms = stamp.astype(np.int64)
    keys = member_of.astype(np.int64) * _STRIDE + time_ms
    for array in (offsets, time_ms, data, keys):
        array.flags.writeable = False  # shared through the cache
    return Bars(path, names, columns, offsets, time_ms, data, keys)


def _first_problem(part: bytes, ncols: int) -> tuple[int, str] | None:
    """Slow path, only after a fast check failed: the first bad line and what is wrong with it."""
    for i, raw in enumerate(part.decode("ascii", "replace").splitlines(), start=1):
        fields = raw.strip().split(",")
        if len(fields) != ncols + 1:
            return i, f"expected {ncols + 1} comma-separated fields, found {len(fields)}: {raw!r}"
        for j, field in enumerate(fields):
            if field or j == 0:  # an empty price is LEAN's "no quote on this side"; time is required
                try:
                    float(field)
                except ValueError:
                    return i, f"field {j + 1} is not a number: {field!r}"
    return None


def _raise_problem(path: Path, names: tuple[str, ...], parts: list[bytes], ncols: int, why: str) -> None:
    for name, part in zip(names, parts, strict=True):
        found = _first_problem(part, ncols)
        if found is not None:
            raise LeanDataError(path, found[1], member=name, line=found[0])
    raise LeanDataError(path, f"malformed rows ({why})")


def read_dated_bars(path: Path, tick_type: str, scale: float) -> pd.DataFrame:
    """Daily / hour zips (``yyyyMMdd HH:mm,...``): a frame indexed by bar start (data time zone)."""
    columns = COLUMNS[tick_type]
    with _open_zip(path) as zf:
        names = zf.namelist()
        if len(names) != 1:
            raise LeanDataError(path, f"expected one csv member, found {names}")
        text = zf.read(names[0])
    try:
        frame = pd.read_csv(io.BytesIO(text), header=None, names=["time", *columns])
        frame.index = pd.to_datetime(frame.pop("time"), format="%Y%m%d %H:%M")
        frame = frame.astype(np.float64)
    except (ValueError, pd.errors.ParserError) as exc:
        raise LeanDataError(path, f"cannot parse dated bars ({exc})", member=names[0]) from exc
    if bool(frame.isna().to_numpy().all(axis=1).any()):
        raise LeanDataError(path, "row with no values", member=names[0])
    prices = [c for c in columns if c not in _SIZE_COLUMNS]
    frame[prices] = frame[prices] / scale
    return frame


def local_ms(moment: datetime) -> tuple[date, int]:
    """(day, ms since midnight) of a naive local datetime."""
    return moment.date(), (
        moment.hour * 3600 + moment.minute * 60 + moment.second
    ) * 1000 + moment.microsecond // 1000


_REFERENCE = ("MarketHoursDatabase", "SymbolProperties", "InterestRates", "read_universe", "MapRow", "FactorRow",
              "read_map_file", "read_factor_file")  # fmt: skip


def __getattr__(name: str):  # type: ignore[no-untyped-def]
    """``from sim.markets.lean_data import LeanDataMarket`` (the engine's entry point) and the reference
    databases (``sim.markets.lean_reference``) by their old address, without an import cycle."""
    if name == "LeanDataMarket":
        from sim.markets.lean_market import LeanDataMarket

        return LeanDataMarket
    if name in _REFERENCE:
        from sim.markets import lean_reference

        return getattr(lean_reference, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
