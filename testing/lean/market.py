"""A small deterministic market for the LEAN double: underlyings, listings and option quotes.

Not a LEAN behaviour: it is the data a test feeds the double.  Prices follow a gentle intraday
wave around fixed levels (``shock`` scripts a move and a volatility change from a given time);
option quotes are Black-Scholes (Black-76 for future options) mids on a skewed volatility, with a
spread of a few ticks and a per-minute high/low range that differs per contract (real minute bars
do), so LEAN's combo fill rule can fill a limit at the natural price.  Listings follow LEAN's:
SPXW dailies, SPX and equity monthly standards plus weeklies, ES options quarterly, CL / GC
monthly (``testing.lean.expiries``).
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import numpy as np

from core.option_math import black76_price, bs_price
from testing.lean.expiries import contract_months, future_expiry, future_option_expiry
from testing.lean.symbols import OptionRight, OptionStyle, SecurityType, Symbol, third_friday

_TICKS = {"SPXW": 0.05, "SPX": 0.05, "ES": 0.25, "CL": 0.01, "GC": 0.10}
LEVELS = {
    "SPX": 5000.0,
    "VIX": 24.0,
    "SPY": 500.0,
    "QQQ": 440.0,
    "IWM": 210.0,
    "ES": 5000.0,
    "CL": 70.0,
    "GC": 2000.0,
}
_MICRO = {"MES": "ES", "MCL": "CL", "MGC": "GC", "XSP": "SPX"}
_ATM_VOL = {"SPX": 0.22, "SPY": 0.22, "QQQ": 0.26, "IWM": 0.28, "ES": 0.22, "CL": 0.35, "GC": 0.16}
MARKETS = {"ES": "cme", "MES": "cme", "CL": "nymex", "MCL": "nymex", "GC": "comex", "MGC": "comex"}
OPTION_TICKER = {"GC": "OG", "CL": "LO"}  # FuturesOptionsSymbolMappings


@dataclass
class Shock:
    at: datetime  # New York time from which it applies
    move: float = 0.0  # relative move of every index / equity / ES price
    vol_scale: float = 1.0  # multiplies every implied volatility
    roots: tuple[str, ...] = ()  # empty = all


@dataclass
class Market:
    rate: float = 0.04
    shocks: list[Shock] = field(default_factory=list)

    # --- underlyings (New York times) ---------------------------------------------------------------
    @staticmethod
    def root(key: str) -> str:
        """``ESZ26`` -> ``ES``; other keys unchanged."""
        if len(key) > 3 and key[-2:].isdigit() and key[-3] in "FGHJKMNQUVXZ":
            return key[:-3]
        return key

    def _base(self, key: str) -> str:
        root = self.root(key)
        return _MICRO.get(root, root)

    def _shock(self, key: str, ny: datetime) -> tuple[float, float]:
        move, scale = 0.0, 1.0
        base = self._base(key)
        for s in self.shocks:
            if ny >= s.at and (not s.roots or base in s.roots):
                move, scale = move + s.move, scale * s.vol_scale
        return move, scale

    def price(self, key: str, ny: datetime) -> float:
        """``SPX``, ``VIX``, ``SPY``..., or a futures contract ticker (``ESZ26``)."""
        base = self._base(key)
        level = LEVELS[base] * (0.1 if self.root(key) == "XSP" else 1.0)  # micros quote at the full level
        if base == "VIX":
            return level
        minutes = ny.hour * 60 + ny.minute
        wave = 0.0015 * math.sin(minutes / 37.0)  # stays inside the 0DTE move-since-open rule
        move = self._shock(key, ny)[0] if base not in ("CL", "GC") else 0.0
        carry = 0.0
        if self.root(key) != key:
            carry = 0.002 * (int(key[-2:]) - 25 + "FGHJKMNQUVXZ".index(key[-3]) / 12.0)
        return round(level * (1.0 + wave + move + carry), 2)

    # --- listings -----------------------------------------------------------------------------------
    def futures(self, root: str, day: date) -> list[tuple[Symbol, date]]:
        """(contract symbol, contract month first day) trading on ``day`` within 200 days."""
        out = []
        for y, m in contract_months(root, day, day + timedelta(days=200)):
            expiry = future_expiry(root, y, m)
            out.append(
                (Symbol.create_future(root, MARKETS[root], datetime.combine(expiry, time())), date(y, m, 1))
            )
        return out

    def option_expiries(self, ticker: str, underlying: Symbol, day: date) -> list[date]:
        if underlying.security_type == SecurityType.FUTURE:
            root = underlying.id.symbol
            for fut, month in self.futures(root, day):
                if fut == underlying:
                    return [future_option_expiry(root, month.year, month.month)]
            return []
        days = [day + timedelta(days=i) for i in range(0, 450)]
        if ticker == "SPXW":
            return [d for d in days[:10] if d.weekday() < 5]
        monthly = sorted(
            {third_friday(d.year, d.month) for d in days if third_friday(d.year, d.month) >= day}
        )
        if ticker in ("SPY", "QQQ", "IWM"):
            fridays = [d for d in days[:12] if d.weekday() == 4]
            return sorted(set(fridays) | set(monthly))
        return monthly

    def strikes(self, ticker: str, spot: float, dte: int) -> np.ndarray:
        if ticker == "SPXW":
            step, lo, hi = 5.0, 0.92, 1.08
        elif ticker in ("SPY", "QQQ", "IWM"):
            step, lo, hi = (5.0, 0.95, 1.10) if dte <= 14 else (10.0, 0.55, 1.0)
        else:
            step = {"SPX": 25.0, "ES": 25.0, "CL": 1.0, "OG": 25.0, "LO": 1.0}.get(ticker, 25.0)
            lo, hi = 0.55, 1.5
        first, last = math.ceil(spot * lo / step) * step, math.floor(spot * hi / step) * step
        return np.arange(first, last + step / 2, step)

    def options(self, ticker: str, underlying: Symbol, day: date, spot: float) -> list[Symbol]:
        style = (
            OptionStyle.EUROPEAN if underlying.security_type == SecurityType.INDEX else OptionStyle.AMERICAN
        )
        out = []
        for expiry in self.option_expiries(ticker, underlying, day):
            dte = (expiry - day).days
            for k in self.strikes(ticker, spot, dte):
                for right in (OptionRight.CALL, OptionRight.PUT):
                    moment = datetime.combine(expiry, time())
                    out.append(
                        Symbol.create_option(
                            underlying, ticker, underlying.id.market, style, right, float(k), moment
                        )
                    )
        return out

    # --- option quotes ------------------------------------------------------------------------------
    def vol(self, base: str, moneyness: np.ndarray, years: np.ndarray, scale: float) -> np.ndarray:
        atm = _ATM_VOL.get(base, 0.25)
        skew = -0.9 * np.log(moneyness)  # puts richer than calls
        return np.clip(atm * (1.0 + skew) * (1.0 + 0.1 * np.sqrt(years)), 0.05, 2.0) * scale

    def option_quotes(
        self, symbols: list[Symbol], spot: float, ny: datetime, q: float = 0.0
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(bid, ask, intrabar range) arrays for options on one underlying at ``ny``."""
        if not symbols:
            empty = np.zeros(0)
            return empty, empty, empty
        under = symbols[0].underlying
        assert under is not None
        base = self._base(under.value)
        _, scale = self._shock(under.value, ny)
        strike = np.array([s.id.strike_price for s in symbols])
        expiry_close = [datetime.combine(s.id.date.date(), time(16, 0)) for s in symbols]
        years = np.array([max((e - ny).total_seconds(), 60.0) / (365.0 * 86400.0) for e in expiry_close])
        calls = np.array([s.id.option_right == OptionRight.CALL for s in symbols])
        sigma = self.vol(base, strike / spot, years, scale)
        if under.security_type == SecurityType.FUTURE:
            mid = black76_price(spot, strike, years, self.rate, sigma, calls)
        else:
            mid = bs_price(spot, strike, years, self.rate, q, sigma, calls)
        tick = _TICKS.get(symbols[0].id.symbol, _TICKS.get(base, 0.01))
        half = np.maximum(tick, np.round(0.02 * mid / tick) * tick)  # a few ticks wide
        mid = np.maximum(np.round(mid / tick) * tick, tick)
        bid = np.maximum(mid - half, 0.0)
        ask = mid + half
        minute = ny.hour * 60 + ny.minute
        noise = np.array([(zlib.crc32(f"{s.value}{minute}".encode()) % 1000) / 1000.0 for s in symbols])
        return bid, ask, 2.0 * tick * noise
