"""Account phase (from NLV) and volatility regime (from VIX): the two dials that decide which
strategies may open and how much buying power they may use.  Both strategies and risk read them,
so they live in core."""

from __future__ import annotations

from bisect import bisect_right
from enum import IntEnum

from core.settings import Settings


class Regime(IntEnum):
    EXTREMELY_LOW = 0
    LOW = 1
    NORMAL = 2
    ELEVATED = 3
    HIGH = 4
    EXTREME = 5


def account_phase(nlv: float, settings: Settings) -> int:
    """0 below the first threshold (monitor only), up to 4."""
    return bisect_right(settings.phase_nlv_thresholds, nlv)


def vix_regime(vix: float | None, settings: Settings) -> Regime:
    """Unknown VIX is treated as EXTREME: the most restrictive regime, never a guess."""
    if vix is None or vix != vix:
        return Regime.EXTREME
    return Regime(bisect_right(settings.regime_vix_bounds, vix))


def max_bp_fraction(nlv: float, vix: float | None, settings: Settings) -> float:
    """Share of NLV that may be used as buying power: the phase cap, bounded by the regime cap."""
    phase = account_phase(nlv, settings)
    return min(settings.phase_max_bp[phase], settings.regime_max_bp[vix_regime(vix, settings)])
