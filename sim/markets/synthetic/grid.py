"""The clock of the synthetic market: trading days, the price points of each session, and the two time
measures options need (calendar years for the Greeks, trading-time variance for the distribution)."""

from __future__ import annotations

import bisect
import math
from datetime import date, datetime, time, timedelta

import numpy as np

from core.ports import TradingCalendar

TRADING_DAYS = 252.0
SECONDS_PER_YEAR = 365.0 * 86400.0
_HORIZON_DAYS = 800  # furthest listing (two-year LEAPs) plus margin
_DEFAULT_CLOSE = time(16, 0)

# Intraday variance density over the session (u = share of the session's clock time gone): a floor
# plus a burst after the open and a smaller one into the close, the U-shape of SPX intraday
# volatility.  ``session_share(u)`` integrates it: the share of the session's variance done by u.
_U_BASE, _U_OPEN, _U_OPEN_DECAY, _U_CLOSE, _U_CLOSE_DECAY = 1.0, 4.0, 0.07, 1.5, 0.04


def _variance_done(u: np.ndarray) -> np.ndarray:
    return (
        _U_BASE * u
        + _U_OPEN * _U_OPEN_DECAY * -np.expm1(-u / _U_OPEN_DECAY)
        + _U_CLOSE * _U_CLOSE_DECAY * (np.exp(-(1.0 - u) / _U_CLOSE_DECAY) - math.exp(-1.0 / _U_CLOSE_DECAY))
    )


_U_TOTAL = float(_variance_done(np.asarray(1.0)))


def session_share(u: np.ndarray | float) -> np.ndarray:
    """Share of a session's variance done once a share ``u`` of its clock time has passed (0 -> 0, 1 -> 1)."""
    return _variance_done(np.clip(np.asarray(u, dtype=np.float64), 0.0, 1.0)) / _U_TOTAL


def variance_years(sessions: Sessions, day: date, done: float, expiry: date, overnight_share: float) -> float:
    """Trading-time years from a moment of ``day`` (``done`` = share of its session variance gone) to
    the close of ``expiry``: the rest of today's session plus every later overnight gap and session."""
    remaining = (1.0 - overnight_share) * (1.0 - done)
    return (remaining + sessions.days_between(day, expiry)) / TRADING_DAYS


class Sessions:
    """Trading days from ``first`` to ``last`` with their closes, asked of the calendar once.

    Listings reach two years past the run; a calendar that cannot answer that far out (it raises)
    is replaced by the weekday rule for those dates, so a short calendar never breaks a run.
    """

    def __init__(self, calendar: TradingCalendar, first: date, last: date) -> None:
        self._calendar = calendar
        self.first, self.last = first, last
        days: list[date] = []
        d = first
        while d <= last:
            if self._ask_trading(d):
                days.append(d)
            d += timedelta(days=1)
        self.days = days
        self._ordinal = {d: i for i, d in enumerate(days)}
        self._closes: dict[date, datetime] = {}

    def _ask_trading(self, d: date) -> bool:
        try:
            return bool(self._calendar.is_trading_day(d))
        except Exception:  # calendar coverage ends before the far listings: assume weekdays trade
            return d.weekday() < 5

    def is_trading(self, d: date) -> bool:
        if self.first <= d <= self.last:
            return d in self._ordinal
        return self._ask_trading(d)

    def roll_back(self, d: date) -> date:
        """``d`` if it trades, else the previous trading day (expiries on holidays move earlier)."""
        while not self.is_trading(d):
            d -= timedelta(days=1)
        return d

    def shift(self, d: date, n: int) -> date:
        """The trading day ``n`` trading days after (n > 0) or before (n < 0) the trading day ``d``."""
        i = self._ordinal.get(d)
        if i is not None and 0 <= i + n < len(self.days):
            return self.days[i + n]
        step = 1 if n > 0 else -1
        for _ in range(abs(n)):
            d += timedelta(days=step)
            while not self.is_trading(d):
                d += timedelta(days=step)
        return d

    def month_days(self, year: int, month: int) -> list[date]:
        start = date(year, month, 1)
        end = date(year + month // 12, month % 12 + 1, 1)
        lo = bisect.bisect_left(self.days, start)
        hi = bisect.bisect_left(self.days, end)
        if start >= self.first and end <= self.last:
            return self.days[lo:hi]
        out, d = [], start
        while d < end:
            if self.is_trading(d):
                out.append(d)
            d += timedelta(days=1)
        return out

    def days_between(self, d: date, e: date) -> int:
        """Trading days in (d, e]: how many full days of variance lie between two sessions."""
        i, j = self._ordinal.get(d), self._ordinal.get(e)
        if i is not None and j is not None:
            return j - i
        return bisect.bisect_right(self.days, e) - bisect.bisect_right(self.days, d)

    def close(self, d: date) -> datetime:
        """When options expiring on ``d`` stop trading: the session close (13:00 on early closes)."""
        c = self._closes.get(d)
        if c is None:
            try:
                c = self._calendar.session_close(d)
            except Exception:  # beyond calendar coverage
                c = None
            c = c if c is not None else datetime.combine(d, _DEFAULT_CLOSE)
            self._closes[d] = c
        return c


class TimeGrid:
    """Every price point of the run: each trading day's open, then its step times to the close, with
    the share of the session's clock (``elapsed``) and of its variance (``done``, the U-shaped
    ``session_share``) gone at each point."""

    def __init__(
        self, calendar: TradingCalendar, start: date, end: date, step_minutes: int, overnight_share: float
    ) -> None:
        self.sessions = Sessions(calendar, start - timedelta(days=10), end + timedelta(days=_HORIZON_DAYS))
        step = timedelta(minutes=step_minutes)
        times: list[datetime] = []
        elapsed: list[float] = []
        done: list[float] = []
        self.days: list[date] = []
        self.day_start: list[int] = []  # index of each day's open point
        self.opens: list[datetime] = []
        self.day_index: dict[date, int] = {}
        self.step_index: dict[datetime, int] = {}
        self.point_day: list[int] = []
        for day in self.sessions.days:
            if not start <= day <= end:
                continue
            open_, close = calendar.session_open(day), calendar.session_close(day)
            if open_ is None or close is None or close <= open_:
                continue
            session = (close - open_).total_seconds()
            k = len(self.days)
            self.day_index[day] = k
            self.days.append(day)
            self.opens.append(open_)
            self.day_start.append(len(times))
            points = [open_]
            t = open_ + step
            while t < close:
                points.append(t)
                t += step
            points.append(close)
            clock = [(p - open_).total_seconds() / session for p in points]
            shares = session_share(np.asarray(clock)).tolist()
            for j, p in enumerate(points):
                if j > 0:
                    self.step_index[p] = len(times)
                elapsed.append(clock[j])
                done.append(shares[j])
                times.append(p)
                self.point_day.append(k)
        if not self.days:
            raise ValueError(f"the calendar has no trading sessions between {start} and {end}")
        self.times = times
        self.elapsed = elapsed  # share of the session's clock time gone at each point
        self.done = done  # share of the session's variance gone at each point
        self.overnight_share = overnight_share

    def step_times(self, day: date) -> list[datetime]:
        k = self.day_index.get(day)
        if k is None:
            return []
        lo = self.day_start[k] + 1
        hi = self.day_start[k + 1] if k + 1 < len(self.days) else len(self.times)
        return self.times[lo:hi]

    def variance_time(self, point: int, expiry: date) -> float:
        """Trading-time years from a point to the close of ``expiry`` (the variance an option sees)."""
        day = self.days[self.point_day[point]]
        return variance_years(self.sessions, day, self.done[point], expiry, self.overnight_share)

    def calendar_time(self, point: int, expiry: date) -> float:
        """Calendar years from a point to the close of ``expiry``: the T of the Greeks (0 at the close)."""
        seconds = (self.sessions.close(expiry) - self.times[point]).total_seconds()
        return max(seconds, 0.0) / SECONDS_PER_YEAR
