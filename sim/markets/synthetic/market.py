"""``SyntheticMarket``: the offline engine's deterministic market, one snapshot per step time.

Paths for the whole run are drawn at construction (same config -> byte-identical snapshots); a
snapshot itself is cheap: underlying quotes are built on first access and option chains only when
asked for (see ``sim.markets.synthetic.chains``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from types import MappingProxyType

import numpy as np

from core.ports import TradingCalendar
from core.types import MarketSnapshot, OptionContract, SecurityKind, UnderlyingQuote
from sim.markets.synthetic.ahead import QuotesAhead
from sim.markets.synthetic.chains import SyntheticChains
from sim.markets.synthetic.config import SyntheticConfig
from sim.markets.synthetic.contracts import option_pairs
from sim.markets.synthetic.daily import DailyPaths, simulate
from sim.markets.synthetic.grid import TimeGrid
from sim.markets.synthetic.listings import Expiry, FutureSpec, Listings
from sim.markets.synthetic.paths import generate
from sim.markets.synthetic.roots import RootSpec

# published spot symbols: (path, divisor, decimals, kind, half-spread)
_SPOTS = {
    "SPX": ("spx", 1.0, 2, SecurityKind.INDEX, 0.0),
    "XSP": ("spx", 10.0, 2, SecurityKind.INDEX, 0.0),
    "VIX": ("vix", 1.0, 2, SecurityKind.INDEX, 0.0),
    "SPY": ("spy", 1.0, 2, SecurityKind.EQUITY, 0.01),
    "QQQ": ("qqq", 1.0, 2, SecurityKind.EQUITY, 0.01),
    "IWM": ("iwm", 1.0, 2, SecurityKind.EQUITY, 0.01),
}


class SyntheticMarket:
    """A year (or any range) of SPX/VIX-driven markets with listed futures and lazily priced options."""

    def __init__(self, config: SyntheticConfig, calendar: TradingCalendar) -> None:
        self.config = config
        self.grid = TimeGrid(calendar, config.start, config.end, config.step_minutes, config.overnight_share)
        self.daily = self._skeleton(self.grid.days)
        self.paths = generate(config, self.grid, self.daily)
        self.listings = Listings(self.grid.sessions, config.start, config.end)
        self._published = {
            sym: [round(v / div, dec) for v in self.paths.series(series).tolist()]
            for sym, (series, div, dec, _, _) in _SPOTS.items()
        }
        self._raw = {
            name: self.paths.series(name).tolist() for name in ("spx", "cl", "gc", "cl_vol", "gc_vol")
        }
        self._cl_carry = self.paths.cl_carry.tolist()
        self.chain_builds = 0  # chains priced so far (laziness is testable)
        self.ahead = QuotesAhead(self)  # open legs' quotes for the rest of the day
        self.watch: dict[OptionContract, int] = {}  # contract -> serial of the step it was last quoted
        self._serial = 0
        self._book_day = -1
        self._books: dict[tuple[int, str], tuple[float, float, float]] = {}  # (point, future): one day
        self._day: date | None = None
        self._day_state: tuple[dict[tuple[str, date], Expiry], dict[str, FutureSpec], Mapping[str, float]]
        self._contracts: dict[tuple[str, date], dict[float, tuple[OptionContract, OptionContract]]] = {}
        self._grids: dict[tuple[str, date, bytes], list[OptionContract]] = {}

    def _skeleton(self, days: list[date]) -> DailyPaths:
        """Each session's open and close of every series (replayed history overrides this)."""
        return simulate(self.config, days, self.grid.sessions.is_trading)

    # --- MarketSource -----------------------------------------------------------------------------
    def trading_days(self) -> list[date]:
        return list(self.grid.days)

    def step_times(self, day: date) -> list[datetime]:
        """Open + step ... close inclusive (the close is added when the step does not divide the session)."""
        return list(self.grid.step_times(day))

    def snapshot_at(self, t: datetime) -> MarketSnapshot:
        point = self.grid.step_index.get(t)
        if point is None:
            raise ValueError(f"{t} is not a step time of this synthetic market (see step_times(day))")
        day = self.grid.days[self.grid.point_day[point]]
        if day != self._day:
            self._new_day(day)
        self._serial += 1
        _, futures, day_open = self._day_state
        quotes = _Underlyings(self, point, t, (*_SPOTS, *futures))
        return MarketSnapshot(
            time=t,
            underlyings=quotes,
            vix=self._published["VIX"][point],
            day_open=day_open,
            chains=SyntheticChains(self, point, self._serial, t),
        )

    # --- used by the chain source -----------------------------------------------------------------
    def listing(self, day: date, root: str, expiry: date) -> Expiry | None:
        if day != self._day:
            return next((x for x in self.listings.expiries(day, root) if x.expiry == expiry), None)
        return self._day_state[0].get((root, expiry))

    def vix(self, point: int) -> float:
        return self._published["VIX"][point]

    def vol_level(self, point: int, family: str) -> float:
        """What a vol family is anchored on at ``point``: VIX for SPX, QQQ, IWM; crude's and gold's
        own 30-day ATM vol for CL and GC."""
        if family in ("cl", "gc"):
            return self._raw[f"{family}_vol"][point]
        return self._published["VIX"][point]

    def dividend(self, underlying: str) -> float:
        return self.config.dividend(underlying)

    def underlying_price(self, point: int, key: str) -> float | None:
        """Published (tick-rounded) price; futures only while listed on that point's day."""
        series = self._published.get(key)
        if series is not None:
            return series[point]
        f = self.listings.future_by_key.get(key)
        day = self.grid.days[self.grid.point_day[point]]
        if f is None or not f.listed_from <= day <= f.last_trade:
            return None
        return self._future_book(point, f)[0]

    def _future_book(self, point: int, f: FutureSpec) -> tuple[float, float, float]:
        """(price, bid, ask): fair F = S e^{carry T} to the last trade; price at the nearest tick.
        Memoised per (point, future) for the points of one day: every step asks for each listed future
        several times, and pricing open legs ahead asks for every later point of the day in between."""
        day = self.grid.point_day[point]
        if self._book_day != day:
            self._book_day, self._books = day, {}
        key = (point, f.key)
        book = self._books.get(key)
        if book is None:
            book = self._books[key] = self._price_future(point, f)
        return book

    def _price_future(self, point: int, f: FutureSpec) -> tuple[float, float, float]:
        t = self.grid.calendar_time(point, f.last_trade)
        cfg = self.config
        if f.carry == "cl_carry":
            carry = self._cl_carry[point]
        else:
            carry = cfg.gc_carry if f.carry == "gc_carry" else cfg.rate - cfg.spx_dividend
        fair = self._raw[f.series][point] * math.exp(carry * t)
        bid = round(math.floor(fair / f.tick + 1e-9) * f.tick, 4)
        ask = round(bid + f.tick, 4)
        return (bid if fair - bid <= ask - fair else ask), bid, ask

    def underlying_quote(self, point: int, t: datetime, key: str) -> UnderlyingQuote | None:
        spot = _SPOTS.get(key)
        if spot is not None:
            p, half = self._published[key][point], spot[4]
            return UnderlyingQuote(key, spot[3], t, p, round(p - half, 2), round(p + half, 2))
        f = self.listings.future_by_key.get(key)
        if f is None or self.underlying_price(point, key) is None:
            return None
        p, bid, ask = self._future_book(point, f)
        return UnderlyingQuote(key, SecurityKind.FUTURE, t, p, bid, ask, f.multiplier)

    def contracts(
        self, spec: RootSpec, underlying: str, expiry: date, strikes: np.ndarray
    ) -> list[OptionContract]:
        """(call, put) per strike, flattened, for a chain's strike grid; contracts are values, building
        them is not free, so each is made once per run (new strikes together: ``contracts.option_pairs``)
        and each grid's list once (a grid moves only when the underlying moves a strike or more)."""
        key = (spec.root, expiry, strikes.tobytes())
        listed = self._grids.get(key)
        if listed is not None:
            return listed
        cache = self._contracts.setdefault((spec.root, expiry), {})
        values = strikes.tolist()
        new = list(dict.fromkeys(k for k in values if k not in cache))
        if new:
            cache.update(zip(new, option_pairs(spec, underlying, expiry, new), strict=True))
        listed = [c for k in values for c in cache[k]]
        self._grids[key] = listed
        return listed

    def recently_watched(self, serial: int) -> list[OptionContract]:
        """Contracts asked for in the previous step (the open legs); contracts nobody asked for
        since are forgotten.  Each ``quote`` call marks its contract for the next step."""
        watch = self.watch
        stale = [c for c, s in watch.items() if s < serial - 1]
        for c in stale:
            del watch[c]
        return [c for c, s in watch.items() if s == serial - 1]

    # --- internals --------------------------------------------------------------------------------
    def _new_day(self, day: date) -> None:
        self._day = day
        self.ahead.forget()
        listed = {(r, x.expiry): x for r in self.listings.schedules for x in self.listings.expiries(day, r)}
        futures = {f.key: f for f in self.listings.futures_on(day)}
        index = self.grid.day_index[day]
        open_point, open_time = self.grid.day_start[index], self.grid.opens[index]
        opens = {
            s: q.price for s in (*_SPOTS, *futures) if (q := self.underlying_quote(open_point, open_time, s))
        }
        self._day_state = (listed, futures, MappingProxyType(opens))
        self._contracts = {k: v for k, v in self._contracts.items() if k[1] >= day}
        self._grids = {k: v for k, v in self._grids.items() if k[1] >= day}
        self.watch = {c: s for c, s in self.watch.items() if c.expiry >= day}


class _Underlyings(Mapping):
    """The snapshot's underlying quotes, each built on first access (most steps read two or three)."""

    def __init__(self, market: SyntheticMarket, point: int, time: datetime, keys: tuple[str, ...]) -> None:
        self._market, self._point, self._time, self._keys = market, point, time, keys
        self._built: dict[str, UnderlyingQuote] = {}

    def __getitem__(self, key: str) -> UnderlyingQuote:
        q = self._built.get(key)
        if q is None:
            if key not in self._keys:
                raise KeyError(key)
            q = self._market.underlying_quote(self._point, self._time, key)
            if q is None:
                raise KeyError(key)
            self._built[key] = q
        return q

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: object) -> bool:
        return key in self._keys
