"""core.option_math: parity, implied-vol round trips, Greeks against finite differences, edge cases,
and agreement with LEAN's own universe Greeks and with vollib."""

from __future__ import annotations

import csv
import json
import math
import warnings
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.option_math import (
    Greeks,
    black76_greeks,
    black76_implied_vol,
    black76_price,
    bs_greeks,
    bs_price,
    implied_vol,
)

LEAN_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "lean"

SPOT = st.floats(1.0, 10_000.0)
MONEYNESS = st.floats(0.5, 2.0)
EXPIRY = st.floats(1.0 / 365.0, 3.0)
RATE = st.floats(-0.01, 0.10)
YIELD = st.floats(0.0, 0.06)
VOL = st.floats(0.02, 2.0)


def _random_contracts(n: int, seed: int) -> dict[str, np.ndarray]:
    """Realistic contracts: mixed rights, moneyness 0.7-1.3, 1 day to 2 years, vol 5-100 %."""
    rng = np.random.default_rng(seed)
    spot = rng.uniform(20.0, 5000.0, n)
    return {
        "S": spot,
        "K": spot * rng.uniform(0.7, 1.3, n),
        "T": rng.uniform(1.0 / 365.0, 2.0, n),
        "r": rng.uniform(0.0, 0.06, n),
        "q": rng.uniform(0.0, 0.03, n),
        "sigma": rng.uniform(0.05, 1.0, n),
        "is_call": rng.random(n) < 0.5,
    }


# ----------------------------------------------------------------------------------------- parity


@settings(max_examples=300, deadline=None)
@given(SPOT, MONEYNESS, EXPIRY, RATE, YIELD, VOL)
def test_bsm_put_call_parity(s: float, m: float, t: float, r: float, q: float, sigma: float) -> None:
    k = s * m
    call = float(bs_price(s, k, t, r, q, sigma, True))
    put = float(bs_price(s, k, t, r, q, sigma, False))
    parity = s * math.exp(-q * t) - k * math.exp(-r * t)
    assert call - put == pytest.approx(parity, abs=1e-10 * (s + k))
    g = bs_greeks(s, k, t, r, q, sigma, [True, False])
    assert g.delta[0] - g.delta[1] == pytest.approx(math.exp(-q * t), abs=1e-12)  # delta parity
    assert g.gamma[0] == pytest.approx(g.gamma[1], rel=1e-12, abs=1e-300)
    assert g.price[0] == pytest.approx(call, rel=1e-12, abs=1e-12)


@settings(max_examples=300, deadline=None)
@given(SPOT, MONEYNESS, EXPIRY, RATE, VOL)
def test_black76_put_call_parity(f: float, m: float, t: float, r: float, sigma: float) -> None:
    k = f * m
    call = float(black76_price(f, k, t, r, sigma, True))
    put = float(black76_price(f, k, t, r, sigma, False))
    assert call - put == pytest.approx(math.exp(-r * t) * (f - k), abs=1e-10 * (f + k))


def test_black76_is_bsm_on_the_forward() -> None:
    """A futures option is a BSM option with q = r on an underlying priced at F."""
    c = _random_contracts(2_000, seed=3)
    b76 = black76_greeks(c["S"], c["K"], c["T"], c["r"], c["sigma"], c["is_call"])
    bsm = bs_greeks(c["S"], c["K"], c["T"], c["r"], c["r"], c["sigma"], c["is_call"])
    for name in ("price", "delta", "gamma", "theta", "vega"):
        np.testing.assert_allclose(getattr(b76, name), getattr(bsm, name), rtol=1e-9, atol=1e-10)


# ------------------------------------------------------------------------------------ implied vol


@settings(max_examples=400, deadline=None)
@given(SPOT, MONEYNESS, EXPIRY, RATE, YIELD, VOL, st.booleans())
def test_implied_vol_round_trip(
    s: float, m: float, t: float, r: float, q: float, sigma: float, is_call: bool
) -> None:
    k = s * m
    price = float(bs_price(s, k, t, r, q, sigma, is_call))
    iv = float(implied_vol(price, s, k, t, r, q, is_call))
    assert not math.isnan(iv)
    assert float(bs_price(s, k, t, r, q, iv, is_call)) == pytest.approx(price, abs=1e-6)
    vega = float(bs_greeks(s, k, t, r, q, sigma, is_call).vega) * 100.0  # per 1.0 of vol
    if vega > 1e-6 * s:  # vol is only determined where the price responds to it
        assert iv == pytest.approx(sigma, abs=1e-6 + 1e-6 / vega)


@settings(max_examples=300, deadline=None)
@given(SPOT, MONEYNESS, EXPIRY, RATE, VOL, st.booleans())
def test_black76_implied_vol_round_trip(
    f: float, m: float, t: float, r: float, sigma: float, is_call: bool
) -> None:
    k = f * m
    price = float(black76_price(f, k, t, r, sigma, is_call))
    iv = float(black76_implied_vol(price, f, k, t, r, is_call))
    assert float(black76_price(f, k, t, r, iv, is_call)) == pytest.approx(price, abs=1e-6)


def test_implied_vol_round_trip_vectorised() -> None:
    """100k realistic contracts in one call: every price is recovered to 1e-6."""
    c = _random_contracts(100_000, seed=11)
    price = bs_price(c["S"], c["K"], c["T"], c["r"], c["q"], c["sigma"], c["is_call"])
    iv = implied_vol(price, c["S"], c["K"], c["T"], c["r"], c["q"], c["is_call"])
    assert not np.isnan(iv).any()
    repriced = bs_price(c["S"], c["K"], c["T"], c["r"], c["q"], iv, c["is_call"])
    assert np.max(np.abs(repriced - price)) <= 1e-6
    vega = bs_greeks(c["S"], c["K"], c["T"], c["r"], c["q"], c["sigma"], c["is_call"]).vega * 100.0
    sensitive = vega > 1e-3 * c["S"]
    assert np.max(np.abs(iv - c["sigma"])[sensitive]) <= 1e-6


@settings(max_examples=200, deadline=None)
@given(SPOT, MONEYNESS, EXPIRY, RATE, YIELD, st.booleans(), st.floats(1e-6, 1.0))
def test_implied_vol_nan_for_impossible_prices(
    s: float, m: float, t: float, r: float, q: float, is_call: bool, gap: float
) -> None:
    k = s * m
    fwd_intrinsic = s * math.exp(-q * t) - k * math.exp(-r * t)
    lower = max(fwd_intrinsic if is_call else -fwd_intrinsic, 0.0)
    upper = s * math.exp(-q * t) if is_call else k * math.exp(-r * t)
    below = lower - gap * max(lower, 1.0)
    above = upper * (1.0 + gap)
    assert np.isnan(implied_vol([below, above, upper], s, k, t, r, q, is_call)).all()


def test_implied_vol_invalid_inputs_and_zero_vol() -> None:
    # T <= 0, S <= 0, K <= 0, NaN price, negative price: no vol exists
    price = [5.0, 5.0, 5.0, 5.0, np.nan, -1.0]
    spot = [100.0, 100.0, 0.0, 100.0, 100.0, 100.0]
    strike = [100.0, 100.0, 100.0, 0.0, 100.0, 100.0]
    expiry = [0.0, -1.0, 1.0, 1.0, 1.0, 1.0]
    got = implied_vol(price, spot, strike, expiry, 0.05, 0.0, True)
    assert np.isnan(got).all()
    # exactly the discounted forward intrinsic value: vol 0
    s, k, t, r, q = 100.0, 90.0, 0.5, 0.05, 0.01
    intrinsic = s * math.exp(-q * t) - k * math.exp(-r * t)
    assert float(implied_vol(intrinsic, s, k, t, r, q, True)) == 0.0
    assert float(implied_vol(0.0, s, k, t, r, q, False)) == 0.0
    # huge but valid vols still solve
    price = float(bs_price(s, s, 0.25, r, q, 5.0, True))
    assert float(implied_vol(price, s, s, 0.25, r, q, True)) == pytest.approx(5.0, rel=1e-6)


def test_implied_vol_tiny_otm_prices_solve() -> None:
    """Far OTM, short-dated: the price is a few 1e-12 yet the vol is still recovered."""
    s, t, r, q, sigma = 100.0, 5.0 / 365.0, 0.03, 0.0, 0.2
    k = np.array([130.0, 140.0, 70.0, 60.0])
    right = np.array([True, True, False, False])
    price = bs_price(s, k, t, r, q, sigma, right)
    assert (price > 0).all() and (price < 1e-6).all()
    np.testing.assert_allclose(implied_vol(price, s, k, t, r, q, right), sigma, rtol=1e-6)


# -------------------------------------------------------------------------------- Greeks and edges


def _fd_greeks(price_fn, x: dict[str, np.ndarray], spot_key: str) -> dict[str, np.ndarray]:
    """Central finite differences in LEAN's units (theta per day, vega/rho per 0.01)."""

    def bump(key: str, h: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        up, dn = dict(x), dict(x)
        up[key] = x[key] + h
        dn[key] = x[key] - h
        return price_fn(**up), price_fn(**dn)

    hs = 1e-4 * x[spot_key]
    up, dn = bump(spot_key, hs)
    base = price_fn(**x)
    hg = 1e-3 * x[spot_key]
    gu, gd = bump(spot_key, hg)
    tu, td = bump("T", 1e-6)
    vu, vd = bump("sigma", 1e-6)
    ru, rd = bump("r", 1e-6)
    return {
        "delta": (up - dn) / (2 * hs),
        "gamma": (gu - 2 * base + gd) / (hg * hg),
        "theta": -(tu - td) / 2e-6 / 365.0,
        "vega": (vu - vd) / 2e-6 * 0.01,
        "rho": (ru - rd) / 2e-6 * 0.01,
    }


def test_bs_greeks_match_finite_differences() -> None:
    c = _random_contracts(5_000, seed=5)
    c["T"] = np.maximum(c["T"], 0.02)
    g = bs_greeks(**c)
    fd = _fd_greeks(bs_price, c, "S")
    for name, approx in fd.items():
        np.testing.assert_allclose(
            getattr(g, name), approx, rtol=2e-4, atol=1e-6 * c["S"].max(), err_msg=name
        )


def test_black76_greeks_match_finite_differences() -> None:
    c = _random_contracts(5_000, seed=6)
    c["T"] = np.maximum(c["T"], 0.02)
    x = {"F": c["S"], "K": c["K"], "T": c["T"], "r": c["r"], "sigma": c["sigma"], "is_call": c["is_call"]}
    g = black76_greeks(**x)
    fd = _fd_greeks(black76_price, x, "F")
    for name, approx in fd.items():
        np.testing.assert_allclose(
            getattr(g, name), approx, rtol=2e-4, atol=1e-6 * c["S"].max(), err_msg=name
        )


@pytest.mark.parametrize("t", [0.0, -0.1])
def test_expired_is_intrinsic_with_unit_delta(t: float) -> None:
    k = np.array([90.0, 100.0, 110.0])
    call = bs_greeks(100.0, k, t, 0.05, 0.01, 0.2, True)
    put = bs_greeks(100.0, k, t, 0.05, 0.01, 0.2, False)
    np.testing.assert_array_equal(call.price, [10.0, 0.0, 0.0])
    np.testing.assert_array_equal(call.delta, [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(put.price, [0.0, 0.0, 10.0])
    np.testing.assert_array_equal(put.delta, [0.0, 0.0, -1.0])
    for g in (call, put):
        for name in ("gamma", "theta", "vega", "rho"):
            np.testing.assert_array_equal(getattr(g, name), 0.0)
    fut = black76_greeks(100.0, k, t, 0.05, 0.2, [True, False, False])
    np.testing.assert_array_equal(fut.price, [10.0, 0.0, 10.0])
    np.testing.assert_array_equal(fut.delta, [1.0, 0.0, -1.0])
    np.testing.assert_array_equal(bs_price(100.0, k, t, 0.05, 0.01, 0.2, True), call.price)


@pytest.mark.parametrize("sigma", [0.0, -0.2])
def test_zero_vol_is_discounted_forward_intrinsic(sigma: float) -> None:
    s, k, t, r, q = 100.0, np.array([80.0, 120.0]), 0.5, 0.05, 0.02
    dq, dr = math.exp(-q * t), math.exp(-r * t)
    call = bs_greeks(s, k, t, r, q, sigma, True)
    put = bs_greeks(s, k, t, r, q, sigma, False)
    np.testing.assert_allclose(call.price, np.maximum(s * dq - k * dr, 0.0), rtol=1e-14)
    np.testing.assert_allclose(put.price, np.maximum(k * dr - s * dq, 0.0), rtol=1e-14)
    np.testing.assert_allclose(call.delta, [dq, 0.0])
    np.testing.assert_allclose(put.delta, [0.0, -dq])
    np.testing.assert_array_equal(call.gamma, 0.0)
    np.testing.assert_array_equal(call.vega, 0.0)
    # theta and rho are the sigma -> 0 limits: continuous with a tiny positive vol
    tiny = bs_greeks(s, k, t, r, q, 1e-9, True)
    for name in Greeks._fields:
        np.testing.assert_allclose(getattr(call, name), getattr(tiny, name), rtol=1e-9, atol=1e-12)
    fut = black76_greeks(100.0, k, t, r, sigma, [True, False])
    np.testing.assert_allclose(fut.price, dr * np.array([20.0, 20.0]), rtol=1e-14)
    assert not np.isnan(np.array(fut)).any()


def test_invalid_inputs_are_nan_not_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = bs_greeks(
            [-1.0, 0.0, np.nan, 100.0, 100.0],
            [100, 100, 100, 0, 100],
            0.5,
            0.05,
            0.0,
            [0.2, 0.2, 0.2, 0.2, np.nan],
            True,
        )
        p = black76_price([0.0, 100.0], 100.0, [0.5, np.inf], 0.05, 0.2, True)
    assert np.isnan(np.array(g)).all()
    assert np.isnan(p).all()


def test_broadcasting_and_scalars() -> None:
    k = np.array([90.0, 100.0, 110.0])
    t = np.array([[0.1], [0.5]])
    g = bs_greeks(100.0, k, t, 0.05, 0.0, 0.2, np.array([True, False, True]))
    assert all(a.shape == (2, 3) for a in g)
    assert all(isinstance(a, np.ndarray) and a.dtype == np.float64 for a in g)
    assert bs_price(100.0, 100.0, 0.5, 0.05, 0.0, 0.2, True).shape == ()
    rights = bs_greeks(100.0, 100.0, 0.5, 0.05, 0.0, 0.2, [True, False])  # gamma ignores the right
    assert rights.gamma.shape == (2,) and rights.gamma.flags.writeable
    iv = implied_vol(np.array(g.price), 100.0, k, t, 0.05, 0.0, np.array([True, False, True]))
    assert iv.shape == (2, 3)
    np.testing.assert_allclose(iv, 0.2, rtol=1e-7)
    assert black76_greeks(100.0, 100.0, 0.0, 0.05, 0.2, True).delta.shape == ()


# ------------------------------------------------------------------------------- LEAN's own values


def _lean_dir() -> Path:
    if not LEAN_DATA.is_dir():
        pytest.skip("shared LEAN data not present (a user's clone has no ../shared)")
    return LEAN_DATA


@pytest.fixture(scope="module")
def lean() -> Path:
    return _lean_dir()


def _rate(lean_dir: Path, day: date) -> float:
    """LEAN's risk-free rate: the latest PCREDIT8 value on or before ``day``, in percent."""
    rate = None
    with open(lean_dir / "alternative/interest-rate/usa/interest-rate.csv") as fh:
        for row in csv.DictReader(fh):
            if date.fromisoformat(row["DATE"]) <= day:
                rate = float(row["PCREDIT8"]) / 100.0
    assert rate is not None
    return rate


def _close_times(lean_dir: Path):
    """Market close in exchange time (America/Chicago) of LEAN's SPX index entry, with early closes."""
    db = json.loads((lean_dir / "market-hours/market-hours-database.json").read_text())["entries"]
    regular = db["Index-usa-SPX"]["friday"][-1]["end"]  # 15:15:00
    early = {
        datetime.strptime(d, "%m/%d/%Y").date(): hhmm
        for d, hhmm in db["Index-usa-[*]"]["earlyCloses"].items()
    }

    def close(day: date) -> datetime:
        h, m, s = (int(v) for v in early.get(day, regular).split(":"))
        return datetime(day.year, day.month, day.day) + timedelta(hours=h, minutes=m, seconds=s)

    return close


def _universe(path: Path) -> tuple[float, list[dict[str, str]]]:
    with open(path) as fh:
        rows = list(csv.reader(fh))
    header = [h.lstrip("#") for h in rows[0]]
    spot = float(rows[1][header.index("close")])  # first data row: the underlying (SPX) bar
    return spot, [dict(zip(header, r, strict=True)) for r in rows[2:]]


def test_matches_lean_universe_greeks(lean: Path) -> None:
    """Reproduce LEAN's implied vol and Greeks for SPXW on 2023-06-23 from the file's own closes.

    Convention found (QuantConnect/Lean ``ImpliedVolatility`` / ``OptionGreekIndicatorsHelper``):
    European index options use Black-Scholes; T = (settlement - now).TotalDays / 365 with both times
    at the SPX close in exchange time, 15:15 America/Chicago, and early closes from the market-hours
    database (2023-07-03 closes at 12:00, so that expiry has T = 9.8646 days, not 10); rate = LEAN's
    interest-rate series (PCREDIT8 / 100, 5.25 % here); dividend yield 0 for SPX; the price is the
    daily close.  IV uses the mirror contract: both rights of a strike get the IV of the OTM one
    (call if K > S, put if K < S).  LEAN rounds every value to 7 decimals.

    Tolerances: LEAN solves IV with MathNet Brent at accuracy = max(1e-4, 1e-4 * price) and stops
    when either the bracket or the price error is within it, so its IV is only known to within
    max(acc, acc / vega) (vega per 1.0 vol) plus 5e-8 rounding: 1.2e-4 to 2.6e-4 for these rows.
    Achieved: |IV - LEAN| <= 3.5e-5.  Delta at our IV must lie in the delta range spanned by that
    IV band (achieved <= 6.6e-5 off).  At LEAN's own IV, every Greek (delta, gamma, vega, theta,
    rho) is reproduced to <= 5e-8, i.e. LEAN's 7-decimal rounding; asserted at 2e-7.
    """
    close = _close_times(lean)
    day = date(2023, 6, 23)
    spot, rows = _universe(lean / "indexoption/usa/universes/spxw" / f"{day:%Y%m%d}.csv")
    r = _rate(lean, day)
    by_key = {(row["expiry"], row["strike"], row["right"]): row for row in rows}
    checked = 0
    for row in rows:
        expiry = datetime.strptime(row["expiry"], "%Y%m%d").date()
        k = float(row["strike"])
        is_call = row["right"] == "C"
        t = (close(expiry) - close(day)).total_seconds() / 86400.0 / 365.0
        otm_right = "C" if k > spot else "P"
        otm_price = float(by_key[(row["expiry"], row["strike"], otm_right)]["close"])
        lean_iv = float(row["implied_volatility"])

        iv = float(implied_vol(otm_price, spot, k, t, r, 0.0, otm_right == "C"))
        acc = max(1e-4, 1e-4 * otm_price)
        vega_unit = float(bs_greeks(spot, k, t, r, 0.0, iv, otm_right == "C").vega) * 100.0
        band = max(acc, acc / vega_unit) + 5e-8
        assert abs(iv - lean_iv) <= band, row

        at_lean = bs_greeks(spot, k, t, r, 0.0, lean_iv, is_call)
        for name in ("delta", "gamma", "vega", "theta", "rho"):
            assert float(getattr(at_lean, name)) == pytest.approx(float(row[name]), abs=2e-7), (name, row)

        lo, hi = sorted(
            float(bs_greeks(spot, k, t, r, 0.0, lean_iv + d, is_call).delta) for d in (-band, band)
        )
        ours = float(bs_greeks(spot, k, t, r, 0.0, iv, is_call).delta)
        assert lo - 1e-7 <= ours <= hi + 1e-7, row
        checked += 1
    assert checked == 12


def test_lean_rows_left_out_are_unreproducible_by_construction(lean: Path) -> None:
    """Why only SPXW 2023-06-23 is compared: the other sample files cannot be matched by any model.

    - Rows with implied_volatility 0 (spx 2021-01-14, the day before expiry, and every spxw
      2020-12-31 row) carry no Greeks at all: LEAN computed nothing.
    - SPX 2020-12-30 .. 2021-01-13: LEAN's IV and delta imply the underlying price via
      d1 = N^-1(delta).  Within one file (one date, one expiry) that implied price spreads by 2 % to
      34 % across strikes, so no single underlying close (nor any single T or rate) reproduces
      them; the file's own underlying bar is also stale (3700.65 on six consecutive days).  These
      are LEAN's synthetic regression-test rows.  The same check on SPXW 2023-06-23 gives a spread
      below 0.01 %, which is why that file is the reference above.  If the data is ever replaced
      with consistent rows this test fails and the comparison should be extended to them.
    """
    from scipy.special import ndtri

    def implied_spot_spread(path: Path, settle_hours: float) -> float | None:
        spot, rows = _universe(path)
        day = datetime.strptime(path.stem, "%Y%m%d")
        r = _rate(lean, day.date())
        implied = []
        for row in rows:
            iv, delta = float(row["implied_volatility"]), float(row["delta"])
            if iv == 0.0:
                continue
            t = (datetime.strptime(row["expiry"], "%Y%m%d") + timedelta(hours=settle_hours) - day).days
            t = max(t, 0.25) / 365.0
            d1 = ndtri(delta if row["right"] == "C" else 1.0 + delta)
            implied.append(float(row["strike"]) * math.exp(d1 * iv * math.sqrt(t) - (r + 0.5 * iv * iv) * t))
        return None if not implied else (max(implied) - min(implied)) / spot

    spx = sorted((lean / "indexoption/usa/universes/spx").glob("*.csv"))
    spreads = {p.stem: implied_spot_spread(p, 0.0) for p in spx}
    assert spreads.pop("20210114") is None  # all zeros
    assert len(spreads) == 10 and min(spreads.values()) > 0.015
    spxw = lean / "indexoption/usa/universes/spxw"
    assert implied_spot_spread(spxw / "20201231.csv", 0.0) is None  # all zeros
    # coarse whole-day T is enough here: a consistent file is consistent under either T
    spread_2023 = implied_spot_spread(spxw / "20230623.csv", 0.0)
    assert spread_2023 is not None and spread_2023 < 2e-3
