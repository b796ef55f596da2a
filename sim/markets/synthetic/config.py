"""Parameters of the synthetic market, validated up front so a bad value fails with a clear message
instead of producing a strange market hours into a backtest."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from datetime import date


@dataclass(frozen=True)
class SyntheticConfig:
    """Everything the synthetic market depends on; the same config gives the same market, byte for byte.

    Vols and rates are annual decimals.  "Trading time" counts 252 trading days a year, each with
    ``overnight_share`` of its variance in the overnight gap and the rest spread over the session.
    """

    seed: int = 7
    start: date = date(2025, 1, 2)
    end: date = date(2025, 12, 31)
    step_minutes: int = 5
    # --- SPX and VIX
    spx_start: float = 5800.0
    vix_start: float = 16.0
    rate: float = 0.04
    spx_dividend: float = 0.013
    spx_drift: float = 0.06  # annual price drift of SPX (trading time)
    realised_to_implied: float = 0.7  # SPX diffusive vol = this x VIX/100; with jumps, realised ~0.85 x VIX
    vix_long_run: float = 18.0  # average VIX, spikes included (calm spells sit lower, ~14-15)
    vix_mean_reversion: float = 6.0  # kappa of log-VIX per year (half-life ~6 weeks)
    vix_vol: float = 0.95  # annual vol of log-VIX
    spx_vix_corr: float = -0.75  # between SPX diffusion and log-VIX shocks
    vix_floor: float = 9.0
    vix_cap: float = 80.0  # VIX's record close; log-VIX is held inside [floor, cap]
    jumps_per_year: float = 3.0  # at VIX = vix_long_run; the rate scales with VIX (jumps cluster)
    jump_min: float = 0.02  # down-jump sizes, uniform in [jump_min, jump_max] (log return)
    jump_max: float = 0.08
    jump_vix_beta: float = 8.0  # log-VIX rises by beta x |jump| (a -5 % gap lifts VIX by ~50 %)
    overnight_share: float = 0.3  # share of a day's variance in the overnight gap (news, macro at 08:30)
    # --- other underlyings
    spy_tracking_bp: float = 2.0  # stationary std of SPY's tracking error to SPX/10, basis points
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
    cl_vol: float = 0.35  # realised vol of crude
    cl_carry: float = 0.02  # futures curve F = S e^{carry T} (mild contango)
    cl_spx_corr: float = 0.2
    gc_start: float = 2650.0
    gc_vol: float = 0.15
    gc_carry: float = 0.045
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
        if not (isinstance(self.start, date) and isinstance(self.end, date)):
            out.append("start and end must be dates")
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
        non_negative = ("jumps_per_year", "jump_vix_beta", "spy_tracking_bp", "qqq_idio_vol", "iwm_idio_vol")
        non_negative += ("spx_dividend", "qqq_dividend", "iwm_dividend")
        out += [f"{n} must be >= 0 (got {getattr(self, n)})" for n in non_negative if getattr(self, n) < 0]
        for name in ("spx_vix_corr", "cl_spx_corr"):
            if not -1.0 <= getattr(self, name) <= 1.0:
                out.append(f"{name} must be in [-1, 1] (got {getattr(self, name)})")
        if not -0.05 <= self.rate <= 0.25:
            out.append(f"rate must be in [-0.05, 0.25] (got {self.rate})")
        if self.jump_max > 0.5 or self.jump_min > self.jump_max:
            out.append(f"need 0 < jump_min <= jump_max <= 0.5 (got {self.jump_min}, {self.jump_max})")
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
