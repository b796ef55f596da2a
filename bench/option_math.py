"""Throughput of core.option_math on one core, against vollib and QuantLib in the same run.

100k random realistic contracts (mixed calls/puts, moneyness 0.7-1.3, 1 day to 2 years, vol
5-100 %).  Ours runs vectorised on all of them; vollib and QuantLib have only per-contract
Python entry points, so they run on a subset and are scaled to contracts/s.  Each measurement is
the best of a few repeats, so one noisy scheduler slice does not decide the figure.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core; effective when numpy is first imported here

import contextlib  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402

from core.option_math import bs_greeks, bs_price, implied_vol  # noqa: E402

N = 100_000
SUBSET = 2_000  # contracts for the per-contract libraries
SEED = 20240601
GREEKS_TARGET = 3e6
IV_TARGET = 1e6
IV_ERROR_TARGET = 1e-6


def contracts(n: int = N, seed: int = SEED) -> dict[str, np.ndarray]:
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


def _best(fn: Callable[[], object], repeats: int) -> float:
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _row(name: str, value: float | None, unit: str, target: float | None, note: str) -> dict:
    return {"name": name, "value": value, "unit": unit, "target": target, "note": note}


def _vollib(c: dict[str, np.ndarray], prices: np.ndarray, m: int) -> tuple[float, float, float] | str:
    """(greeks/s, iv/s, max |price diff| vs ours) from vollib's scalar functions, or why not."""
    try:
        from vollib.black_scholes_merton import black_scholes_merton
        from vollib.black_scholes_merton.greeks import analytical as an
        from vollib.black_scholes_merton.implied_volatility import implied_volatility
    except ImportError:
        return "vollib not installed"
    rows = [
        ("c" if c["is_call"][i] else "p", *(float(c[k][i]) for k in ("S", "K", "T", "r", "sigma", "q")))
        for i in range(m)
    ]
    theirs = np.empty(m)

    def greeks() -> None:
        for i, a in enumerate(rows):
            theirs[i] = black_scholes_merton(*a)
            _computed = (an.delta(*a), an.gamma(*a), an.theta(*a), an.vega(*a), an.rho(*a))

    def ivs() -> None:
        for i, (flag, s, k, t, r, _sigma, q) in enumerate(rows):
            with contextlib.suppress(Exception):  # below intrinsic after rounding: still work done
                implied_volatility(float(prices[i]), s, k, t, r, q, flag)

    g = _best(greeks, 2)
    v = _best(ivs, 2)
    return m / g, m / v, float(np.max(np.abs(theirs - prices[:m])))


def _quantlib(c: dict[str, np.ndarray], prices: np.ndarray, m: int) -> tuple[float, float, float] | str:
    """(greeks/s, iv/s, max |price diff| vs ours) from QuantLib's BlackCalculator, or why not."""
    try:
        import QuantLib as ql
    except ImportError:
        return "QuantLib not installed"
    rows = []
    for i in range(m):
        s, k, t, r, q, sig = (float(c[key][i]) for key in ("S", "K", "T", "r", "q", "sigma"))
        kind = ql.Option.Call if c["is_call"][i] else ql.Option.Put
        rows.append((kind, k, s * math.exp((r - q) * t), sig * math.sqrt(t), math.exp(-r * t), s, t))
    theirs = np.empty(m)

    def greeks() -> None:
        for i, (kind, k, fwd, std, disc, s, t) in enumerate(rows):
            bc = ql.BlackCalculator(ql.PlainVanillaPayoff(kind, k), fwd, std, disc)
            theirs[i] = bc.value()
            _computed = (bc.delta(s), bc.gamma(s), bc.theta(s, t), bc.vega(t), bc.rho(t))

    def ivs() -> None:
        for i, (kind, k, fwd, _std, disc, _s, _t) in enumerate(rows):
            with contextlib.suppress(RuntimeError):  # QuantLib refuses prices at intrinsic
                ql.blackFormulaImpliedStdDev(
                    kind, k, fwd, float(prices[i]), disc, 0.0, ql.nullDouble(), 1e-10, 100
                )

    g = _best(greeks, 2)
    v = _best(ivs, 2)
    return m / g, m / v, float(np.max(np.abs(theirs - prices[:m])))


def run() -> list[dict]:
    c = contracts()
    args = (c["S"], c["K"], c["T"], c["r"], c["q"], c["sigma"], c["is_call"])
    bs_greeks(*args)  # warm-up (imports, caches)
    t_greeks = _best(lambda: bs_greeks(*args), 5)
    t_price = _best(lambda: bs_price(*args), 5)
    prices = bs_price(*args)
    iv_args = (prices, c["S"], c["K"], c["T"], c["r"], c["q"], c["is_call"])
    t_iv = _best(lambda: implied_vol(*iv_args), 5)
    iv = implied_vol(*iv_args)
    repriced = bs_price(c["S"], c["K"], c["T"], c["r"], c["q"], iv, c["is_call"])
    err = float(np.nanmax(np.abs(repriced - prices)))
    n_nan = int(np.isnan(iv).sum())

    ours_greeks = N / t_greeks
    ours_iv = N / t_iv
    out = [
        _row(
            "option_math.bs_greeks",
            ours_greeks,
            "contracts/s",
            GREEKS_TARGET,
            f"price + 5 Greeks, {N} contracts",
        ),
        _row("option_math.bs_price", N / t_price, "contracts/s", None, f"price only, {N} contracts"),
        _row(
            "option_math.implied_vol",
            ours_iv,
            "contracts/s",
            IV_TARGET,
            f"BSM IV, {N} contracts, {n_nan} NaN",
        ),
        _row(
            "option_math.implied_vol.max_reprice_error",
            err,
            "price points",
            IV_ERROR_TARGET,
            "max |BS(IV) - price|",
        ),
    ]
    for lib, result in (
        ("vollib", _vollib(c, prices, SUBSET)),
        ("QuantLib", _quantlib(c, prices, SUBSET)),
    ):
        if isinstance(result, str):
            out.append(_row(f"{lib}.greeks", None, "contracts/s", None, result))
            out.append(_row(f"{lib}.implied_vol", None, "contracts/s", None, result))
            continue
        g, v, diff = result
        kind = "scalar calls" if lib == "vollib" else "BlackCalculator"
        out += [
            _row(
                f"{lib}.greeks", g, "contracts/s", None, f"{kind} on {SUBSET}, price diff vs ours {diff:.1e}"
            ),
            _row(f"{lib}.implied_vol", v, "contracts/s", None, f"scalar IV on {SUBSET}"),
            _row(f"option_math/{lib}.greeks_ratio", ours_greeks / g, "x", None, "ours / theirs"),
            _row(f"option_math/{lib}.iv_ratio", ours_iv / v, "x", None, "ours / theirs"),
        ]
    return out


def _fmt(v: float | None) -> str:
    if v is None:
        return "n/a"
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


if __name__ == "__main__":
    for row in run():
        target = "" if row["target"] is None else f"  (target {_fmt(row['target'])})"
        print(f"{row['name']:<44} {_fmt(row['value']):>14} {row['unit']:<12}{target}  {row['note']}")
