"""Parameters of the synthetic market, validated up front so a bad value fails with a clear message
instead of producing a strange market hours into a backtest."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from datetime import date


@dataclass(frozen=True)
class SyntheticConfig:
    """Everything the synthetic market depends on; the same config gives the same market, byte for byte,
    and ``start`` / ``end`` only choose a window of the seed's one path (walked from ``anchor``).

    Vols and rates are annual decimals.  "Trading time" counts 252 trading days a year, each with
    ``overnight_share`` of its variance in the overnight gap and the rest spread over the session.
    """

    seed: int = 7
    start: date = date(2025, 1, 2)
    end: date = date(2025, 12, 31)
    step_minutes: int = 5
    anchor: date = date(2025, 1, 2)  # the session that opens at the *_start prices; one path per seed
    # --- SPX and VIX
    spx_start: float = 5800.0
    vix_start: float = 16.0
    rate: float = 0.04
    spx_dividend: float = 0.013
    spx_drift: float = 0.06  # annual price drift of SPX (trading time)
    realised_to_implied: float = 0.66  # SPX diffusive vol = this x VIX/100; with jumps, realised ~0.72 x VIX
    vix_long_run: float = 18.0  # average VIX, spikes included (calm spells sit lower, ~14-15)
    vix_mean_reversion: float = 6.0  # kappa of log-VIX per year (half-life ~6 weeks)
    vix_vol: float = 0.95  # annual vol of log-VIX
    spx_vix_corr: float = -0.75  # between SPX diffusion and log-VIX shocks
    vix_floor: float = 8.6  # a reflecting floor at VIX's record low (8.56 intraday, Nov 2017)
    vix_cap: float = 85.0  # VIX's record close 82.7 (Mar 2020); reflecting too
    jumps_per_year: float = 3.0  # at VIX = vix_long_run; the rate scales with VIX (jumps cluster)
    jump_min: float = 0.015  # jump sizes, uniform in [jump_min, jump_max] (log return) for gaps down...
    jump_max: float = 0.06
    jump_up_max: float = 0.04  # ...and [jump_min, jump_up_max] for gaps up
    jump_up_share: float = 0.3  # share of jumps that are up
    jump_at_open: float = (
        0.75  # share of jumps that gap at the open; the rest hit during the session at half size
    )
    jump_vix_beta: float = 8.0  # log-VIX rises by beta x |jump| on a drop (a -5 % gap lifts VIX by ~50 %), half that falls on a rise
    overnight_share: float = 0.3  # share of a day's variance in the overnight gap (news, macro at 08:30)
    # --- other underlyings
    spy_tracking_bp: float = 2.0  # std of SPY's tracking error to SPX/10, basis points
    qqq_start: float = 515.0
    qqq_beta: float = 1.2
    qqq_idio_vol: float = 0.10
    qqq_dividend: float = 0.006
    qqq_iv_scale: float = 1.2
    iwm_start: float = 225.0
    iwm_beta: float = 1.1
    iwm_idio_vol: float = 0.12
    iwm_dividend: float = 0.012
    iwm_iv_scale: float = 1.3
    cl_start: float = 72.0
    cl_vol: float = 0.35  # long-run realised vol of crude
    cl_vol_kappa: float = 4.0  # mean reversion of crude's log-vol per year
    cl_vol_vol: float = 0.9  # annual vol of crude's log-vol
    cl_vol_corr: float = -0.4  # crude's vol rises as it falls (a put skew)
    cl_carry: float = 0.02  # average futures curve slope F = S e^{carry T} (mild contango)...
    cl_carry_kappa: float = 2.0  # ...mean-reverting...
    cl_carry_vol: float = 0.15  # ...with this annual vol: the curve swings between contango and backwardation
    cl_spx_corr: float = 0.2
    gc_start: float = 2650.0
    gc_vol: float = 0.15
    gc_vol_kappa: float = 4.0
    gc_vol_vol: float = 0.6
    gc_vol_corr: float = 0.3  # gold's vol rises with it (a call skew)
    gc_carry: float = 0.045  # gold's curve is financing: rate less a small lease rate
    commodity_iv_premium: float = 1.1  # implied ATM vol of CL/GC = premium x their realised vol

    def dividend(self, underlying: str) -> float:
        """Dividend yield of a spot underlying (0 for futures and anything else)."""
        yields = {"SPX": self.spx_dividend, "XSP": self.spx_dividend, "SPY": self.spx_dividend,
                  "QQQ": self.qqq_dividend, "IWM": self.iwm_dividend}  # fmt: skip
        return yields.get(underlying, 0.0)

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise ValueError("invalid SyntheticConfig: " + "; ".join(problems))

    def problems(self) -> list[str]:
        """Every violated rule, so one error message lists all of them."""
        out: list[str] = []
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and not math.isfinite(value):
                out.append(f"{f.name} must be finite (got {value})")
        if out:
            return out
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            out.append(f"seed must be a non-negative int (got {self.seed!r})")
        if not all(isinstance(d, date) for d in (self.start, self.end, self.anchor)):
            out.append("start, end and anchor must be dates")
        elif self.end < self.start:
            out.append(f"end {self.end} is before start {self.start}")
        if not isinstance(self.step_minutes, int) or not 1 <= self.step_minutes <= 390:
            out.append(f"step_minutes must be an int in 1..390 (got {self.step_minutes!r})")
        positive = (
            "spx_start",
            "vix_start",
            "vix_long_run",
            "vix_mean_reversion",
            "vix_vol",
            "vix_floor",
            "vix_cap",
        )
        positive += ("qqq_start", "iwm_start", "cl_start", "gc_start", "cl_vol", "gc_vol", "qqq_iv_scale")
        positive += ("iwm_iv_scale", "commodity_iv_premium", "realised_to_implied", "jump_min", "jump_max")
        out += [f"{n} must be > 0 (got {getattr(self, n)})" for n in positive if not getattr(self, n) > 0]
        positive += ("jump_up_max", "cl_vol_kappa", "gc_vol_kappa", "cl_carry_kappa")
        non_negative = ("jumps_per_year", "jump_vix_beta", "spy_tracking_bp", "qqq_idio_vol", "iwm_idio_vol")
        non_negative += ("cl_vol_vol", "gc_vol_vol", "cl_carry_vol")
        non_negative += ("spx_dividend", "qqq_dividend", "iwm_dividend")
        out += [f"{n} must be >= 0 (got {getattr(self, n)})" for n in non_negative if getattr(self, n) < 0]
        for name in ("jump_up_share", "jump_at_open"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                out.append(f"{name} must be in [0, 1] (got {getattr(self, name)})")
        for name in ("spx_vix_corr", "cl_spx_corr", "cl_vol_corr", "gc_vol_corr"):
            if not -1.0 <= getattr(self, name) <= 1.0:
                out.append(f"{name} must be in [-1, 1] (got {getattr(self, name)})")
        if not -0.05 <= self.rate <= 0.25:
            out.append(f"rate must be in [-0.05, 0.25] (got {self.rate})")
        if max(self.jump_max, self.jump_up_max) > 0.5 or self.jump_min > min(self.jump_max, self.jump_up_max):
            out.append(
                f"need 0 < jump_min <= jump_max, jump_up_max <= 0.5 (got {self.jump_min}, {self.jump_max}, "
                f"{self.jump_up_max})"
            )
        if not 0.0 <= self.overnight_share < 1.0:
            out.append(f"overnight_share must be in [0, 1) (got {self.overnight_share})")
        if self.realised_to_implied > 2.0:
            out.append(f"realised_to_implied must be <= 2 (got {self.realised_to_implied})")
        if (
            not self.vix_floor
            < min(self.vix_start, self.vix_long_run)
            <= max(self.vix_start, self.vix_long_run)
            < self.vix_cap
        ):
            out.append("need vix_floor < vix_start, vix_long_run < vix_cap")
        for name in ("cl_vol", "gc_vol", "qqq_idio_vol", "iwm_idio_vol", "vix_vol"):
            if getattr(self, name) > 3.0:
                out.append(f"{name} must be <= 3 (got {getattr(self, name)})")
        return out
