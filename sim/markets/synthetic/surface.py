"""The implied-vol surface: an ATM term structure anchored on VIX (or a commodity's own vol) and a
skew/smile in standard deviations, calibrated against LEAN's real chains (``tests/calibration``).

Vols here are per trading-time year, the unit of the paths, so the implied distribution of a 0DTE
option matches the move the paths will actually make.  ``iv_calendar`` converts to the calendar-time
vol the Greeks (and LEAN) use.

Term structure: 30-day ATM vol is ``ATM_TO_VIX`` x VIX (VIX also prices the skew); away from 30
days the deviation from the long-run level decays OU-style (inverted when VIX is high), and the
first days are cheaper still (``SHORT_DISCOUNT``): real SPXW 0-7 DTE ATM vols sit at 0.65-0.85 x VIX
in trading time, ES 2-6 months at ~0.95 x a low VIX.
"""

from __future__ import annotations

import math

import numpy as np

from sim.markets.synthetic.config import SyntheticConfig

ATM_TO_VIX = 0.82  # 30-day ATM vol / VIX
TERM_KAPPA = 2.5  # per year: how fast the implied term structure returns to its long-run level
SHORT_DISCOUNT = 0.2  # the shortest options' ATM vol is this much below the 30-day curve...
SHORT_DAYS = 20.0  # ...fading over about this many calendar days
_TAU_30D = 30.0 / 365.0
MIN_TAU = 1.0 / (252.0 * 390.0)  # one trading minute: floors sd and vol where time runs out
IV_MAX = 4.5  # under the data-quality ceiling of 5

# (skew slope, skew width, smile, smile width) in units of the ATM standard deviation
SHAPES: dict[str, tuple[float, float, float, float]] = {
    "spx": (0.35, 1.5, 0.12, 1.0),  # steep put skew, calls cheapen then turn up far out
    "qqq": (0.35, 1.5, 0.12, 1.0),
    "iwm": (0.30, 1.5, 0.12, 1.0),
    "cl": (0.12, 1.5, 0.10, 1.0),  # a put skew, both wings lifted
    "gc": (-0.08, 1.5, 0.08, 1.0),  # a call skew
}
COMMODITIES = ("cl", "gc")


def _term_weight(tau: np.ndarray) -> np.ndarray:
    """Average of an exponentially decaying deviation over ``tau`` (1 at tau = 0), OU-style."""
    k = TERM_KAPPA * np.maximum(tau, 1e-9)
    return -np.expm1(-k) / k


def _short_factor(tau: np.ndarray) -> np.ndarray:
    """The discount of the first days, 1 at 30 days."""
    days = np.maximum(tau, 0.0) * 365.0
    return (1.0 - SHORT_DISCOUNT * np.exp(-days / SHORT_DAYS)) / _SHORT_30


_SHORT_30 = 1.0 - SHORT_DISCOUNT * math.exp(-30.0 / SHORT_DAYS)


_W30 = float(_term_weight(np.asarray(_TAU_30D)))


def atm_vol(family: str, level: float, tau: np.ndarray | float, cfg: SyntheticConfig) -> np.ndarray:
    """ATM vol (trading time) at calendar maturities ``tau``.  ``level`` is VIX for the equity-index
    families (QQQ/IWM scale SPX) and the commodity's own 30-day ATM vol for crude and gold."""
    tau = np.asarray(tau, dtype=np.float64)
    if family in COMMODITIES:
        long_run = (cfg.cl_vol if family == "cl" else cfg.gc_vol) * cfg.commodity_iv_premium
        return np.maximum(long_run + (level - long_run) * _term_weight(tau) / _W30, 0.03)
    short = ATM_TO_VIX * level / 100.0
    long_run = ATM_TO_VIX * cfg.vix_long_run / 100.0
    spx = (long_run + (short - long_run) * _term_weight(tau) / _W30) * _short_factor(tau)
    return np.maximum(spx, 0.03) * _SCALE[family](cfg)


def atm_vol_at(family: str, level: float, tau: float, cfg: SyntheticConfig) -> float:
    """``atm_vol`` for one maturity, in plain floats (every expiry of every step asks for one)."""
    tau = max(tau, 0.0)
    k = TERM_KAPPA * max(tau, 1e-9)
    weight = -math.expm1(-k) / k / _W30
    if family in COMMODITIES:
        long_run = (cfg.cl_vol if family == "cl" else cfg.gc_vol) * cfg.commodity_iv_premium
        return max(long_run + (level - long_run) * weight, 0.03)
    long_run = ATM_TO_VIX * cfg.vix_long_run / 100.0
    short_factor = (1.0 - SHORT_DISCOUNT * math.exp(-tau * 365.0 / SHORT_DAYS)) / _SHORT_30
    spx = (long_run + (ATM_TO_VIX * level / 100.0 - long_run) * weight) * short_factor
    return max(spx, 0.03) * _SCALE[family](cfg)


_SCALE = {"spx": lambda c: 1.0, "qqq": lambda c: c.qqq_iv_scale, "iwm": lambda c: c.iwm_iv_scale}


def smile_ratio(
    x: np.ndarray, slope: np.ndarray, width: np.ndarray, smile: np.ndarray, smile_width: np.ndarray
):
    """IV / ATM IV at ``x`` standard deviations of log-moneyness: a saturating skew plus wings that grow
    linearly (sub-linearly in total variance, so far options still decay to nothing at expiry)."""
    return 1.0 - slope * np.tanh(x / width) + smile * (np.sqrt(1.0 + (x / smile_width) ** 2) - 1.0)


def shape_of(family: str) -> tuple[float, float, float, float]:
    return SHAPES[family]


def iv_calendar(iv_trading: np.ndarray, tau_var: np.ndarray, t_cal: np.ndarray) -> np.ndarray:
    """Calendar-time vol with the same total variance; where no time is left, the trading-time vol."""
    tv = np.maximum(tau_var, MIN_TAU)
    tc = np.maximum(t_cal, MIN_TAU * 252.0 / 365.0 / 2.0)
    ratio = np.where(t_cal > 0.0, np.sqrt(tv / tc), 1.0)
    return np.minimum(iv_trading * ratio, IV_MAX)
