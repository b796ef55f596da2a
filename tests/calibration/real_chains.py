"""Observations of LEAN's real option chains (``../shared/data/lean``), read with the project's reader.

Why: the calibration suite compares the synthetic market with these, contract by contract, at the
same VIX, spot and time to expiry.  Each ``Observation`` is one quoted contract at one sample time.

Sources (everything in the sample that has a two-sided quote or LEAN's own implied vol):
- SPXW minute quotes (2021-01-04..08, 2023-06-26): 0-11 DTE.  Forward from put-call parity at the
  strike nearest the money (the SPX minute file is missing on most of these days), IV and delta
  with Black-76 on that forward (``core.option_math``), LEAN's interest-rate series.
- SPY minute quotes (2023-08-03, 29 DTE) and ES future options (2020-01-06, 74 and 165 DTE):
  ``LeanDataMarket`` chains (IV from the mid with ``core.option_math``).
- Universe files with LEAN's IV and delta at the close: SPXW (2023-06-23) and SPY LEAPs
  (2024-01-04; deep-ITM calls, i.e. the far put wing by parity).

VIX is not in the sample: ``VIX_OHLC`` holds Cboe's published daily open/high/low/close
(VIX_History.csv) for these days; intraday it is interpolated linearly from open to close.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np

from core import option_math
from core.types import Right
from sim.markets.lean_data import (
    InterestRates,
    LeanDataMarket,
    MarketHoursDatabase,
    list_day_files,
    local_ms,
    parse_option_entry,
    read_bars,
    read_universe,
    zip_members,
)

LEAN = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "lean"
YEAR_SECONDS = 365.0 * 86_400.0
SAMPLE_TIMES = (time(10, 0), time(10, 30), time(11, 0), time(13, 0), time(14, 30), time(15, 15))

# Cboe VIX daily (open, high, low, close), from Cboe's VIX_History.csv, for the sample's days
VIX_OHLC: dict[date, tuple[float, float, float, float]] = {
    date(2020, 1, 6): (15.45, 16.39, 13.54, 13.85),
    date(2020, 12, 30): (22.58, 23.15, 22.41, 22.77),
    date(2020, 12, 31): (22.99, 23.25, 21.24, 22.75),
    date(2021, 1, 4): (23.04, 29.19, 22.56, 26.97),
    date(2021, 1, 5): (26.94, 28.60, 24.80, 25.34),
    date(2021, 1, 6): (25.48, 26.77, 22.14, 25.07),
    date(2021, 1, 7): (23.67, 23.91, 22.25, 22.37),
    date(2021, 1, 8): (22.43, 23.34, 21.42, 21.56),
    date(2021, 1, 11): (23.31, 24.81, 23.23, 24.08),
    date(2021, 1, 12): (23.49, 25.15, 22.83, 23.33),
    date(2021, 1, 13): (23.07, 24.18, 21.92, 22.21),
    date(2021, 1, 14): (22.22, 23.47, 21.66, 23.25),
    date(2023, 6, 23): (13.24, 13.80, 12.88, 13.44),
    date(2023, 6, 26): (14.43, 14.71, 13.78, 14.25),
    date(2023, 8, 3): (16.77, 17.42, 15.72, 15.92),
    date(2024, 1, 4): (13.93, 14.20, 13.64, 14.13),
}


@dataclass(frozen=True)
class Observation:
    """One real quote (or universe row) with what the synthetic market needs to price the same contract."""

    source: str
    root: str  # synthetic root that lists the same product (SPXW, SPX, SPY, ES)
    time: datetime  # naive US/Eastern
    expiry: date
    strike: float
    is_call: bool
    underlying: float  # spot (index, SPY) or futures price (ES)
    iv: float
    delta: float
    bid: float  # nan for universe rows
    ask: float
    vix: float

    @property
    def dte(self) -> int:
        return (self.expiry - self.time.date()).days

    @property
    def width_share(self) -> float:
        """Bid/ask width as a share of the mid."""
        return (self.ask - self.bid) / (0.5 * (self.ask + self.bid))

    @property
    def moneyness(self) -> float:
        return self.strike / self.underlying - 1.0


def vix_at(t: datetime) -> float:
    """Cboe VIX at ``t``: linear from the day's open (09:30) to its close (16:15)."""
    o, _, _, c = VIX_OHLC[t.date()]
    share = (t - datetime.combine(t.date(), time(9, 30))).total_seconds() / (6.75 * 3600.0)
    return o + (c - o) * min(max(share, 0.0), 1.0)


def _sane(bid: float, ask: float, iv: float, delta: float, min_mid: float) -> bool:
    mid = 0.5 * (bid + ask)
    return (
        bid > 0.0
        and ask > bid
        and mid >= min_mid
        and (ask - bid) / mid < 0.6
        and math.isfinite(iv)
        and 0.02 < iv < 3.0
        and 0.03 <= abs(delta) <= 0.97
    )


# --------------------------------------------------------------------------- SPXW minute quotes


def spxw_minute(lean: Path = LEAN) -> list[Observation]:
    """SPXW quotes at the sample times; forward by put-call parity, Black-76 IV and delta."""
    mhdb = MarketHoursDatabase(lean / "market-hours" / "market-hours-database.json")
    rates = InterestRates(lean / "alternative" / "interest-rate" / "usa" / "interest-rate.csv")
    assert mhdb.data_time_zone("indexoption", "usa", "SPXW") == "America/New_York"
    out: list[Observation] = []
    for f in list_day_files(lean / "indexoption" / "usa" / "minute" / "spxw"):
        if f.tick_type != "quote" or f.day not in VIX_OHLC:
            continue
        entries = [parse_option_entry(f.path, m) for m in zip_members(f.path)]
        bars = read_bars(f.path, "quote", 10_000.0, tuple(e.member for e in entries))
        for at in SAMPLE_TIMES:
            t = datetime.combine(f.day, at)
            rows = bars.latest(local_ms(t)[1], 60_000)
            quotes = {}
            for e, r in zip(entries, rows.tolist(), strict=True):
                if r >= 0:
                    bid, ask = float(bars.column("bid_close")[r]), float(bars.column("ask_close")[r])
                    if math.isfinite(bid) and math.isfinite(ask):
                        quotes[(e.expiry, e.strike, e.right)] = (bid, ask)
            out += _parity_observations(quotes, t, rates.rate(f.day))
    return out


def _parity_observations(quotes: dict, t: datetime, r: float) -> list[Observation]:
    out = []
    for expiry in sorted({k[0] for k in quotes}):
        years = (datetime.combine(expiry, time(16, 0)) - t).total_seconds() / YEAR_SECONDS
        pairs = {k[1]: (quotes[(expiry, k[1], "C")], quotes[(expiry, k[1], "P")])
                 for k in quotes if k[0] == expiry and (expiry, k[1], "C") in quotes
                 and (expiry, k[1], "P") in quotes}  # fmt: skip
        if years <= 0 or not pairs:
            continue
        k0, (c, p) = min(pairs.items(), key=lambda kv: abs(sum(kv[1][0]) - sum(kv[1][1])))
        forward = k0 + 0.5 * (sum(c) - sum(p)) * math.exp(r * years)
        for (e, k, right), (bid, ask) in quotes.items():
            if e != expiry:
                continue
            is_call = right == "C"
            mid = 0.5 * (bid + ask)
            iv = float(option_math.black76_implied_vol(mid, forward, k, years, r, is_call))
            delta = float(option_math.black76_greeks(forward, k, years, r, iv, is_call).delta)
            if _sane(bid, ask, iv, delta, 0.20):
                out.append(Observation("SPXW minute", "SPXW", t, e, k, is_call, forward, iv, delta, bid, ask,
                                       vix_at(t)))  # fmt: skip
    return out


# ---------------------------------------------------------------- SPY and ES future option chains


def market_chains(lean: Path = LEAN) -> list[Observation]:
    """SPY (2023-08-03) and ES future options (2020-01-06) from ``LeanDataMarket`` chains."""
    out: list[Observation] = []
    for underlying, root, day in (("SPY", "SPY", date(2023, 8, 3)), ("ES", "ES", date(2020, 1, 6))):
        market = LeanDataMarket(lean, roots=(root,), underlying=underlying)
        for at in SAMPLE_TIMES:
            t = datetime.combine(day, at)
            snap = market.snapshot_at(t)
            for expiry in snap.chains.expiries(root):
                chain = snap.chains.chain(root, expiry)
                if chain is None or not math.isfinite(chain.underlying_price):
                    continue
                for q in chain.quotes:
                    if _sane(q.bid, q.ask, q.iv, q.delta, 0.05 if root == "SPY" else 0.5):
                        out.append(Observation(f"{root} minute", root, t, expiry, q.contract.strike,
                                               q.contract.right is Right.CALL, chain.underlying_price, q.iv,
                                               q.delta, q.bid, q.ask, vix_at(t)))  # fmt: skip
    return out


# ----------------------------------------------------------------------------- universe files


def universes(lean: Path = LEAN) -> list[Observation]:
    """Rows with LEAN's own IV and delta at the close: SPXW and SPY LEAPs.  (The sample's SPX
    universe files are left out: their underlying close is stuck at 3700.65 for two weeks, so
    LEAN's IVs there are computed against a stale price -- 2% one day, 47% the next.)"""
    out: list[Observation] = []
    folders = (("indexoption/usa/universes/spxw", "SPXW"), ("option/usa/universes/spy", "SPY"))
    for folder, root in folders:
        for path in sorted((lean / folder).glob("*.csv")):
            day = date(int(path.stem[:4]), int(path.stem[4:6]), int(path.stem[6:]))
            if day not in VIX_OHLC:
                continue
            frame = read_universe(path)
            spot = float(frame["close"].iloc[0])
            t = datetime.combine(day, time(16, 0))
            for row in frame.iloc[1:].itertuples():
                iv, delta, expiry = float(row.implied_volatility), float(row.delta), row.expiry
                if not 0.02 < iv < 3.0:
                    continue
                is_call = row.right == "C"
                if root == "SPY":  # deep-ITM LEAP calls: the put of the same strike, by parity
                    if (expiry - day).days < 300 or not is_call:
                        continue
                    is_call, delta = False, delta - 1.0
                if 0.03 <= abs(delta) <= 0.97:
                    out.append(Observation(f"{root} universe", root, t, expiry, float(row.strike), is_call,
                                           spot, iv, delta, math.nan, math.nan, VIX_OHLC[day][3]))  # fmt: skip
    return out


def strike_lists(lean: Path = LEAN) -> list[tuple[str, date, date, float, np.ndarray]]:
    """(root, day, expiry, underlying, listed strikes) of the real chains that list many strikes:
    ES options (2020-01-06, LEAN's universe files) and SPY weeklies (2024-01-04)."""
    out = []
    es = read_universe(lean / "future/cme/universes/es/20200106.csv")
    es_close = {str(row.expiry): float(row.close) for row in es.itertuples()}
    for month in ("202003", "202006"):
        frame = read_universe(lean / f"futureoption/cme/universes/es/{month}/20200106.csv").iloc[1:]
        for expiry, group in frame.groupby("expiry"):
            strikes = np.unique(group["strike"].to_numpy(dtype=float))
            out.append(("ES", date(2020, 1, 6), expiry, es_close[month], strikes))
    spy = read_universe(lean / "option/usa/universes/spy/20240104.csv")
    spot = float(spy["close"].iloc[0])
    for expiry, group in spy.iloc[1:].groupby("expiry"):
        strikes = np.unique(group["strike"].to_numpy(dtype=float))
        if len(strikes) >= 8:
            out.append(("SPY", date(2024, 1, 4), expiry, spot, strikes))
    return out


def all_observations(lean: Path = LEAN) -> list[Observation]:
    return spxw_minute(lean) + market_chains(lean) + universes(lean)


def next_session(day: date) -> date:
    d = day + timedelta(days=1)
    while d.weekday() >= 5:
        d += timedelta(days=1)
    return d
