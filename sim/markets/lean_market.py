"""Market snapshots from LEAN-format data, for running the offline engine on ``lean data download``.

Why: the engine steps through the day asking "what could the system know at t"; this answers
from LEAN's minute files (``sim.markets.lean_data`` reads them) with the same bar-time rule LEAN uses.

Bar-time convention: LEAN stamps a bar with its START, so the minute bar stamped 09:31 covers
09:31:00-09:32:00 and is emitted at 09:32.  ``snapshot_at(t)`` therefore uses, per instrument,
the latest bar that ENDED at or before ``t`` (start <= t - 1 min); at 09:30:00 nothing of the
day is known yet.  Quote and underlying times are those bar end times, in naive US/Eastern.
Open interest rows are point-in-time values, known from their own stamp.

Chains are built lazily per root and expiry (only the zip members of that expiry are read):
bid/ask = the bar's bid/ask close (an empty bid side means no bid: 0.0 with size 0), volume =
the day's traded volume through t, open interest = the latest value, 0 without those files.
IV from the mid and Greeks come from ``core.option_math``: Black-Scholes with no dividend yield
for index and equity options (LEAN's own default for indices), Black-76 on the futures price
for future options.  American exercise (SPY, ES) is priced as European, an approximation.
SPX monthlies (root ``SPX``) expire at the 09:30 open (AM settlement), all others at 16:00.
"""

from __future__ import annotations

import logging
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from core import option_math
from core.types import (
    ExerciseStyle,
    MarketSnapshot,
    OptionChain,
    OptionContract,
    OptionQuote,
    Right,
    SecurityKind,
    Settlement,
    UnderlyingQuote,
)
from sim.markets.lean_data import (
    ASSET_CLASSES,
    MS_PER_DAY,
    Bars,
    LeanDataError,
    OptionEntry,
    future_key,
    list_day_files,
    local_ms,
    parse_future_entry,
    parse_option_entry,
    read_bars,
    zip_members,
)
from sim.markets.lean_reference import InterestRates, MarketHoursDatabase, SymbolProperties
from sim.markets.lean_vix import LeanVix

log = logging.getLogger("sim.markets.lean_market")

EASTERN = ZoneInfo("America/New_York")
MINUTE_MS = 60_000
_YEAR_SECONDS = 365.0 * 86_400.0
_AM_SETTLED = frozenset({"SPX"})
_INDEX_OPTION_UNDERLYING = {"SPXW": "SPX", "VIXW": "VIX", "NDXP": "NDX", "RUTW": "RUT"}
_UNDERLYING_KIND = {"index": SecurityKind.INDEX, "equity": SecurityKind.EQUITY, "future": SecurityKind.FUTURE}
_OPTION_KIND = {
    "indexoption": (SecurityKind.INDEX_OPTION, Settlement.CASH),
    "option": (SecurityKind.EQUITY_OPTION, Settlement.SHARES),
    "futureoption": (SecurityKind.FUTURE_OPTION, Settlement.FUTURE),
}


@dataclass(frozen=True)
class _Series:
    """Where one ticker's minute files live: asset class folder, market, time zone, price scale."""

    asset: str
    market: str
    ticker: str
    folder: Path
    tz: ZoneInfo
    scale: float


def _locate(root: Path, ticker: str, assets: Sequence[str], mhdb: MarketHoursDatabase) -> _Series | None:
    for asset in assets:
        for folder in sorted(root.glob(f"{asset}/*/minute/{ticker.lower()}")):
            market = folder.parent.parent.name
            tz = ZoneInfo(mhdb.data_time_zone(asset, market, ticker))
            return _Series(asset, market, ticker.upper(), folder, tz, ASSET_CLASSES[asset][1])
    return None


def _slot(t: datetime, tz: ZoneInfo) -> tuple[date, int]:
    """(file day, ms since midnight) of naive-Eastern ``t`` in the data time zone ``tz``.
    Midnight belongs to the day before: its last bar ends exactly then."""
    day, ms = local_ms(t.replace(tzinfo=EASTERN).astimezone(tz).replace(tzinfo=None))
    return (day - timedelta(days=1), MS_PER_DAY) if ms == 0 else (day, ms)


@lru_cache(maxsize=65_536)
def _eastern(day: date, ms: int, tz: ZoneInfo) -> datetime:
    local = datetime.combine(day, time()) + timedelta(milliseconds=ms)
    return local.replace(tzinfo=tz).astimezone(EASTERN).replace(tzinfo=None)


@dataclass(frozen=True)
class _OptionSource:
    """One day's option zips of one root (and, for future options, one underlying contract)."""

    underlying: str
    paths: dict[str, Path]  # tick type -> zip
    by_expiry: dict[date, tuple[OptionEntry, ...]]  # quote entries sorted by strike, right

    def members(self, tick: str, entries: Sequence[OptionEntry]) -> tuple[np.ndarray, tuple[str, ...]]:
        """Indices into ``entries`` having a member in the ``tick`` zip, and those member names."""
        path = self.paths.get(tick)
        if path is None:
            return np.empty(0, np.int64), ()
        names = set(zip_members(path))
        idx, found = [], []
        for i, e in enumerate(entries):
            name = e.member.replace("_quote_", f"_{tick}_", 1)
            if name in names:
                idx.append(i)
                found.append(name)
        return np.array(idx, dtype=np.int64), tuple(found)


class LeanDataMarket:
    """Snapshots of one underlying and its option roots from a LEAN ``Data`` folder.

    ``underlying`` is an index (``SPX``), an equity (``SPY``) or a future (``ES``: the snapshot
    then holds every listed contract, keyed ``ESH20``).  Roots are index options (``SPXW``,
    ``SPX``), equity options (``SPY``) or future options (``ES``).  A root with no folder at all is
    logged and listed in ``missing_roots``; a missing or malformed file raises ``LeanDataError``.
    VIX comes from the folder (``sim.markets.lean_vix``) when it has it, else the constant ``vix``.
    """

    def __init__(
        self,
        data_root: Path,
        *,
        roots: Sequence[str] = ("SPXW", "SPX"),
        underlying: str = "SPX",
        vix: float | None = None,
    ) -> None:
        self.root = Path(data_root)
        if not self.root.is_dir():
            raise LeanDataError(self.root, "LEAN data folder not found")
        self.vix = vix  # the constant used when the folder has no VIX series
        self._mhdb = MarketHoursDatabase(self.root / "market-hours" / "market-hours-database.json")
        self._props = SymbolProperties(self.root / "symbol-properties" / "symbol-properties-database.csv")
        self._rates = InterestRates(self.root / "alternative" / "interest-rate" / "usa" / "interest-rate.csv")
        series = _locate(self.root, underlying, ("index", "equity", "future"), self._mhdb)
        if series is None:
            raise LeanDataError(self.root, f"no index/equity/future minute folder for {underlying}")
        self._u = series
        self._u_files = {(f.day, f.tick_type): f.path for f in list_day_files(series.folder)}
        self._u_multiplier = self._props.multiplier(series.asset, series.market, series.ticker)
        self._roots: dict[str, _Series] = {}
        self._root_files: dict[str, list[tuple[str, dict[tuple[date, str], Path]]]] = {}
        self.missing_roots: list[str] = []
        self.odd_files: list[Path] = []
        for root in roots:
            self._add_root(root.upper())
        self.odd_files += [p for p in self._u_files.values() if p.name.endswith(".zip.zip")]
        self.vix_series = LeanVix.find(self.root, self._mhdb)
        self.asked_missing: Counter[str] = Counter()  # roots the strategies asked for that the folder lacks
        self._option_days: OrderedDict[tuple[str, date], list[_OptionSource]] = OrderedDict()
        self._contracts: dict[tuple[str, date, str, float], OptionContract] = {}

    def _add_root(self, root: str) -> None:
        s = _locate(self.root, root, ("indexoption", "option", "futureoption"), self._mhdb)
        if s is None:
            log.warning("no option data folder for root %s under %s", root, self.root)
            self.missing_roots.append(root)
            return
        ticker = _INDEX_OPTION_UNDERLYING.get(root, root) if s.asset == "indexoption" else root
        asset = {"indexoption": "index", "option": "equity", "futureoption": "future"}[s.asset]
        if (ticker, asset) != (self._u.ticker, self._u.asset):
            raise ValueError(
                f"{root} options ({s.asset}) settle into {asset} {ticker}; this market's underlying is "
                f"{self._u.asset} {self._u.ticker}"
            )
        self._roots[root] = s
        folders = [(self._u.ticker, s.folder)]
        if s.asset == "futureoption":  # one folder per underlying contract month
            folders = [(future_key(root, f.name), f) for f in sorted(s.folder.iterdir()) if f.name.isdigit()]
        self._root_files[root] = []
        for underlying, folder in folders:
            files = list_day_files(folder)
            self.odd_files += [f.path for f in files if f.path.name.endswith(".zip.zip")]
            self._root_files[root].append((underlying, {(f.day, f.tick_type): f.path for f in files}))

    # --- the engine's contract -----------------------------------------------------------------
    def trading_days(self) -> list[date]:
        """Days (in the underlying's data time zone) that have underlying minute data."""
        return sorted({day for day, tick in self._u_files if tick in ("trade", "quote")})

    def snapshot_at(self, t: datetime) -> MarketSnapshot:
        """What was known at naive-Eastern ``t``: the latest bars that ENDED at or before ``t``."""
        day, cutoff = _slot(t, self._u.tz)
        if (day, "trade") not in self._u_files and (day, "quote") not in self._u_files:
            missing = self._u.folder / f"{day:%Y%m%d}_trade.zip"
            raise LeanDataError(missing, f"no {self._u.ticker} minute data for {day} (needed at {t})")
        underlyings = self._underlying_quotes(day, cutoff)
        vix = self.vix if self.vix_series is None else self.vix_series.at(t)
        return MarketSnapshot(t, underlyings, vix, self._day_open(t), _LeanChains(self, t, underlyings))

    def underlying_files(self) -> dict[tuple[date, str], Path]:
        """(day, tick type) -> the underlying's minute zip: what the sessions of a run are made of."""
        return dict(self._u_files)

    @property
    def underlying(self) -> str:
        return self._u.ticker

    @property
    def roots(self) -> tuple[str, ...]:
        return tuple(self._roots)

    # --- underlying ------------------------------------------------------------------------------
    def _u_bars(self, day: date, tick: str) -> Bars | None:
        path = self._u_files.get((day, tick))
        return None if path is None else read_bars(path, tick, self._u.scale)

    def _u_symbol(self, bars: Bars, member: str) -> str:
        if self._u.asset != "future":
            return self._u.ticker
        ticker, month = parse_future_entry(bars.path, member)
        return future_key(ticker, month)

    def _latest(self, bars: Bars | None, cutoff: int) -> dict[str, int]:
        if bars is None:
            return {}
        rows = bars.latest(cutoff, MINUTE_MS)
        return {self._u_symbol(bars, m): int(r) for m, r in zip(bars.members, rows, strict=True) if r >= 0}

    def _underlying_quotes(self, day: date, cutoff: int) -> dict[str, UnderlyingQuote]:
        trade, quote = self._u_bars(day, "trade"), self._u_bars(day, "quote")
        last_trade, last_quote = self._latest(trade, cutoff), self._latest(quote, cutoff)
        out: dict[str, UnderlyingQuote] = {}
        for symbol in sorted(last_trade.keys() | last_quote.keys()):
            bid = ask = price = float("nan")
            ends = []
            if symbol in last_quote and quote is not None:
                r = last_quote[symbol]
                bid, ask = float(quote.column("bid_close")[r]), float(quote.column("ask_close")[r])
                price = 0.5 * (bid + ask)
                ends.append(int(quote.time_ms[r]))
            if symbol in last_trade and trade is not None:
                r = last_trade[symbol]
                price = float(trade.column("close")[r])
                ends.append(int(trade.time_ms[r]))
            bid, ask = (bid, ask) if np.isfinite(bid) and np.isfinite(ask) else (price, price)
            when = _eastern(day, max(ends) + MINUTE_MS, self._u.tz)
            out[symbol] = UnderlyingQuote(
                symbol, _UNDERLYING_KIND[self._u.asset], when, price, bid, ask, self._u_multiplier
            )
        return out

    def _day_open(self, t: datetime) -> dict[str, float]:
        """Open of each underlying's first regular-session bar of ``t``'s day, once that bar ended."""
        session = self._mhdb.regular_open(self._u.asset, self._u.market, self._u.ticker, t.date())
        if session is None:
            return {}
        exchange_tz, start = session
        opening = datetime.combine(t.date(), start, tzinfo=ZoneInfo(exchange_tz)).astimezone(self._u.tz)
        day, open_ms = local_ms(opening.replace(tzinfo=None))
        bars = self._u_bars(day, "trade")
        if bars is None:
            return {}
        first = np.searchsorted(bars.keys, np.arange(len(bars.members)) * 2 * MS_PER_DAY + open_ms)
        opens: dict[str, float] = {}
        for i, member in enumerate(bars.members):
            r = int(first[i])
            if r < bars.offsets[i + 1] and _eastern(day, int(bars.time_ms[r]) + MINUTE_MS, self._u.tz) <= t:
                opens[self._u_symbol(bars, member)] = float(bars.column("open")[r])
        return opens

    # --- options ---------------------------------------------------------------------------------
    def option_sources(self, root: str, t: datetime) -> list[_OptionSource]:
        """The zips of ``root`` for ``t``'s file day, indexed by expiry (cached per day)."""
        s = self._roots.get(root)
        if s is None:
            return []
        day, _ = _slot(t, s.tz)
        key = (root, day)
        if key in self._option_days:
            return self._option_days[key]
        sources = []
        for underlying, files in self._root_files[root]:
            paths = {tick: p for (d, tick), p in files.items() if d == day}
            if "quote" not in paths:
                continue
            by_expiry: dict[date, list[OptionEntry]] = {}
            for member in zip_members(paths["quote"]):
                entry = parse_option_entry(paths["quote"], member)
                if entry.ticker != root.lower():
                    raise LeanDataError(paths["quote"], f"entry is not a {root} option", member=member)
                by_expiry.setdefault(entry.expiry, []).append(entry)
            ordered = {e: tuple(sorted(v, key=lambda x: (x.strike, x.right))) for e, v in by_expiry.items()}
            sources.append(_OptionSource(underlying, paths, ordered))
        self._option_days[key] = sources
        while len(self._option_days) > 8:
            self._option_days.popitem(last=False)
        return sources

    def contract(self, root: str, underlying: str, e: OptionEntry) -> OptionContract:
        key = (root, e.expiry, e.right, e.strike)
        c = self._contracts.get(key)
        if c is None:
            s = self._roots[root]
            kind, settlement = _OPTION_KIND[s.asset]
            multiplier = self._props.multiplier(s.asset, s.market, root)
            style = ExerciseStyle(e.style)
            c = OptionContract(
                root, underlying, Right(e.right), e.strike, e.expiry, multiplier, kind, style, settlement
            )
            self._contracts[key] = c
        return c

    def build_chain(self, root: str, expiry: date, t: datetime, spot: float | None) -> OptionChain | None:
        sources = [s for s in self.option_sources(root, t) if expiry in s.by_expiry]
        if not sources:
            return None
        if len(sources) > 1:
            raise LeanDataError(sources[1].paths["quote"], f"{root} {expiry} listed under two underlyings")
        src, s = sources[0], self._roots[root]
        entries = src.by_expiry[expiry]
        day, cutoff = _slot(t, s.tz)
        quotes = read_bars(src.paths["quote"], "quote", s.scale, tuple(e.member for e in entries))
        rows = quotes.latest(cutoff, MINUTE_MS)
        have = np.flatnonzero(rows >= 0)
        if have.size == 0:
            return None
        volume = self._traded_volume(src, entries, cutoff, s.scale)
        oi = self._open_interest(src, entries, cutoff, s.scale)
        r = rows[have]
        bid = np.nan_to_num(quotes.column("bid_close")[r], nan=0.0)
        ask = quotes.column("ask_close")[r]
        strikes = np.array([entries[i].strike for i in have])
        is_call = np.array([entries[i].right == "C" for i in have])
        iv, g = self._greeks(root, expiry, t, spot, 0.5 * (bid + ask), strikes, is_call, s.asset)
        price = float("nan") if spot is None else spot
        sizes = np.nan_to_num(np.stack([quotes.column("bid_size")[r], quotes.column("ask_size")[r]], axis=1))
        columns = zip(
            have.tolist(), quotes.time_ms[r].tolist(), bid.tolist(), ask.tolist(), sizes.astype(np.int64).tolist(),
            iv.tolist(), g.delta.tolist(), g.gamma.tolist(), g.theta.tolist(), g.vega.tolist(), strict=True,
        )  # fmt: skip
        quotes_out = tuple(
            OptionQuote(
                self.contract(root, src.underlying, entries[i]),
                _eastern(day, ms + MINUTE_MS, s.tz),
                b,
                a,
                size[0],
                size[1],
                int(volume[i]),
                int(oi[i]),
                price,
                v,
                delta,
                gamma,
                theta,
                vega,
            )
            for i, ms, b, a, size, v, delta, gamma, theta, vega in columns
        )
        return OptionChain(root, expiry, src.underlying, price, quotes_out)

    def _traded_volume(
        self, src: _OptionSource, entries: Sequence[OptionEntry], cutoff: int, scale: float
    ) -> np.ndarray:
        """Per entry, the day's traded volume in bars that ended by the cutoff (0 without trades)."""
        out = np.zeros(len(entries))
        idx, members = src.members("trade", entries)
        if members:
            bars = read_bars(src.paths["trade"], "trade", scale, members)
            out[idx] = bars.cumulative("volume", bars.latest(cutoff, MINUTE_MS))
        return out

    def _open_interest(
        self, src: _OptionSource, entries: Sequence[OptionEntry], cutoff: int, scale: float
    ) -> np.ndarray:
        """Per entry, the latest open interest stamped at or before the cutoff (0 without one)."""
        out = np.zeros(len(entries))
        idx, members = src.members("openinterest", entries)
        if members:
            bars = read_bars(src.paths["openinterest"], "openinterest", scale, members)
            rows = bars.latest(cutoff, 0)
            values = np.nan_to_num(bars.column("open_interest")[np.maximum(rows, 0)])
            out[idx] = np.where(rows >= 0, values, 0.0)
        return out

    def _greeks(
        self, root: str, expiry: date, t: datetime, spot: float | None, mid: np.ndarray, strikes: np.ndarray,
        is_call: np.ndarray, asset: str,
    ) -> tuple[np.ndarray, option_math.Greeks]:  # fmt: skip
        """IV from the mid and Greeks at that IV: Black-76 for future options, else BSM with q = 0."""
        settle = time(9, 30) if root in _AM_SETTLED else time(16, 0)
        years = max((datetime.combine(expiry, settle) - t).total_seconds(), 0.0) / _YEAR_SECONDS
        s = np.nan if spot is None else spot
        r = self._rates.rate(t.date())
        if asset == "futureoption":
            iv = option_math.black76_implied_vol(mid, s, strikes, years, r, is_call)
            return iv, option_math.black76_greeks(s, strikes, years, r, iv, is_call)
        iv = option_math.implied_vol(mid, s, strikes, years, r, 0.0, is_call)
        return iv, option_math.bs_greeks(s, strikes, years, r, 0.0, iv, is_call)


class _LeanChains:
    """``core.types.ChainSource`` for one snapshot: chains are built on first request."""

    def __init__(self, market: LeanDataMarket, t: datetime, underlyings: dict[str, UnderlyingQuote]) -> None:
        self._market, self._t, self._underlyings = market, t, underlyings
        self._chains: dict[tuple[str, date], OptionChain | None] = {}
        self._index: dict[tuple[str, date], dict[tuple[Right, float], OptionQuote]] = {}

    def expiries(self, root: str) -> tuple[date, ...]:
        if root not in self._market.roots:
            self._market.asked_missing[root] += 1
        found = {e for s in self._market.option_sources(root, self._t) for e in s.by_expiry}
        return tuple(sorted(found))

    def chain(self, root: str, expiry: date) -> OptionChain | None:
        key = (root, expiry)
        if key not in self._chains:
            sources = [s for s in self._market.option_sources(root, self._t) if expiry in s.by_expiry]
            spot_quote = self._underlyings.get(sources[0].underlying) if sources else None
            spot = None if spot_quote is None else spot_quote.price
            self._chains[key] = self._market.build_chain(root, expiry, self._t, spot)
        return self._chains[key]

    def quote(self, contract: OptionContract) -> OptionQuote | None:
        key = (contract.root, contract.expiry)
        if key not in self._index:
            chain = self.chain(*key)
            self._index[key] = (
                {} if chain is None else {(q.contract.right, q.contract.strike): q for q in chain.quotes}
            )
        return self._index[key].get((contract.right, contract.strike))
