"""Which futures and option expiries exist on a given day.

The whole schedule is computed once for the run (expiry, first listed day, underlying key) so that
``expiries(root)`` is a filter of a short list.  Expiries on holidays roll to the previous trading day.

Simplifications, documented so nobody mistakes them for exchange rules: every option stops trading
at the session close of its expiry day (SPX monthlies are really AM-settled); ES options add
serial-month third-Friday expiries (as CME lists them) on the next quarterly future, and MES lists
exactly as ES (a tenth of its size, at the same price); crude and gold options use the futures
roots ``CL`` and ``GC`` (the exchange's ``LO`` and ``OG``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sim.markets.synthetic.grid import Sessions
from sim.markets.synthetic.roots import ROOTS

MONTH_CODES = "FGHJKMNQUVXZ"


@dataclass(frozen=True)
class FutureSpec:
    key: str  # e.g. ESH26
    root: str
    last_trade: date
    listed_from: date
    multiplier: float
    tick: float
    series: str  # name of the spot path it is priced from
    carry: str  # config field (or "spx") giving F = S e^{carry T}


@dataclass(frozen=True)
class Expiry:
    expiry: date
    listed_from: date
    underlying: str


def third_friday(year: int, month: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(4 - first.weekday()) % 7 + 14)


def future_key(root: str, year: int, month: int) -> str:
    return f"{root}{MONTH_CODES[month - 1]}{year % 100:02d}"


def _months(first: date, last: date) -> list[tuple[int, int]]:
    out, y, m = [], first.year, first.month
    while date(y, m, 1) <= last:
        out.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _prev_month(y: int, m: int) -> tuple[int, int]:
    return (y - 1, 12) if m == 1 else (y, m - 1)


class Listings:
    """The futures and option expiries of the run, filtered per day on request (cached per day)."""

    def __init__(self, sessions: Sessions, start: date, end: date) -> None:
        self.sessions = sessions
        first, last = start - timedelta(days=40), end + timedelta(days=790)
        months = _months(first, last)
        self.futures = sorted(self._futures(months), key=lambda f: (f.root, f.last_trade))
        self.future_by_key = {f.key: f for f in self.futures}
        self.schedules: dict[str, list[Expiry]] = {}
        days = [d for d in sessions.days if first <= d <= last]
        for root in ("SPXW", "XSP"):
            self._add(root, self._spot_dates(days, months, daily=14, weekly=60, monthly=730, january=0))
        self._add("SPX", self._spot_dates(days, months, daily=0, weekly=0, monthly=730, january=0))
        for root in ("SPY", "QQQ", "IWM"):
            self._add(root, self._spot_dates(days, months, daily=14, weekly=60, monthly=400, january=790))
        for root in ("ES", "MES"):  # MES lists as ES does, a tenth of its size
            es = [f for f in self.futures if f.root == root]
            es_dates = self._spot_dates(days, months, daily=0, weekly=35, monthly=400, january=0)
            for f in es:  # quarterly options expire with their future
                es_dates[f.last_trade] = min(es_dates.get(f.last_trade, f.listed_from), f.listed_from)
            self._add(root, es_dates, futures=es)
        self._add_commodity_options(months)
        self._day_cache: dict[date, dict[str, tuple[Expiry, ...]]] = {}
        self._future_cache: dict[date, tuple[FutureSpec, ...]] = {}

    def _futures(self, months: list[tuple[int, int]]) -> list[FutureSpec]:
        s, out = self.sessions, []
        for y, m in months:
            if m % 3 == 0:  # ES and MES quarterly: third Friday of H/M/U/Z
                lt = s.roll_back(third_friday(y, m))
                for root, multiplier in (("ES", 50.0), ("MES", 5.0)):
                    out.append(FutureSpec(future_key(root, y, m), root, lt, lt - timedelta(days=460), multiplier,
                                          0.25, "spx", "spx"))  # fmt: skip
            py, pm = _prev_month(y, m)  # CL: 3 trading days before the 25th of the prior month
            lt = s.shift(s.roll_back(date(py, pm, 25)), -3)  # (4 before it when the 25th is a holiday)
            out.append(FutureSpec(future_key("CL", y, m), "CL", lt, lt - timedelta(days=400), 1000.0, 0.01,
                                  "cl", "cl_carry"))  # fmt: skip
            if m % 2 == 0:  # GC bimonthly: third-last trading day of the contract month
                lt = s.month_days(y, m)[-3]
                out.append(FutureSpec(future_key("GC", y, m), "GC", lt, lt - timedelta(days=430), 100.0, 0.10,
                                      "gc", "gc_carry"))  # fmt: skip
        return out

    def _add_commodity_options(self, months: list[tuple[int, int]]) -> None:
        """Monthly crude and gold options, each exercising into one future."""
        s = self.sessions
        cl_dates: dict[date, date] = {}
        cl_map: dict[date, str] = {}
        for f in self.futures:
            if f.root == "CL":
                e = s.shift(f.last_trade, -1)  # options stop one trading day before their future
                cl_dates[e], cl_map[e] = e - timedelta(days=370), f.key
        self._add("CL", cl_dates, explicit=cl_map)
        gc_dates: dict[date, date] = {}
        gc_map: dict[date, str] = {}
        for y, m in months:
            py, pm = _prev_month(y, m)
            e = s.month_days(py, pm)[-4]  # fourth-last trading day of the prior month...
            if e.weekday() == 4 or not s.is_trading(e + timedelta(days=1)):
                e = s.shift(e, -1)  # ...moved earlier off Fridays and eves of holidays
            # serial months exercise into the next even-month future
            gc_dates[e], gc_map[e] = e - timedelta(days=370), future_key("GC", y, m + m % 2)
        self._add("GC", gc_dates, explicit=gc_map)

    def _spot_dates(
        self,
        days: list[date],
        months: list[tuple[int, int]],
        *,
        daily: int,
        weekly: int,
        monthly: int,
        january: int,
    ) -> dict[date, date]:
        """Expiry -> first listed day; where categories overlap, the longest horizon wins."""
        out: dict[date, date] = {}

        def put(nominal: date, horizon: int) -> None:
            e = self.sessions.roll_back(nominal)
            listed = nominal - timedelta(days=horizon)
            out[e] = min(out.get(e, listed), listed)

        for d in days:
            if daily:
                put(d, daily)
            if weekly and d.weekday() == 4:
                put(d, weekly)
        if weekly:  # Fridays that are holidays are not trading days: add them explicitly
            d = days[0]
            while d <= days[-1]:
                if d.weekday() == 4 and not self.sessions.is_trading(d):
                    put(d, weekly)
                d += timedelta(days=1)
        for y, m in months:
            if monthly:
                put(third_friday(y, m), monthly)
            if january and m == 1:
                put(third_friday(y, m), january)
        return out

    def _add(
        self,
        root: str,
        dates: dict[date, date],
        futures: list[FutureSpec] | None = None,
        explicit: dict[date, str] | None = None,
    ) -> None:
        """Store a root's schedule with each expiry's underlying: fixed, given, or the next future."""
        items = []
        for e, listed in sorted(dates.items()):
            if explicit is not None:
                underlying = explicit[e]
            elif futures is not None:
                nxt = next((f for f in futures if f.last_trade >= e), None)
                if nxt is None:
                    continue
                underlying = nxt.key
            else:
                underlying = ROOTS[root].underlying
            items.append(Expiry(e, listed, underlying))
        self.schedules[root] = items

    def expiries(self, day: date, root: str) -> tuple[Expiry, ...]:
        """Expiries of ``root`` trading on ``day`` (today's included until the close)."""
        cached = self._day_cache.get(day)
        if cached is None:
            cached = {
                r: tuple(x for x in sched if x.listed_from <= day <= x.expiry and self._has_future(day, r, x))
                for r, sched in self.schedules.items()
            }
            self._day_cache = {day: cached}  # the engine walks forward: keep only the current day
        return cached.get(root, ())

    def _has_future(self, day: date, root: str, x: Expiry) -> bool:
        """A futures option is listed only while the future it exercises into is."""
        if not ROOTS[root].on_future:
            return True
        f = self.future_by_key.get(x.underlying)
        return f is not None and f.listed_from <= day <= f.last_trade

    def futures_on(self, day: date) -> tuple[FutureSpec, ...]:
        cached = self._future_cache.get(day)
        if cached is None:
            cached = tuple(f for f in self.futures if f.listed_from <= day <= f.last_trade)
            self._future_cache = {day: cached}
        return cached
