"""How each option root is listed and quoted: contract terms, strike grid, ticks and spreads.

Strike grids follow what the exchanges list (and LEAN's real chains show, see tests/calibration):
fine steps near the money, coarser steps further out, each band's reach set in standard deviations
of the expiry's move and clamped to a range of distances.  SPX/SPXW: 5 points, then 25, then 100;
ES and MES: 5 points, then 25, then 100; SPY/QQQ/IWM: $1 (down to -30 % for expiries within a week, as the
weeklies list), then $5; XSP $1 then $5; crude $0.50 then $2.50; gold $5 then $25.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.types import ExerciseStyle, SecurityKind, Settlement


@dataclass(frozen=True)
class Band:
    """Strikes at multiples of ``step`` out to ``clamp(sds x sd, lo, hi)`` (log distance from the price)."""

    step: float
    sds: float
    lo: float
    hi: float

    def reach(self, sd: float) -> float:
        return min(max(self.sds * sd, self.lo), self.hi)


@dataclass(frozen=True)
class RootSpec:
    """How one option root is listed, quoted and priced."""

    root: str
    family: str  # vol-surface family: spx, qqq, iwm, cl, gc
    kind: SecurityKind
    style: ExerciseStyle
    settlement: Settlement
    multiplier: float
    bands: tuple[Band, ...]  # finest first
    tick_small: float
    tick_large: float
    tick_switch: float  # premium at which the tick goes from small to large
    spread_pct: float  # half-spread as a share of the premium at VIX 20, far from expiry
    base_oi: float  # open interest at the money (falls with distance)
    base_volume: float
    underlying: str = ""  # fixed underlying key; empty for futures options (one future per expiry)
    weekly_reach: float = 0.0  # fine strikes down to this distance for expiries within a week
    spread_ticks: float = 0.5  # half-spread floor in ticks; rounding outwards adds about one tick

    @property
    def on_future(self) -> bool:
        return self.settlement is Settlement.FUTURE

    @property
    def fine_step(self) -> float:
        return self.bands[0].step


_INDEX_BANDS = (Band(5.0, 3.5, 0.04, 0.12), Band(25.0, 8.0, 0.15, 0.35), Band(100.0, 12.0, 0.35, 0.75))
_EQUITY_BANDS = (Band(1.0, 3.0, 0.05, 0.15), Band(5.0, 8.0, 0.40, 0.60))
_XSP_BANDS = (Band(1.0, 4.0, 0.06, 0.15), Band(5.0, 8.0, 0.15, 0.35))
_ES_BANDS = (*_INDEX_BANDS[:2], Band(100.0, 12.0, 0.40, 0.60))
_CL_BANDS = (Band(0.5, 4.0, 0.10, 0.25), Band(2.5, 8.0, 0.40, 0.60))
_GC_BANDS = (Band(5.0, 4.0, 0.05, 0.12), Band(25.0, 8.0, 0.25, 0.40))


def _index(root: str, underlying: str, bands: tuple[Band, ...], ticks: tuple[float, float], oi: float,
           vol: float) -> RootSpec:  # fmt: skip
    return RootSpec(root, "spx", SecurityKind.INDEX_OPTION, ExerciseStyle.EUROPEAN, Settlement.CASH, 100.0,
                    bands, ticks[0], ticks[1], 3.0, 0.005, oi, vol, underlying, spread_ticks=0.3)  # fmt: skip


def _equity(root: str, family: str) -> RootSpec:
    return RootSpec(root, family, SecurityKind.EQUITY_OPTION, ExerciseStyle.AMERICAN, Settlement.SHARES, 100.0,
                    _EQUITY_BANDS, 0.01, 0.01, 3.0, 0.006, 8000.0, 3000.0, root, weekly_reach=0.37,
                    spread_ticks=0.1)  # fmt: skip


def _future(root: str, family: str, mult: float, bands: tuple[Band, ...], ticks: tuple[float, float, float],
            spread: float) -> RootSpec:  # fmt: skip
    return RootSpec(root, family, SecurityKind.FUTURE_OPTION, ExerciseStyle.AMERICAN, Settlement.FUTURE, mult,
                    bands, ticks[0], ticks[1], ticks[2], spread, 3000.0, 800.0, spread_ticks=0.4)  # fmt: skip


ROOTS: dict[str, RootSpec] = {
    "SPXW": _index("SPXW", "SPX", _INDEX_BANDS, (0.05, 0.10), 6000.0, 3000.0),
    "SPX": _index("SPX", "SPX", _INDEX_BANDS, (0.05, 0.10), 4000.0, 800.0),
    "XSP": _index("XSP", "XSP", _XSP_BANDS, (0.01, 0.05), 800.0, 300.0),
    "SPY": _equity("SPY", "spx"),
    "QQQ": _equity("QQQ", "qqq"),
    "IWM": _equity("IWM", "iwm"),
    # CME: 0.25 index points, 0.05 for premiums up to 5.00
    "ES": _future("ES", "spx", 50.0, _ES_BANDS, (0.05, 0.25, 5.0), 0.001),
    # Micro E-mini: a tenth of ES, listed and quoted at the ES level (the rulebook's /MES fallback)
    "MES": _future("MES", "spx", 5.0, _ES_BANDS, (0.05, 0.25, 5.0), 0.001),
    "CL": _future("CL", "cl", 1000.0, _CL_BANDS, (0.01, 0.01, 3.0), 0.003),
    "GC": _future("GC", "gc", 100.0, _GC_BANDS, (0.10, 0.10, 3.0), 0.003),
}


UPSIDE = 0.5  # the farthest band lists calls half as far out as puts (log distance)


def strike_grid(price: float, sd: float, spec: RootSpec, days: float = math.inf) -> np.ndarray:
    """Strikes listed around ``price`` for an expiry ``days`` away whose move has standard deviation
    ``sd`` (log terms): each band's multiples of its step within its reach (the farthest band's
    upside only half as far), merged and sorted."""
    parts = []
    last = len(spec.bands) - 1
    for i, band in enumerate(spec.bands):
        down = band.reach(sd)
        up = UPSIDE * down if i == last and i > 0 else down
        up = max(up, spec.bands[i - 1].reach(sd)) if i > 0 else up
        if i == 0 and days <= 7.0:
            down = max(down, spec.weekly_reach)
        lo = max(math.ceil(price * math.exp(-down) / band.step - 1e-9), 1)
        hi = math.floor(price * math.exp(up) / band.step + 1e-9)
        parts.append(np.arange(lo, hi + 1) * band.step)
    return np.round(np.unique(np.concatenate(parts)), 6)
