"""Intraday paths on the run's step grid, bridged through each session's open and close.

Why: the daily skeleton (``daily.py``) fixes every session's open and close; inside a session each
series is a Brownian bridge between them whose variance follows the intraday U-shape
(``grid.session_share``), with its own randomness keyed by (seed, date), so a session's path is the
same in any window.  An intraday SPX jump is a step at its time (VIX steps with it).  Replayed
history passes each day's high and low: the SPX bridge then runs open -> first extreme -> second
extreme -> close and stays inside the day's range.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.markets.synthetic.config import SyntheticConfig
from sim.markets.synthetic.daily import TRADING_DAYS, DailyPaths, day_draws
from sim.markets.synthetic.grid import TimeGrid

_NAMES = ("spx", "vix", "spy", "qqq", "iwm", "cl", "gc", "cl_vol", "gc_vol", "cl_carry")


@dataclass(frozen=True)
class Paths:
    """Fair (unrounded) values at every grid point; ``jumps`` holds the log jump of each move (0 if none).
    ``cl_vol`` / ``gc_vol`` are crude's and gold's 30-day ATM implied vols, ``cl_carry`` crude's curve slope."""

    spx: np.ndarray
    vix: np.ndarray
    spy: np.ndarray
    qqq: np.ndarray
    iwm: np.ndarray
    cl: np.ndarray
    gc: np.ndarray
    cl_vol: np.ndarray
    gc_vol: np.ndarray
    cl_carry: np.ndarray
    jumps: np.ndarray

    def series(self, name: str) -> np.ndarray:
        return getattr(self, name)


def _bridge(a: float, b: float, share: np.ndarray, sd: float, z: np.ndarray) -> np.ndarray:
    """Log path from ``a`` to ``b``: a Brownian bridge whose variance up to each point is ``share`` x sd^2."""
    steps = np.sqrt(np.maximum(np.diff(share), 0.0)) * sd * z[1:]
    walk = np.concatenate([[0.0], np.cumsum(steps)])
    return a + share * (b - a) + walk - share * walk[-1]


def _through_range(o: float, hi: float, lo: float, c: float, share: np.ndarray, sd: float, z: np.ndarray,
                   u: np.ndarray) -> np.ndarray:  # fmt: skip
    """Log path open -> high/low -> low/high -> close that touches both extremes and stays between them.
    The extreme nearer the open in price comes first more often (a gap down tends to make the low early)."""
    n = len(share)
    if n < 4:
        return np.interp(share, [0.0, 1.0], [o, c])
    low_first = u[0] < (0.5 + 0.5 * (hi - o - (o - lo)) / max(hi - lo, 1e-12))
    t1, t2 = sorted(1 + (u[1:3] * (n - 2)).astype(int))
    t2 = max(t2, t1 + 1) if t1 + 1 < n - 1 else t1
    first, second = (lo, hi) if low_first else (hi, lo)
    path = np.empty(n)
    for (i, j), (a, b) in zip(((0, t1), (t1, t2), (t2, n - 1)), ((o, first), (first, second), (second, c)),
                              strict=True):  # fmt: skip
        seg = share[i : j + 1]
        span = seg[-1] - seg[0]
        local = (seg - seg[0]) / span if span > 0 else np.linspace(0.0, 1.0, len(seg))
        path[i : j + 1] = _bridge(a, b, local, sd * math.sqrt(max(span, 0.0)), z[i : j + 1])
    path = np.clip(path, lo, hi)
    path[t1], path[t2] = first, second
    path[0], path[-1] = o, c
    return path


def generate(cfg: SyntheticConfig, grid: TimeGrid, daily: DailyPaths) -> Paths:
    """Every series at every grid point of the run."""
    n_points = len(grid.times)
    out = {name: np.empty(n_points) for name in _NAMES}
    jumps = np.zeros(n_points)
    done = np.asarray(grid.done)
    elapsed = np.asarray(grid.elapsed)
    h_s = (1.0 - cfg.overnight_share) / TRADING_DAYS
    rho, lf = cfg.spx_vix_corr, math.log(cfg.vix_floor)
    bounds = [*grid.day_start, n_points]
    for k, day in enumerate(grid.days):
        lo, hi = bounds[k], bounds[k + 1]
        share = done[lo:hi]
        rng = day_draws(cfg.seed, day, 1)
        z = rng.standard_normal((9, hi - lo))
        u = rng.random(3)
        o, c = daily.open, daily.close
        log_o = {
            name: math.log(o[name][k])
            for name in ("spx", "vix", "qqq", "iwm", "cl", "gc", "cl_vol", "gc_vol")
        }
        log_c = {name: math.log(c[name][k]) for name in log_o}
        sig = cfg.realised_to_implied * o["vix"][k] / 100.0
        jump, at = float(daily.jump[k]), float(daily.jump_at[k])
        step = np.zeros(hi - lo)
        jumps[lo] = daily.gap_jump[k] if k > 0 else 0.0
        if jump != 0.0:
            hit = lo + int(np.searchsorted(elapsed[lo:hi], at))
            step[hit - lo :] = 1.0
            jumps[min(hit, hi - 1)] = jump
        if daily.high is not None and daily.low is not None:
            spx = _through_range(log_o["spx"], math.log(daily.high[k]), math.log(daily.low[k]), log_c["spx"], share,
                                 sig * math.sqrt(h_s), z[0], u)  # fmt: skip
        else:
            spx = _bridge(log_o["spx"], log_c["spx"] - jump, share, sig * math.sqrt(h_s), z[0]) + jump * step
        spx_move = spx - log_o["spx"]
        v_jump = -cfg.jump_vix_beta * jump if jump < 0 else -0.5 * cfg.jump_vix_beta * jump
        zv = rho * z[0] + math.sqrt(1.0 - rho * rho) * z[1]
        vix = (
            _bridge(log_o["vix"], log_c["vix"] - v_jump, share, cfg.vix_vol * math.sqrt(h_s), zv)
            + v_jump * step
        )
        out["spx"][lo:hi] = np.exp(spx)
        out["vix"][lo:hi] = np.exp(np.where(vix < lf, 2.0 * lf - vix, vix))
        out["spy"][lo:hi] = out["spx"][lo:hi] / 10.0 * np.exp(cfg.spy_tracking_bp * 1e-4 * z[2])
        for name, beta, idio, zi in (("qqq", cfg.qqq_beta, cfg.qqq_idio_vol, z[3]),
                                     ("iwm", cfg.iwm_beta, cfg.iwm_idio_vol, z[4])):  # fmt: skip
            own = log_c[name] - log_o[name] - beta * (log_c["spx"] - log_o["spx"])
            out[name][lo:hi] = np.exp(
                log_o[name] + beta * spx_move + _bridge(0.0, own, share, idio * math.sqrt(h_s), zi)
            )
        for name, zi in (("cl", z[5]), ("gc", z[7])):
            vol = o[f"{name}_vol"][k] / cfg.commodity_iv_premium
            out[name][lo:hi] = np.exp(_bridge(log_o[name], log_c[name], share, vol * math.sqrt(h_s), zi))
        for name, vv, zi in (("cl_vol", cfg.cl_vol_vol, z[6]), ("gc_vol", cfg.gc_vol_vol, z[8])):
            out[name][lo:hi] = np.exp(_bridge(log_o[name], log_c[name], share, vv * math.sqrt(h_s), zi))
        out["cl_carry"][lo:hi] = o["cl_carry"][k] + share * (c["cl_carry"][k] - o["cl_carry"][k])
    return Paths(**out, jumps=jumps)
