"""The synthetic market's daily skeleton: every session's open and close of each series.

Why: one seed must give one path whatever window is run (a run of March-June equals the same months
inside a full-year run).  So the randomness of a session is keyed by its calendar date (a generator
seeded with (seed, date, stream)), and the path is walked from a fixed anchor session -- forwards for
later sessions, backwards (the time-reversed dynamics) for earlier ones -- never from the run's start.

Dynamics per session, in trading time (252 sessions a year, ``overnight_share`` of each in the gap):
- log-VIX mean-reverts (kappa, vix_vol) against SPX's shocks (spx_vix_corr), reflecting off a floor
  at VIX's record low and a cap above its record high;
- SPX diffuses at ``realised_to_implied`` x VIX, and jumps both ways at a VIX-dependent rate
  (``jumps_per_year`` at VIX = vix_long_run), mostly as a gap at the open; VIX spikes on drops;
- QQQ / IWM follow SPX with a beta plus their own noise; crude and gold have mean-reverting
  stochastic vol correlated with their price (crude's vol rises as it falls, gold's as it rises), and
  crude's futures curve slope (carry) mean-reverts between contango and backwardation.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from sim.markets.synthetic.config import SyntheticConfig

TRADING_DAYS = 252.0
LEVELS = ("spx", "vix", "qqq", "iwm", "cl", "gc", "cl_vol", "gc_vol")  # log-levels in the state
_N_NORMALS, _N_UNIFORMS = 17, 5


@dataclass
class DailyPaths:
    """Per run session (``days``): open and close of each series (levels; ``cl_carry`` as a rate),
    the session's SPX jump (log size, share of the session clock when it hits; 0 = none, or it gapped
    at the open) and, for replayed history, each day's SPX high and low to bridge through."""

    days: list[date]
    open: dict[str, np.ndarray]
    close: dict[str, np.ndarray]
    jump: np.ndarray
    jump_at: np.ndarray
    gap_jump: np.ndarray
    high: np.ndarray | None = None
    low: np.ndarray | None = None
    sources: dict[str, str] = field(default_factory=dict)  # series -> where it comes from (reports)


def day_draws(seed: int, day: date, stream: int) -> np.random.Generator:
    """The generator of one session's randomness: a function of (seed, date, stream) only."""
    return np.random.default_rng([seed, day.toordinal(), stream])


@dataclass
class _State:
    """Log-levels of the series plus crude's carry, at one moment."""

    x: dict[str, float]
    carry: float


class _Model:
    """Constants of one config's dynamics, and the moves of one period (overnight or session)."""

    def __init__(self, cfg: SyntheticConfig) -> None:
        self.cfg = cfg
        self.rho = cfg.spx_vix_corr
        self.base_rate = cfg.jumps_per_year / cfg.vix_long_run
        self.jump_cap = 2.0 * cfg.vix_long_run
        self.lf, self.lc = math.log(cfg.vix_floor), math.log(cfg.vix_cap)
        up, down = cfg.jump_up_share, 1.0 - cfg.jump_up_share
        mean_down, mean_up = 0.5 * (cfg.jump_min + cfg.jump_max), 0.5 * (cfg.jump_min + cfg.jump_up_max)
        # drift repays the expected jump P&L, so SPX grinds up between rare gaps
        self.comp = down * (1 - _mean_exp(-cfg.jump_max, -cfg.jump_min)) + up * (
            1 - _mean_exp(cfg.jump_min, cfg.jump_up_max)
        )
        spikes = cfg.jumps_per_year * cfg.jump_vix_beta * (down * mean_down - 0.5 * up * mean_up)
        k = cfg.vix_mean_reversion
        # centre log-VIX so that its average, lognormal convexity and jump spikes included, is vix_long_run
        self.log_theta = math.log(cfg.vix_long_run) - cfg.vix_vol**2 / (4.0 * k) - spikes / k
        self.cl_theta = math.log(cfg.cl_vol * cfg.commodity_iv_premium)
        self.gc_theta = math.log(cfg.gc_vol * cfg.commodity_iv_premium)

    def reflect(self, x: float) -> float:
        if x < self.lf:
            x = 2.0 * self.lf - x
        if x > self.lc:
            x = 2.0 * self.lc - x
        return min(max(x, self.lf), self.lc)

    def jump(self, u: np.ndarray, vix: float) -> tuple[float, bool, float]:
        """(log jump, at the open?, session share when it hits) from the session's uniforms."""
        cfg = self.cfg
        if u[0] >= self.base_rate * min(vix, self.jump_cap) / TRADING_DAYS:
            return 0.0, True, 0.0
        up = u[2] < cfg.jump_up_share
        size = cfg.jump_min + ((cfg.jump_up_max if up else cfg.jump_max) - cfg.jump_min) * u[1]
        if u[3] < cfg.jump_at_open:
            return (size if up else -size), True, 0.0
        return (0.5 * size if up else -0.5 * size), False, 0.05 + 0.9 * float(u[4])

    def vix_response(self, jump: float) -> float:
        beta = self.cfg.jump_vix_beta
        return -beta * jump if jump < 0 else -0.5 * beta * jump

    def move(self, st: _State, z: np.ndarray, h: float, jump: float, sign: float, session: bool) -> _State:
        """The state one period later (sign +1) or earlier (sign -1, the time-reversed dynamics: mean
        reversion still pulls towards the mean, shocks and jumps are undone)."""
        cfg, x = self.cfg, st.x
        o = 0 if not session else 1  # which of each pair of normals this period uses
        sq = math.sqrt(h)
        vix = math.exp(x["vix"])
        sig = cfg.realised_to_implied * vix / 100.0
        lam = self.base_rate * min(vix, self.jump_cap)
        d_spx = (cfg.spx_drift - 0.5 * sig * sig + lam * self.comp) * h + sig * sq * z[o] + jump
        zv = self.rho * z[o] + math.sqrt(1.0 - self.rho**2) * z[2 + o]
        d_vix = cfg.vix_vol * sq * zv + self.vix_response(jump)
        beta_q, beta_w = cfg.qqq_beta, cfg.iwm_beta
        d_q = beta_q * d_spx + cfg.qqq_idio_vol * sq * z[4 + o] - 0.5 * cfg.qqq_idio_vol**2 * h
        d_w = beta_w * d_spx + cfg.iwm_idio_vol * sq * z[6 + o] - 0.5 * cfg.iwm_idio_vol**2 * h
        c = cfg.cl_spx_corr
        z_cl = c * z[o] + math.sqrt(1.0 - c * c) * z[8 + o]
        cl_sig = math.exp(x["cl_vol"]) / cfg.commodity_iv_premium
        d_cl = cl_sig * sq * z_cl - 0.5 * cl_sig * cl_sig * h
        zc = cfg.cl_vol_corr
        d_clv = cfg.cl_vol_vol * sq * (zc * z_cl + math.sqrt(1.0 - zc * zc) * z[10 + o])
        gc_sig = math.exp(x["gc_vol"]) / cfg.commodity_iv_premium
        d_gc = gc_sig * sq * z[12 + o] - 0.5 * gc_sig * gc_sig * h
        zg = cfg.gc_vol_corr
        d_gcv = cfg.gc_vol_vol * sq * (zg * z[12 + o] + math.sqrt(1.0 - zg * zg) * z[14 + o])
        d_carry = cfg.cl_carry_vol * sq * z[16] if session else 0.0
        pull = {
            "vix": cfg.vix_mean_reversion * (self.log_theta - x["vix"]) * h,
            "cl_vol": cfg.cl_vol_kappa * (self.cl_theta - x["cl_vol"]) * h,
            "gc_vol": cfg.gc_vol_kappa * (self.gc_theta - x["gc_vol"]) * h,
        }
        shocks = {"spx": d_spx, "vix": d_vix, "qqq": d_q, "iwm": d_w, "cl": d_cl, "gc": d_gc, "cl_vol": d_clv,
                  "gc_vol": d_gcv}  # fmt: skip
        new = {k: x[k] + pull.get(k, 0.0) + sign * shocks[k] for k in LEVELS}
        new["vix"] = self.reflect(new["vix"])
        carry_pull = cfg.cl_carry_kappa * (cfg.cl_carry - st.carry) * h if session else 0.0
        return _State(new, st.carry + carry_pull + sign * d_carry)


def _mean_exp(a: float, b: float) -> float:
    """E[e^U] for U uniform on [a, b]."""
    return (math.exp(b) - math.exp(a)) / (b - a) if b > a else math.exp(a)


def simulate(cfg: SyntheticConfig, days: list[date], is_trading: Callable[[date], bool]) -> DailyPaths:
    """The skeleton for the run's sessions ``days``, walked from the anchor session."""
    model = _Model(cfg)
    anchor = cfg.anchor
    while not is_trading(anchor):
        anchor += timedelta(days=1)
    start = _State({"spx": math.log(cfg.spx_start), "vix": math.log(cfg.vix_start), "qqq": math.log(cfg.qqq_start),
                    "iwm": math.log(cfg.iwm_start), "cl": math.log(cfg.cl_start), "gc": math.log(cfg.gc_start),
                    "cl_vol": model.cl_theta, "gc_vol": model.gc_theta}, cfg.cl_carry)  # fmt: skip
    h_on = cfg.overnight_share / TRADING_DAYS
    h_s = (1.0 - cfg.overnight_share) / TRADING_DAYS
    wanted = set(days)
    rows: dict[date, tuple[_State, _State, float, float, float]] = {}

    def draws(d: date) -> tuple[np.ndarray, np.ndarray]:
        rng = day_draws(cfg.seed, d, 0)
        return rng.standard_normal(_N_NORMALS), rng.random(_N_UNIFORMS)

    # forwards: the anchor's session, then each later session's gap and session
    closed, d = start, anchor
    last = max(days[-1], anchor)
    while True:
        z, u = draws(d)
        jump, at_open, at = model.jump(u, math.exp(closed.x["vix"]))  # decided on the previous close
        opened = start if d == anchor else model.move(closed, z, h_on, jump if at_open else 0.0, 1.0, False)
        closed = model.move(opened, z, h_s, 0.0 if at_open else jump, 1.0, True)
        if d in wanted:
            rows[d] = (opened, closed, 0.0 if at_open else jump, at, jump if at_open else 0.0)
        if d >= last:
            break
        d = _next(d, is_trading)
    # backwards: each earlier session from the open that followed it (the gap into a session belongs
    # to that session's randomness)
    first = days[0]
    after_open, d = start, anchor
    while d > first:
        z, u = draws(d)
        jump, at_open, _ = model.jump(u, math.exp(after_open.x["vix"]))
        prev_close = model.move(after_open, z, h_on, jump if at_open else 0.0, -1.0, False)
        d = _prev(d, is_trading)
        z, u = draws(d)
        jump, at_open, at = model.jump(u, math.exp(prev_close.x["vix"]))
        prev_open = model.move(prev_close, z, h_s, 0.0 if at_open else jump, -1.0, True)
        if d in wanted:
            rows[d] = (prev_open, prev_close, 0.0 if at_open else jump, at, jump if at_open else 0.0)
        after_open = prev_open
    return _assemble(days, rows)


def _assemble(days: list[date], rows: dict) -> DailyPaths:
    opens = {k: np.exp([rows[d][0].x[k] for d in days]) for k in LEVELS}
    closes = {k: np.exp([rows[d][1].x[k] for d in days]) for k in LEVELS}
    opens["cl_carry"] = np.array([rows[d][0].carry for d in days])
    closes["cl_carry"] = np.array([rows[d][1].carry for d in days])
    return DailyPaths(
        days=list(days), open=opens, close=closes,
        jump=np.array([rows[d][2] for d in days]), jump_at=np.array([rows[d][3] for d in days]),
        gap_jump=np.array([rows[d][4] for d in days]),
        sources={k: "synthetic" for k in ("SPX", "VIX", "QQQ", "IWM", "CL", "GC")},
    )  # fmt: skip


def _next(d: date, is_trading: Callable[[date], bool]) -> date:
    d += timedelta(days=1)
    while not is_trading(d):
        d += timedelta(days=1)
    return d


def _prev(d: date, is_trading: Callable[[date], bool]) -> date:
    d -= timedelta(days=1)
    while not is_trading(d):
        d -= timedelta(days=1)
    return d
