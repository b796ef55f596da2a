"""The trading calendar from LEAN's exchange hours, in the algorithm's (New York) time.

LEAN's ``SecurityExchangeHours`` answers in the exchange's own time zone and takes exchange-local
times (Common/Securities/SecurityExchangeHours.cs); SPX trades 08:30-15:15 America/Chicago.  This
module converts both ways with the tz database (``zoneinfo``; LEAN's image has ``tzdata`` through
pandas), so core sees New York times.  It receives the hours object from ``lean_adapter.platform``
and imports nothing of LEAN.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo


@cache
def _zone(tz_id: str) -> ZoneInfo:
    return ZoneInfo(tz_id)


def convert(moment: datetime, source: str, target: str) -> datetime:
    """A naive local time of tz ``source`` as the naive local time of tz ``target``."""
    if source == target:
        return moment
    return moment.replace(tzinfo=_zone(source)).astimezone(_zone(target)).replace(tzinfo=None)


class LeanCalendar:
    """``TradingCalendar`` from one security's LEAN exchange hours (SPX), in ``algorithm_tz``."""

    def __init__(self, hours: Any, algorithm_tz: str) -> None:
        self._hours = hours
        self.exchange_tz = str(hours.time_zone)  # NodaTime DateTimeZone.ToString() is its tzdb id
        self.algorithm_tz = algorithm_tz
        self._days: dict[date, tuple[datetime | None, datetime | None, bool]] = {}

    def to_exchange(self, moment: datetime) -> datetime:
        return convert(moment, self.algorithm_tz, self.exchange_tz)

    def to_algorithm(self, moment: datetime) -> datetime:
        return convert(moment, self.exchange_tz, self.algorithm_tz)

    def _session(self, day: date) -> tuple[datetime | None, datetime | None, bool]:
        if day not in self._days:
            midnight = datetime.combine(day, time.min)  # the exchange's own date
            value: tuple[datetime | None, datetime | None, bool] = (None, None, False)
            if self._hours.is_date_open(midnight, False):
                opened = self._hours.get_next_market_open(midnight, False)
                if opened.date() == day:
                    closed = self._hours.get_next_market_close(opened, False)
                    # a session shorter than the regular one closes early (LEAN's early-close table)
                    early = closed - opened < self._hours.regular_market_duration - timedelta(minutes=1)
                    value = (self.to_algorithm(opened), self.to_algorithm(closed), early)
            self._days[day] = value
        return self._days[day]

    def is_trading_day(self, day: date) -> bool:
        return self._session(day)[0] is not None

    def session_open(self, day: date) -> datetime | None:
        return self._session(day)[0]

    def session_close(self, day: date) -> datetime | None:
        return self._session(day)[1]

    def is_early_close(self, day: date) -> bool:
        return self._session(day)[2]

    def is_open(self, moment: datetime) -> bool:
        return bool(self._hours.is_open(self.to_exchange(moment), False))
