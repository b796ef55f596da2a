"""sim.markets.synthetic books: same-day variance in trading minutes, spreads that widen with VIX and
near expiry, and each product's listed strike grid."""

from __future__ import annotations

import math
from datetime import date, datetime, time

import numpy as np
import pytest

from sim.markets.synthetic.grid import Sessions, session_share, variance_years
from sim.markets.synthetic.probe import SurfaceProbe
from tests.sim.test_synthetic_market import CAL

FRIDAY = date(2025, 3, 7)
PROBE = SurfaceProbe(CAL, date(2025, 1, 2), date(2027, 12, 31))


def _at(hh: int, mm: int, day: date = FRIDAY) -> datetime:
    return datetime.combine(day, time(hh, mm))


def test_same_day_variance_runs_on_the_session_clock_not_calendar_years() -> None:
    sessions = Sessions(CAL, date(2025, 1, 2), date(2025, 12, 31))
    share = 0.3
    day_var = lambda done: variance_years(sessions, FRIDAY, done, FRIDAY, share)  # noqa: E731
    at = {t: day_var(float(session_share((t - 9.5) / 6.5))) for t in (9.5, 10.5, 12.0, 15.5, 16.0)}
    assert at[9.5] == pytest.approx((1 - share) / 252)  # the whole session ahead, no overnight gap
    assert at[16.0] == pytest.approx(0.0, abs=1e-12)
    # U-shape: the first hour carries more variance than a lunchtime hour
    assert at[9.5] - at[10.5] > 1.5 * (at[12.0] - at[15.5]) / 3.5
    # Friday's 3-day option holds one more trading day, not three: the weekend adds no variance
    monday = date(2025, 3, 10)
    assert variance_years(sessions, FRIDAY, 0.5, monday, share) == pytest.approx(day_var(0.5) + 1 / 252)


def test_a_0dte_option_is_priced_from_the_rest_of_the_session() -> None:
    spot, vix = 3738.8, 23.6  # real SPXW 2021-01-04 10:30: 1 %-OTM put 9.5 delta, IV 32 %
    cal_day = date(2025, 3, 7)
    p = PROBE.quotes("SPXW", _at(10, 30, cal_day), cal_day, spot, vix, np.array([3700.0]), np.array([False]))
    assert 0.27 < p.iv[0] < 0.40 and 0.04 < -p.delta[0] < 0.18
    later = PROBE.quotes(
        "SPXW", _at(14, 0, cal_day), cal_day, spot, vix, np.array([3700.0]), np.array([False])
    )
    assert later.bid[0] < p.bid[0]  # decays through the day


def _width(root: str, when: datetime, expiry: date, spot: float, vix: float, delta: float,
           points: bool = False) -> float:  # fmt: skip
    """Bid/ask width of the put nearest ``delta``, as a share of its mid (or in points)."""
    strikes = PROBE.strikes(root, when, expiry, spot, vix)
    p = PROBE.quotes(root, when, expiry, spot, vix, strikes, np.zeros(strikes.shape, bool))
    i = int(np.argmin(np.abs(np.asarray(p.delta) + delta)))
    return (p.ask[i] - p.bid[i]) / (1.0 if points else 0.5 * (p.ask[i] + p.bid[i]))


def test_spreads_widen_with_vix_and_towards_expiry() -> None:
    when, spot = _at(11, 0), 5800.0
    calm, stressed = (_width("SPXW", when, date(2025, 3, 21), spot, v, 0.25) for v in (13.0, 35.0))
    assert stressed > 1.3 * calm  # the same 25-delta put, wider as a share of its premium
    es = {v: _width("ES", when, date(2025, 6, 20), spot, v, 0.25, points=True) for v in (13.0, 35.0)}
    assert es[35.0] > 2.0 * es[13.0] and es[13.0] <= 0.5  # ES: a tick or two when calm, points in a sell-off
    far = _width("SPXW", when, date(2025, 4, 17), spot, 20.0, 0.2)
    near = _width("SPXW", when, FRIDAY, spot, 20.0, 0.2)
    assert near > far


def _steps(root: str, spot: float, when: datetime, expiry: date, vix: float) -> dict[float, float]:
    """Strike step at a few distances from the underlying (log distance -> step)."""
    k = PROBE.strikes(root, when, expiry, spot, vix)
    out = {}
    for dist in (-0.45, -0.3, -0.12, -0.08, -0.05, -0.02, 0.02, 0.08):
        i = int(np.searchsorted(k, spot * math.exp(dist)))
        out[dist] = float(k[i] - k[i - 1]) if 0 < i < len(k) else math.inf
    return out


def test_each_product_lists_its_exchange_strike_grid() -> None:
    when = _at(11, 0)
    spx = _steps("SPXW", 5800.0, when, date(2025, 3, 14), 18.0)
    assert spx[-0.02] == spx[0.02] == spx[-0.05] == 5.0 and spx[-0.12] == 25.0 and spx[-0.3] == 100.0
    es = _steps("ES", 5850.0, when, date(2025, 6, 20), 18.0)
    assert es[-0.02] == es[-0.08] == es[0.08] == 5.0 and es[-0.3] == 25.0  # 5 near, 25 far
    spy_weekly = _steps("SPY", 580.0, when, date(2025, 3, 12), 18.0)
    assert spy_weekly[-0.3] == spy_weekly[-0.02] == 1.0  # weeklies list $1 strikes far out
    spy_leap = _steps("SPY", 580.0, when, date(2027, 1, 15), 18.0)
    assert spy_leap[-0.02] == 1.0 and spy_leap[-0.3] == 5.0
    cl = _steps("CL", 72.0, when, date(2025, 5, 15), 0.38)
    assert cl[-0.02] == cl[0.08] == 0.5
    gc = _steps("GC", 2650.0, when, date(2025, 5, 27), 0.165)
    assert gc[-0.02] == gc[0.08] == 5.0 and gc[-0.3] == 25.0


def test_the_per_expiry_atm_vol_is_the_vectorised_surface() -> None:
    from sim.markets.synthetic.config import SyntheticConfig
    from sim.markets.synthetic.surface import atm_vol, atm_vol_at

    cfg = SyntheticConfig()
    for family, level in (("spx", 12.0), ("spx", 35.0), ("qqq", 20.0), ("cl", 0.6), ("gc", 0.12)):
        for tau in (0.0, 1 / 365, 0.1, 1.0, 2.5):
            assert atm_vol_at(family, level, tau, cfg) == pytest.approx(
                float(atm_vol(family, level, tau, cfg)), rel=1e-12
            )
