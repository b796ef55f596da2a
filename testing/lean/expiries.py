"""Futures and future-option expiries for ES, CL and GC (and their micros) as LEAN computes them.

Mirrors Common/Securities/Future/FuturesExpiryFunctions.cs (ES :152-163 quarterly HMUZ, third
Friday; CL :2254-2270 three business days before the 25th of the month before the contract month;
GC :51-59 third last business day of the contract month) and Common/Securities/FutureOption/
FuturesOptionsExpiryFunctions.cs (ES options: third Friday of the contract month, quarterly like the
future; CL options (LO): seven business days before the 26th of the month before the contract month;
GC options (OG): fourth last business day of the month before, never a Friday or the day before a
holiday; roots without an entry, such as MES/MCL/MGC, default to the future's expiry).  Business
days skip weekends and the holidays passed in (LEAN takes them from the exchange's hours).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, timedelta

from testing.lean.symbols import third_friday

QUARTERLY = {"ES", "MES"}
_MICRO_OF = {"MES": "ES", "MCL": "CL", "MGC": "GC"}


def _business(day: date, holidays: Collection[date]) -> bool:
    return day.weekday() < 5 and day not in holidays


def add_business_days(day: date, n: int, holidays: Collection[date] = ()) -> date:
    step = 1 if n > 0 else -1
    while n:
        day += timedelta(days=step)
        if _business(day, holidays):
            n -= step
    return day


def nth_last_business_day(year: int, month: int, n: int, holidays: Collection[date] = ()) -> date:
    nxt = date(year + month // 12, month % 12 + 1, 1)
    day = nxt - timedelta(days=1)
    while not _business(day, holidays):
        day -= timedelta(days=1)
    for _ in range(n - 1):
        day = add_business_days(day, -1, holidays)
    return day


def _previous(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


def future_expiry(root: str, year: int, month: int, holidays: Collection[date] = ()) -> date:
    """Last trading day of the ``root`` future of contract month ``year-month``."""
    base = _MICRO_OF.get(root, root)
    if base == "ES":
        return third_friday(year, month)
    if base == "CL":
        y, m = _previous(year, month)
        twenty_fifth = date(y, m, 25)
        back = -3 if _business(twenty_fifth, holidays) else -4
        return add_business_days(twenty_fifth, back, holidays)
    if base == "GC":
        return nth_last_business_day(year, month, 3, holidays)
    raise KeyError(f"the double knows no expiry rule for {root}")


def future_option_expiry(root: str, year: int, month: int, holidays: Collection[date] = ()) -> date:
    """Expiry of the ``root`` future option on the future of contract month ``year-month``."""
    if root in _MICRO_OF:  # no FuturesOptionsExpiryFunctions entry: the future's expiry
        return future_expiry(root, year, month, holidays)
    if root == "ES":
        return third_friday(year, month)
    y, m = _previous(year, month)
    if root == "CL":
        return add_business_days(date(y, m, 26), -7, holidays)
    if root == "GC":
        day = nth_last_business_day(y, m, 4, holidays)
        while day.weekday() == 4 or (day + timedelta(days=1)) in holidays:
            day = add_business_days(day, -1, holidays)
        return day
    raise KeyError(f"the double knows no option expiry rule for {root}")


def contract_months(root: str, first: date, last: date) -> list[tuple[int, int]]:
    """Contract months whose future still trades on ``first`` and expires by ``last``: every month
    for CL and GC, March/June/September/December for ES (FuturesExpiryFunctions: HMUZ)."""
    out = []
    y, m = first.year, first.month
    while date(y, m, 1) <= last + timedelta(days=62):
        if root not in QUARTERLY or m in (3, 6, 9, 12):
            expiry = future_expiry(root, y, m)
            if first <= expiry <= last:
                out.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out
