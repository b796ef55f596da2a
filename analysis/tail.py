"""The tail view of a short-premium book: its worst drawdowns, the shape of its daily returns (skew,
kurtosis, VaR, CVaR) and rolling Sharpe / volatility / beta.

The statistics are numpy, written to empyrical-reloaded's and scipy.stats' definitions (the tests
check them against both, as ``monitoring.performance`` does): importing empyrical pulls in pandas
and scipy.stats, over a second of CPU on every backtest for a few means and percentiles.

Conventions: daily simple returns of net liquidation (the first from the starting cash), 252
sessions a year, historical VaR / CVaR at 95% (the 5% worst days), excess kurtosis (normal = 0)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from monitoring.performance import PERIODS_PER_YEAR, returns_from_values

VAR_CUTOFF = 0.05
ROLLING_WINDOW = 63  # sessions: about one quarter (shorter runs: half the run, at least MIN_WINDOW)
MIN_WINDOW = 10
WORST_DRAWDOWNS = 10


@dataclass(frozen=True)
class Drawdown:
    depth: float  # negative share of the peak
    peak: date  # last session at the old high
    trough: date
    recovered: date | None  # first session back at the old high; None while still under water
    sessions: int  # peak to recovery, or to the last session


@dataclass(frozen=True)
class Distribution:
    sessions: int
    skew: float
    excess_kurtosis: float
    var: float  # daily return at the VAR_CUTOFF quantile (negative = loss)
    cvar: float  # mean daily return of the days at or below it
    worst_day: float
    best_day: float


@dataclass(frozen=True)
class Rolling:
    window: int  # sessions
    days: list[date]
    sharpe: list[float]
    volatility: list[float]
    beta: list[float]  # NaN where the benchmark has no close


def daily_returns(values: Sequence[float], start_value: float) -> np.ndarray | None:
    """None when the path has a non-positive or non-finite value (returns are undefined)."""
    try:
        return returns_from_values(list(values), start_value)
    except ValueError:
        return None


def worst_drawdowns(
    days: Sequence[date], values: Sequence[float], start_value: float, n: int = WORST_DRAWDOWNS
) -> list[Drawdown]:
    """The ``n`` deepest distinct drawdown episodes, deepest first.  An episode runs from a high
    to the session that regains it; each has one trough."""
    if not values:
        return []
    path = np.asarray([start_value, *values], dtype=float)
    labels = [None, *days]  # index 0 is the starting cash, before the first session
    peak_i, episodes = 0, []
    trough_i: int | None = None
    for i in range(1, len(path)):
        if path[i] >= path[peak_i]:
            if trough_i is not None:
                episodes.append(_episode(path, labels, peak_i, trough_i, i))
                trough_i = None
            peak_i = i
        elif trough_i is None or path[i] < path[trough_i]:
            trough_i = i
    if trough_i is not None:
        episodes.append(_episode(path, labels, peak_i, trough_i, None))
    return sorted(episodes, key=lambda e: e.depth)[:n]


def _episode(path: np.ndarray, labels: list, peak: int, trough: int, recovered: int | None) -> Drawdown:
    end = recovered if recovered is not None else len(path) - 1
    peak_day = labels[peak] if labels[peak] is not None else labels[1]
    return Drawdown(
        float(path[trough] / path[peak] - 1.0),
        peak_day,
        labels[trough],
        None if recovered is None else labels[recovered],
        end - max(peak, 1),
    )


def distribution(returns: np.ndarray) -> Distribution | None:
    """None with fewer than 3 returns (no shape to speak of)."""
    r = np.asarray(returns, dtype=float)
    if r.size < 3:
        return None
    flat = float(np.max(r) - np.min(r)) == 0.0
    centred = r - r.mean()
    m2 = np.mean(centred**2)
    return Distribution(
        sessions=int(r.size),
        # scipy.stats.skew / kurtosis (biased, Fisher): the third and fourth central moments
        skew=math.nan if flat else float(np.mean(centred**2 * centred) / m2**1.5),
        excess_kurtosis=math.nan if flat else float(np.mean((centred**2) ** 2) / m2**2 - 3.0),
        # empyrical.value_at_risk / conditional_value_at_risk
        var=float(np.percentile(r, 100 * VAR_CUTOFF)),
        cvar=_cvar(r),
        worst_day=float(np.min(r)),
        best_day=float(np.max(r)),
    )


def _cvar(r: np.ndarray) -> float:
    """The mean of the returns at or below the VAR_CUTOFF order statistic."""
    cut = int((len(r) - 1) * VAR_CUTOFF)
    return float(np.mean(np.partition(r, cut)[: cut + 1]))


def rolling_window(sessions: int) -> int | None:
    """One quarter, or half of a run shorter than two quarters; None below two minimum windows."""
    if sessions < 2 * MIN_WINDOW:
        return None
    return min(ROLLING_WINDOW, sessions // 2)


def rolling(
    days: Sequence[date], returns: np.ndarray, benchmark_prices: Mapping[date, float]
) -> Rolling | None:
    """Rolling annualised Sharpe and volatility, and beta to the benchmark's daily returns (days
    without a benchmark close are left out of the beta); None when the run is too short.
    As empyrical's roll_sharpe_ratio, roll_annual_volatility and roll_beta."""
    if len(days) != len(returns):
        raise ValueError(f"{len(days)} days but {len(returns)} returns")
    window = rolling_window(len(returns))
    if window is None:
        return None
    r = _windows(np.asarray(returns, dtype=float), window)
    prices = np.array([benchmark_prices.get(d, math.nan) for d in days], dtype=float)
    bench = np.full(len(prices), math.nan)
    bench[1:] = prices[1:] / prices[:-1] - 1.0  # NaN where a close is missing
    b = _windows(bench, window)
    std = np.nanstd(r, axis=0, ddof=1)
    std = np.where(np.max(r, axis=0) == np.min(r, axis=0), 0.0, std)  # flat: exactly zero
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a window without benchmark closes: NaN
        sharpe = np.nanmean(r, axis=0) / std * np.sqrt(PERIODS_PER_YEAR)
        residual = b - np.nanmean(b, axis=0)
        variance = np.nanmean(residual**2, axis=0)
        variance[variance < 1.0e-30] = math.nan
        beta = np.nanmean(residual * r, axis=0) / variance
    vol = np.nanstd(r, axis=0, ddof=1) * PERIODS_PER_YEAR ** (1.0 / 2.0)
    return Rolling(window, list(days)[window - 1 :], _floats(sharpe), _floats(vol), _floats(beta))


def _windows(values: np.ndarray, window: int) -> np.ndarray:
    """Column j holds values[j : j + window]."""
    return np.lib.stride_tricks.sliding_window_view(values, window).T


def _floats(values: object) -> list[float]:
    return [float(v) for v in np.asarray(values, dtype=float).tolist()]
