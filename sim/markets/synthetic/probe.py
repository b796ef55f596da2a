"""The synthetic market's option book for any contract, spot, VIX and moment, without a path.

Why: to compare the model with a real chain (``tests/calibration``) the surface, the book and the
strike grid must be asked "what would you quote for this contract if the underlying were at S and
VIX at V at this time" -- the same functions the market's chains use, fed the real conditions.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np

from core.ports import TradingCalendar
from sim.markets.synthetic.config import SyntheticConfig
from sim.markets.synthetic.grid import SECONDS_PER_YEAR, Sessions, session_share, variance_years
from sim.markets.synthetic.pricing import Priced, group_values, named, price
from sim.markets.synthetic.roots import ROOTS, strike_grid
from sim.markets.synthetic.surface import MIN_TAU


class SurfaceProbe:
    """Quotes and strike grids of the synthetic roots under given conditions, on ``calendar``."""

    def __init__(
        self, calendar: TradingCalendar, first: date, last: date, config: SyntheticConfig | None = None
    ):
        self.config = config or SyntheticConfig()
        self.calendar = calendar
        self.sessions = Sessions(calendar, first - timedelta(days=10), last)

    def group(self, root: str, when: datetime, expiry: date, underlying: float, vol_level: float) -> dict:
        """Pricing inputs of ``root``'s ``expiry`` at ``when`` (naive US/Eastern, inside a session)."""
        spec = ROOTS[root]
        day = when.date()
        open_, close = self.calendar.session_open(day), self.calendar.session_close(day)
        if open_ is None or close is None or not open_ <= when <= close:
            raise ValueError(f"{when} is not inside a session of the calendar")
        elapsed = (when - open_).total_seconds() / (close - open_).total_seconds()
        done = float(session_share(elapsed))
        cfg = self.config
        tau = variance_years(self.sessions, day, done, expiry, cfg.overnight_share)
        t_cal = max((self.sessions.close(expiry) - when).total_seconds(), 0.0) / SECONDS_PER_YEAR
        div = cfg.dividend(spec.underlying)
        return named(group_values(spec, underlying, vol_level, t_cal, tau, elapsed, div, cfg))

    def quotes(
        self, root: str, when: datetime, expiry: date, underlying: float, vol_level: float,
        strikes: np.ndarray, is_call: np.ndarray,
    ) -> Priced:  # fmt: skip
        inputs = dict(self.group(root, when, expiry, underlying, vol_level))
        inputs["strike"] = np.asarray(strikes, dtype=np.float64)
        inputs["is_call"] = np.asarray(is_call, dtype=bool)
        return price(inputs)

    def strikes(
        self, root: str, when: datetime, expiry: date, underlying: float, vol_level: float
    ) -> np.ndarray:
        """The strikes the synthetic chain of ``root``'s ``expiry`` would list at ``when``."""
        g = self.group(root, when, expiry, underlying, vol_level)
        sd = g["atm"] * float(np.sqrt(max(g["tau_var"], MIN_TAU)))
        return strike_grid(underlying, sd, ROOTS[root], g["t_cal"] * 365.0)
