"""VIX from a LEAN data folder (``index/usa/minute/vix`` or ``index/usa/daily/vix.zip``), as known at t.

Why: the strategies and the risk regime key off VIX; a LEAN-format run must use the real series
when the folder has it instead of a constant.  Same no-lookahead rule as every other bar: a minute
bar is known once it has ended; a daily bar once its session has closed, so during a session the
daily file gives the previous close.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from sim.markets.lean_data import LeanDataError, list_day_files, local_ms, read_bars, read_dated_bars
from sim.markets.lean_reference import MarketHoursDatabase

EASTERN = ZoneInfo("America/New_York")
_MINUTE_MS = 60_000
_DAILY_KNOWN = time(16, 15)  # VIX's own close


class LeanVix:
    """The VIX of one LEAN folder.  ``find`` returns None when the folder has no VIX series."""

    def __init__(self, minute: dict[date, Path], daily: Path | None, tz: ZoneInfo, where: str) -> None:
        self._minute, self._daily_path, self._tz, self.where = minute, daily, tz, where
        self._daily: tuple[np.ndarray, np.ndarray] | None = None

    @classmethod
    def find(cls, root: Path, mhdb: MarketHoursDatabase) -> LeanVix | None:
        folder = root / "index" / "usa" / "minute" / "vix"
        minute = {f.day: f.path for f in list_day_files(folder) if f.tick_type == "trade"}
        daily = root / "index" / "usa" / "daily" / "vix.zip"
        if not minute and not daily.is_file():
            return None
        tz = ZoneInfo(mhdb.data_time_zone("index", "usa", "VIX"))
        where = str(folder if minute else daily)
        return cls(minute, daily if daily.is_file() else None, tz, where)

    def at(self, t: datetime) -> float | None:
        """VIX at naive-Eastern ``t``: the latest minute bar that ended by ``t`` (that day's file), else
        the last daily close known by then."""
        local = t.replace(tzinfo=EASTERN).astimezone(self._tz).replace(tzinfo=None)
        day, ms = local_ms(local)
        path = self._minute.get(day)
        if path is not None:
            bars = read_bars(path, "trade", 1.0)
            rows = bars.latest(ms, _MINUTE_MS)
            if rows.size and rows[0] >= 0:
                return float(bars.column("close")[rows[0]])
        return self._daily_close(t)

    def _daily_close(self, t: datetime) -> float | None:
        if self._daily_path is None:
            return None
        if self._daily is None:
            frame = read_dated_bars(self._daily_path, "trade", 1.0)
            if frame.empty:
                raise LeanDataError(self._daily_path, "no rows")
            days = np.array([ts.date() for ts in frame.index], dtype="datetime64[D]")
            self._daily = (days, frame["close"].to_numpy(dtype=float))
        days, closes = self._daily
        known = t.date() if t.time() >= _DAILY_KNOWN else t.date() - timedelta(days=1)
        i = int(np.searchsorted(days, np.datetime64(known, "D"), side="right")) - 1
        return float(closes[i]) if i >= 0 else None
