"""Vectorised European option maths: Black-Scholes-Merton and Black-76 prices, Greeks and implied vol.

Every function takes scalars or arrays that broadcast together and returns float64 arrays of the
broadcast shape, so a whole chain is priced in one call (no Python loop per contract).  Only
numpy and ``scipy.special`` are used, in ways that work on both numpy 1.26 (LEAN's image) and 2.x.

Units match what LEAN reports for its option Greeks, so values from either engine compare directly:
prices per share / index point, T in years, rates and vol as decimals (0.05 = 5 %), delta and gamma
per 1 point of the underlying, theta per calendar day (annual / 365), vega per volatility point
(per 0.01 of sigma) and rho per percentage point of the rate (per 0.01).

Edge cases are defined rather than NaN by accident: ``T <= 0`` gives the intrinsic value with delta
0 or +/-1 and all other Greeks 0; ``sigma <= 0`` gives the discounted forward intrinsic value (the
sigma -> 0 limit of the formulas).  Non-positive underlying or strike prices and non-finite inputs
give NaN.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.special import ndtr, ndtri

__all__ = [
    "Greeks",
    "black76_greeks",
    "black76_implied_vol",
    "black76_price",
    "bs_greeks",
    "bs_price",
    "implied_vol",
]

_INV_SQRT_2PI = 0.3989422804014327
_DAYS_PER_YEAR = 365.0  # theta per calendar day, as LEAN reports it
_PER_POINT = 0.01  # vega per vol point, rho per rate point
_EPS = np.finfo(np.float64).eps


class Greeks(NamedTuple):
    """Price and Greeks per share (not multiplied), all arrays of the broadcast shape."""

    price: np.ndarray
    delta: np.ndarray
    gamma: np.ndarray
    theta: np.ndarray
    vega: np.ndarray
    rho: np.ndarray


def _f64(a: object) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def _sign(is_call: object) -> np.ndarray:
    """+1 for calls, -1 for puts: one formula serves both rights."""
    return np.where(np.asarray(is_call, dtype=bool), 1.0, -1.0)


class _Prepared(NamedTuple):
    """Inputs after edge-case handling; ``*_safe`` arrays are finite where the general formula runs."""

    shape: tuple[int, ...]
    w: np.ndarray
    sqrt_t: np.ndarray
    t_safe: np.ndarray
    sig_safe: np.ndarray
    vol: np.ndarray  # sigma * sqrt(T)
    d1: np.ndarray
    d2: np.ndarray
    expired: np.ndarray | None  # T <= 0, or None when there is none
    invalid: np.ndarray | None  # bad spot/strike/inputs, or None when there is none


def _prepare(
    spot: np.ndarray,
    k: np.ndarray,
    t: np.ndarray,
    carry: np.ndarray | np.float64,
    sigma: np.ndarray,
    is_call: object,
) -> _Prepared:
    """d1/d2 of ``ln(spot/K) + carry*T`` with the edge cases patched in.

    The fast path (every T > 0, sigma > 0, spot > 0, K > 0) does no masking at all; edge elements
    are computed with harmless stand-in values and replaced afterwards, so they never produce a
    warning or an accidental NaN.  For sigma <= 0, d1 = d2 = +/-inf reproduces the sigma -> 0 limit.
    """
    w = _sign(is_call)
    shape = np.broadcast(spot, k, t, carry, sigma, w).shape
    t_ok = t > 0.0
    sig_ok = sigma > 0.0
    good = (spot > 0.0) & (k > 0.0) & np.isfinite(spot) & np.isfinite(k) & np.isfinite(carry)
    good = good & np.isfinite(t) & np.isfinite(sigma)
    all_t = bool(t_ok.all())  # the method: np.all adds a Python-level dispatch per call
    all_sig = bool(sig_ok.all())
    all_good = bool(good.all())
    t_safe = t if all_t else np.where(t_ok, t, 1.0)
    sig_safe = sigma if all_sig else np.where(sig_ok, sigma, 1.0)
    if not all_good:
        spot = np.where(good, spot, 1.0)
        k = np.where(good, k, 1.0)
        carry = np.where(good, carry, 0.0)
        t_safe = np.where(np.isfinite(t_safe), t_safe, 1.0)
        sig_safe = np.where(np.isfinite(sig_safe), sig_safe, 1.0)
    sqrt_t = np.sqrt(t_safe)
    vol = sig_safe * sqrt_t
    moneyness = np.log(spot / k) + carry * t_safe  # ln(F/K)
    d1 = moneyness / vol + 0.5 * vol
    d2 = d1 - vol
    if not all_sig:
        limit = np.where(moneyness > 0.0, np.inf, -np.inf)
        d1 = np.where(sig_ok, d1, limit)
        d2 = np.where(sig_ok, d2, limit)
    expired = None if all_t else np.broadcast_to(~t_ok, shape)
    invalid = None if all_good else np.broadcast_to(~good, shape)
    return _Prepared(shape, w, sqrt_t, t_safe, sig_safe, vol, d1, d2, expired, invalid)


def _expiry_values(spot: np.ndarray, k: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Payoff and delta at expiry: delta is +/-1 strictly in the money, else 0."""
    diff = w * (spot - k)
    return np.maximum(diff, 0.0), np.where(diff > 0.0, w, 0.0)


def _finish(prep: _Prepared, out: list[np.ndarray], spot: np.ndarray, k: np.ndarray) -> list[np.ndarray]:
    """Broadcast results to the full shape and overwrite expired / invalid elements."""
    # own, writable arrays of the full shape (a Greek that ignores some input may be smaller)
    shape = prep.shape
    res = [
        a if type(a) is np.ndarray and a.shape == shape else np.array(np.broadcast_to(a, shape)) for a in out
    ]
    if prep.expired is None and prep.invalid is None:
        return res
    if prep.expired is not None:
        m = prep.expired
        payoff, delta = _expiry_values(spot, k, prep.w)
        res[0][m] = np.broadcast_to(payoff, prep.shape)[m]
        if len(res) > 1:
            res[1][m] = np.broadcast_to(delta, prep.shape)[m]
            for a in res[2:]:
                a[m] = 0.0
    if prep.invalid is not None:
        for a in res:
            a[prep.invalid] = np.nan
    return res


# --------------------------------------------------------------------------------------------- BSM


def bs_price(S, K, T, r, q, sigma, is_call) -> np.ndarray:
    """Black-Scholes-Merton price with continuous dividend yield ``q`` (European exercise)."""
    S, K, T, r, q, sigma = map(_f64, (S, K, T, r, q, sigma))
    with np.errstate(all="ignore"):
        p = _prepare(S, K, T, r - q, sigma, is_call)
        w = p.w
        price = w * (S * np.exp(-q * p.t_safe) * ndtr(w * p.d1) - K * np.exp(-r * p.t_safe) * ndtr(w * p.d2))
        return _finish(p, [price], S, K)[0]


def bs_greeks(S, K, T, r, q, sigma, is_call) -> Greeks:
    """BSM price and Greeks in LEAN's units (theta per day, vega and rho per 0.01)."""
    S, K, T, r, q, sigma = map(_f64, (S, K, T, r, q, sigma))
    with np.errstate(all="ignore"):
        p = _prepare(S, K, T, r - q, sigma, is_call)
        w, t = p.w, p.t_safe
        dq = np.exp(-q * t)
        kdr = K * np.exp(-r * t)
        sdq = S * dq
        nd1 = ndtr(w * p.d1)
        nd2 = ndtr(w * p.d2)
        pdf = np.exp(-0.5 * p.d1 * p.d1) * _INV_SQRT_2PI
        sdq_pdf = sdq * pdf
        a = sdq * nd1
        b = kdr * nd2
        price = w * (a - b)
        delta = w * dq * nd1
        gamma = dq * pdf / (S * p.vol)
        vega = sdq_pdf * p.sqrt_t * _PER_POINT
        theta = (w * (q * a - r * b) - sdq_pdf * p.sig_safe / (2.0 * p.sqrt_t)) / _DAYS_PER_YEAR
        rho = w * b * t * _PER_POINT
        return Greeks(*_finish(p, [price, delta, gamma, theta, vega, rho], S, K))


# ---------------------------------------------------------------------------------------- Black-76


def black76_price(F, K, T, r, sigma, is_call) -> np.ndarray:
    """Black-76 price of a European option on a futures price ``F``, discounted at ``r``."""
    F, K, T, r, sigma = map(_f64, (F, K, T, r, sigma))
    with np.errstate(all="ignore"):
        p = _prepare(F, K, T, np.float64(0.0), sigma, is_call)
        w = p.w
        price = w * np.exp(-r * p.t_safe) * (F * ndtr(w * p.d1) - K * ndtr(w * p.d2))
        return _finish(p, [price], F, K)[0]


def black76_greeks(F, K, T, r, sigma, is_call) -> Greeks:
    """Black-76 price and Greeks; delta/gamma are per point of the futures price, rho holds F fixed."""
    F, K, T, r, sigma = map(_f64, (F, K, T, r, sigma))
    with np.errstate(all="ignore"):
        p = _prepare(F, K, T, np.float64(0.0), sigma, is_call)
        w, t = p.w, p.t_safe
        dr = np.exp(-r * t)
        nd1 = ndtr(w * p.d1)
        nd2 = ndtr(w * p.d2)
        pdf = np.exp(-0.5 * p.d1 * p.d1) * _INV_SQRT_2PI
        fdr_pdf = F * dr * pdf
        price = w * dr * (F * nd1 - K * nd2)
        delta = w * dr * nd1
        gamma = dr * pdf / (F * p.vol)
        vega = fdr_pdf * p.sqrt_t * _PER_POINT
        theta = (r * price - fdr_pdf * p.sig_safe / (2.0 * p.sqrt_t)) / _DAYS_PER_YEAR
        rho = -t * price * _PER_POINT
        return Greeks(*_finish(p, [price, delta, gamma, theta, vega, rho], F, K))


# ------------------------------------------------------------------------------------ implied vol


def _normalised_otm(x: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-the-money Black price divided by sqrt(F*K), for x = -|ln(F/K)| <= 0, total vol s.

    Returns (b, db/ds).  Using the OTM side avoids the cancellation of ITM prices, and the
    derivative exp(-(h^2 + t^2)/2)/sqrt(2 pi) is exact and cheap.
    """
    h = x / s
    t = 0.5 * s
    e = np.exp(0.5 * x)
    b = e * ndtr(h + t) - ndtr(h - t) / e
    db = np.exp(-0.5 * (h * h + t * t)) * _INV_SQRT_2PI
    return b, db


def _initial_total_vol(x: np.ndarray, bstar: np.ndarray) -> np.ndarray:
    """Starting total vol s0 = sigma*sqrt(T) for the normalised OTM target ``bstar``.

    The inflection point s_c = sqrt(2|x|) of b(s) splits the problem.  Above it (and exactly at
    the money, where b = 2N(s/2) - 1 inverts exactly) we start from s_c plus the ATM inversion of
    b* - b(s_c).  Below it, in u = 1/s^2, ln b behaves like -x^2 u/2 + a ln u + C; a and C are
    fitted to the value and slope at s_c and that model is inverted with a few cheap Newton steps.
    Either guess is typically within 10 % of the root, so Halley needs 2-3 iterations.
    """
    sc = np.sqrt(-2.0 * x)
    has_sc = sc > 0.0
    sc_safe = np.where(has_sc, sc, 1.0)
    bc, dbc = _normalised_otm(x, sc_safe)
    bc = np.where(has_sc, bc, 0.0)
    lower = bstar < bc
    atm = 2.0 * ndtri(np.minimum(0.5 * (1.0 + np.maximum(bstar - bc, 0.0)), 1.0 - 1e-16))
    s0 = sc + atm
    if lower.any():
        xl, bl, scl, bcl, dbcl = x[lower], bstar[lower], sc_safe[lower], bc[lower], dbc[lower]
        x2 = xl * xl
        uc = 1.0 / (scl * scl)
        slope = -0.5 * scl**3 * dbcl / bcl  # d ln b / du at s_c
        a = (slope + 0.5 * x2) * uc
        c0 = np.log(bcl) + 0.5 * x2 * uc - a * np.log(uc) - np.log(bl)
        u = uc
        for _ in range(4):  # model is convex and decreasing in u: Newton from u_c is monotone
            u = u - (c0 - 0.5 * x2 * u + a * np.log(u)) / (a / u - 0.5 * x2)
        s0[lower] = 1.0 / np.sqrt(u)
    return np.where(np.isfinite(s0) & (s0 > 0.0), s0, np.maximum(sc, 0.1))


def _solve_total_vol(
    x: np.ndarray, bstar: np.ndarray, abs_scale: np.ndarray, tol: float, max_iter: int
) -> np.ndarray:
    """Halley iterations on ln b(s) = ln b*, safeguarded by a bracket, only on unconverged elements.

    ln b is close to linear over a wide range of s (tiny OTM prices included), which is why the
    log objective converges where plain Newton on the price crawls.  A step that leaves the current
    bracket [lo, hi] is replaced by bisection (or doubling while no upper bound is known).
    Converged when the price error is within ``tol`` (absolute, in price units) and the OTM price
    is matched to 1e-6 relative, or when the step is at machine precision.  NaN if not converged.
    """
    n = x.shape[0]
    out = np.full(n, np.nan)
    s = _initial_total_vol(x, bstar)
    lo = np.zeros(n)
    hi = np.full(n, np.inf)
    ln_target = np.log(bstar)
    idx = np.arange(n)
    for _ in range(max_iter):
        b, db = _normalised_otm(x, s)
        diff = b - bstar
        g = np.log(np.maximum(b, 1e-300)) - ln_target
        done = (np.abs(diff) * abs_scale <= tol) & (np.abs(g) <= 1e-6)
        below = diff < 0.0  # s always lies strictly inside (lo, hi), so it is the new bound
        np.copyto(lo, s, where=below)
        np.copyto(hi, s, where=~below)
        # Halley on g(s) = ln b - ln b*: g' = b'/b, g''/g' = x^2/s^3 - s/4 - g'
        g1 = db / np.maximum(b, 1e-300)
        newton = g / g1
        curv = x * x / (s * s * s) - 0.25 * s - g1
        denom = 1.0 - 0.5 * newton * curv
        step = np.where(denom > 0.5, newton / denom, newton)
        s_new = s - step
        bad = ~((s_new > lo) & (s_new < hi) & np.isfinite(s_new))
        if bad.any():
            bisect = np.where(np.isfinite(hi), 0.5 * (lo + hi), 2.0 * np.maximum(s, lo))
            s_new = np.where(bad, bisect, s_new)
        done |= np.abs(s_new - s) <= 4.0 * _EPS * s
        if done.any():
            out[idx[done]] = s[done]
            keep = ~done
            if not keep.any():
                return out
            idx, x, bstar, abs_scale, ln_target = (
                idx[keep],
                x[keep],
                bstar[keep],
                abs_scale[keep],
                ln_target[keep],
            )
            s_new, lo, hi = s_new[keep], lo[keep], hi[keep]
        s = s_new
    return out


def _black_implied_vol(
    price: np.ndarray,
    forward: np.ndarray,
    k: np.ndarray,
    t: np.ndarray,
    discount: np.ndarray,
    is_call: object,
    tol: float,
    max_iter: int,
) -> np.ndarray:
    """Implied vol of undiscounted Black prices; BSM and Black-76 both reduce to this.

    The target is moved to the OTM side by put-call parity (C - P = F - K, undiscounted) and
    normalised by sqrt(F K), leaving a problem in (x, s) only.  A price whose time value is
    numerically zero has vol 0; below the discounted intrinsic value, or at/above the upper bound
    (F for a call, K for a put, undiscounted), there is no vol and the result is NaN.
    """
    w = _sign(is_call)
    price, forward, k, t, discount, w = np.broadcast_arrays(price, forward, k, t, discount, w)
    shape = price.shape
    price, forward, k, t, discount, w = (a.ravel() for a in (price, forward, k, t, discount, w))
    out = np.full(price.shape, np.nan)
    ok = (forward > 0.0) & (k > 0.0) & (t > 0.0) & (discount > 0.0) & (price >= 0.0)
    ok &= np.isfinite(forward) & np.isfinite(k) & np.isfinite(t) & np.isfinite(price) & np.isfinite(discount)
    undiscounted = price / discount
    intrinsic = np.maximum(w * (forward - k), 0.0)
    upper = np.where(w > 0.0, forward, k)
    otm = undiscounted - intrinsic
    slack = 16.0 * _EPS * (forward + k)  # rounding in p / discount, F - K and the bounds
    ok &= (otm >= -slack) & (undiscounted < upper - slack)
    # A time value that is numerically zero carries no vol information (any tiny vol reprices it):
    # for ITM prices that is within rounding of F - K; OTM prices involve no subtraction, so every
    # positive one is solved unless it is near the double-precision underflow (< 1e-280 sqrt(FK)).
    tiny = np.where(intrinsic > 0.0, slack, 1e-280 * np.sqrt(forward * k))
    zero = ok & (otm <= tiny)
    out[zero] = 0.0
    solve = ok & ~zero
    if solve.any():
        f, kk, tt = forward[solve], k[solve], t[solve]
        root = np.sqrt(f * kk)
        x = -np.abs(np.log(f / kk))
        bstar = otm[solve] / root
        s = _solve_total_vol(x, bstar, root * discount[solve], tol, max_iter)
        out[solve] = s / np.sqrt(tt)
    return out.reshape(shape)


def implied_vol(price, S, K, T, r, q, is_call, *, tol: float = 1e-8, max_iter: int = 50) -> np.ndarray:
    """BSM implied volatility (European, continuous dividend yield ``q``).

    NaN where the price is below the discounted intrinsic value, at or above the no-arbitrage
    upper bound (S e^{-qT} for a call, K e^{-rT} for a put), or where inputs are invalid (T <= 0,
    non-positive S or K, NaN).  0 where the price equals the discounted intrinsic value (to
    rounding).  Otherwise the repriced value is within ``tol`` of ``price`` (absolute, price units)
    and the time value within 1e-6 relative; NaN if that is not reached in ``max_iter`` iterations
    (typically 3 are needed, see ``_solve_total_vol``).
    """
    with np.errstate(all="ignore"):
        price, S, K, T, r, q = map(_f64, (price, S, K, T, r, q))
        forward = S * np.exp((r - q) * T)
        return _black_implied_vol(price, forward, K, T, np.exp(-r * T), is_call, tol, max_iter)


def black76_implied_vol(price, F, K, T, r, is_call, *, tol: float = 1e-8, max_iter: int = 50) -> np.ndarray:
    """Black-76 implied volatility of a futures option; same NaN rules as ``implied_vol``."""
    with np.errstate(all="ignore"):
        price, F, K, T, r = map(_f64, (price, F, K, T, r))
        return _black_implied_vol(price, F, K, T, np.exp(-r * T), is_call, tol, max_iter)
