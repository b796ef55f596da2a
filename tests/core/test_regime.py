"""Account phase and VIX regime boundaries."""

from __future__ import annotations

import pytest

from core.regime import Regime, account_phase, max_bp_fraction, vix_regime
from core.settings import Settings

S = Settings()


@pytest.mark.parametrize(
    ("nlv", "phase"),
    [
        (0, 0),
        (37_999.99, 0),
        (38_000, 1),
        (50_999, 1),
        (51_000, 2),
        (75_999, 2),
        (76_000, 3),
        (95_000, 4),
        (1e7, 4),
    ],
)
def test_phase_thresholds(nlv, phase):
    assert account_phase(nlv, S) == phase


@pytest.mark.parametrize(
    ("vix", "regime"),
    [(11.99, Regime.EXTREMELY_LOW), (12, Regime.LOW), (15.99, Regime.LOW), (16, Regime.NORMAL),
     (20, Regime.ELEVATED), (25, Regime.HIGH), (29.99, Regime.HIGH), (30, Regime.EXTREME), (80, Regime.EXTREME)],
)  # fmt: skip
def test_regime_boundaries(vix, regime):
    assert vix_regime(vix, S) is regime


def test_unknown_vix_is_treated_as_extreme():
    assert vix_regime(None, S) is Regime.EXTREME
    assert vix_regime(float("nan"), S) is Regime.EXTREME


def test_bp_cap_is_the_smaller_of_phase_and_regime():
    assert max_bp_fraction(40_000, 18, S) == 0.50  # phase 1 50% < regime 80%
    assert max_bp_fraction(200_000, 11, S) == 0.45  # phase 4 uses the regime cap
    assert max_bp_fraction(80_000, 14, S) == 0.60  # phase 3 75% > LOW regime 60%
    assert max_bp_fraction(20_000, 18, S) == 0.0  # phase 0: no new BP
