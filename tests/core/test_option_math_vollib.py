"""Cross-check of our Black-Scholes-Merton prices, Greeks and implied vols against vollib (a
dev-only reference implementation; LEAN's image has no vollib)."""

from __future__ import annotations

import pytest

from core.option_math import bs_greeks, implied_vol
from tests.core.test_option_math import _random_contracts


def test_matches_vollib() -> None:
    try:
        from vollib.black_scholes_merton import black_scholes_merton
        from vollib.black_scholes_merton.greeks import analytical
        from vollib.black_scholes_merton.implied_volatility import implied_volatility
    except ImportError:
        pytest.skip("vollib not installed (dev-only cross-check; LEAN's image has no vollib)")
    c = _random_contracts(300, seed=9)
    ours = bs_greeks(**c)
    iv = implied_vol(ours.price, c["S"], c["K"], c["T"], c["r"], c["q"], c["is_call"])
    for i in range(300):
        args = (
            "c" if c["is_call"][i] else "p",
            c["S"][i],
            c["K"][i],
            c["T"][i],
            c["r"][i],
            c["sigma"][i],
            c["q"][i],
        )
        assert ours.price[i] == pytest.approx(black_scholes_merton(*args), rel=1e-9, abs=1e-9)
        assert ours.delta[i] == pytest.approx(analytical.delta(*args), rel=1e-9, abs=1e-12)
        assert ours.gamma[i] == pytest.approx(analytical.gamma(*args), rel=1e-9, abs=1e-12)
        assert ours.vega[i] == pytest.approx(analytical.vega(*args), rel=1e-9, abs=1e-12)
        assert ours.theta[i] == pytest.approx(analytical.theta(*args), rel=1e-9, abs=1e-12)
        assert ours.rho[i] == pytest.approx(analytical.rho(*args), rel=1e-9, abs=1e-12)
        if ours.vega[i] > 1e-3 * c["S"][i] * 0.01:
            theirs = implied_volatility(ours.price[i], *args[1:5], args[6], args[0])
            assert iv[i] == pytest.approx(theirs, abs=1e-6)
