"""Prices, Greeks and a realistic top of book for a batch of contracts in one vectorised pass.

Each element carries its own parameters (underlying, times, ATM vol, skew, tick rules), so a chain
and a scattered set of open legs from many roots cost the same single call.  Greeks come from
``core.option_math``: Black-Scholes-Merton for spot underlyings, Black-76 for futures options
(American exercise is priced as European: a small, documented approximation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.option_math import black76_greeks, bs_greeks
from sim.markets.synthetic.surface import MIN_TAU, iv_calendar, smile_ratio

GROUP_FIELDS = (
    "spot", "t_cal", "tau_var", "atm", "rate", "div", "black", "slope", "width", "smile", "smile_width",
    "tick_small", "tick_large", "tick_switch", "spread_pct", "fine_step", "base_oi", "base_volume", "elapsed",
)  # fmt: skip
"""Per-expiry scalars shared by every strike of a chain: spot (or futures price), t_cal (calendar
years to the close of expiry: the Greeks' T), tau_var (trading-time years: the variance ahead), atm
(ATM vol of the expiry, trading time), div (ignored for futures), black (futures option: Black-76),
the skew shape, tick and spread rules, liquidity scales and elapsed (share of today's session gone)."""


def stack(
    groups: list[dict], strikes: list[float], is_calls: list[bool], counts: list[int] | None = None
) -> dict[str, np.ndarray]:
    """Inputs for contracts of many expiries: one array per field, element i from ``groups[i]``, or
    with ``counts`` the first counts[0] elements from groups[0], the next counts[1] from groups[1]..."""
    if counts is None:
        out = {name: np.array([g[name] for g in groups]) for name in GROUP_FIELDS}
    else:
        reps = np.asarray(counts)
        out = {name: np.repeat(np.array([g[name] for g in groups]), reps) for name in GROUP_FIELDS}
    out["strike"] = np.array(strikes, dtype=np.float64)
    out["is_call"] = np.array(is_calls, dtype=bool)
    return out


@dataclass
class Priced:
    """Outputs as Python lists, ready to become ``OptionQuote`` fields."""

    bid: list
    ask: list
    bid_size: list
    ask_size: list
    volume: list
    open_interest: list
    iv: list
    delta: list
    gamma: list
    theta: list
    vega: list


def _greeks(s, k, t, r, q, iv, is_call, black):
    """One call per model; a mixed batch is split and merged."""
    if black.all():
        return black76_greeks(s, k, t, r, iv, is_call)
    if not black.any():
        return bs_greeks(s, k, t, r, q, iv, is_call)
    shape = np.broadcast(s, k, t, r, q, iv, is_call, black).shape
    s, k, t, r, q, iv, is_call, fut = (np.broadcast_to(a, shape) for a in (s, k, t, r, q, iv, is_call, black))
    spot = ~fut
    out = [np.empty(shape) for _ in range(6)]
    b76 = black76_greeks(s[fut], k[fut], t[fut], r[fut], iv[fut], is_call[fut])
    bsm = bs_greeks(s[spot], k[spot], t[spot], r[spot], q[spot], iv[spot], is_call[spot])
    for mask, g in ((fut, b76), (spot, bsm)):
        for dst, src in zip(out, g, strict=True):
            dst[mask] = src
    return out


def _tick(v: np.ndarray, f: dict) -> np.ndarray:
    """The tick that applies at premium ``v`` (e.g. SPX: 0.05 under $3, 0.10 above)."""
    return np.where(v < f["tick_switch"], f["tick_small"], f["tick_large"])


def price(inputs: dict) -> Priced:
    """Model value, then a book around it: half-spread = (half a tick + a share of the premium), widened
    for far-from-the-money and last-day options; bid rounded down, ask up, so bid <= value <= ask.

    ``inputs`` maps ``GROUP_FIELDS`` plus ``strike`` and ``is_call`` to scalars or arrays that broadcast.
    """
    f = {n: np.asarray(v, dtype=np.float64) for n, v in inputs.items() if n != "is_call"}
    is_call = np.asarray(inputs["is_call"], dtype=bool)
    black = f["black"] > 0.5
    s, k, t, tau, atm = f["spot"], f["strike"], f["t_cal"], f["tau_var"], f["atm"]
    r, q = f["rate"], np.where(black, f["rate"], f["div"])
    log_kf = np.log(k / s) - (r - q) * t  # ln(K / forward)
    x = log_kf / (atm * np.sqrt(np.maximum(tau, MIN_TAU)))
    iv = iv_calendar(atm * smile_ratio(x, f["slope"], f["width"], f["smile"], f["smile_width"]), tau, t)
    g = _greeks(s, k, t, r, q, iv, is_call, black)
    value = np.maximum(g[0], 0.0)
    # liquidity measures distance in at-least-one-day standard deviations, stable through the session
    x2 = log_kf * log_kf / (atm * atm * np.maximum(tau, 1.0 / 252.0))
    widen = 1.0 + 0.08 * np.maximum(np.sqrt(x2) - 1.0, 0.0) + 0.5 * np.exp(-365.0 * t)
    half = (t > 0.0) * widen * (0.5 * _tick(value, f) + f["spread_pct"] * value)
    lo, hi = value - half, value + half
    tick_lo, tick_hi = _tick(lo, f), _tick(hi, f)
    bid = np.maximum(np.round(np.floor(lo / tick_lo + 1e-7) * tick_lo, 4), 0.0)
    ask = np.round(np.ceil(hi / tick_hi - 1e-7) * tick_hi, 4)
    ask = np.where(ask <= bid + 1e-9, np.round(bid + _tick(bid, f), 4), ask)  # never locked or crossed
    # open interest and volume fall with distance; round strikes and near expiries trade more
    step = np.rint(k / f["fine_step"]).astype(np.int64)
    roundness = 1.0 + 0.5 * (step % 5 == 0) + 0.5 * (step % 20 == 0)
    oi = f["base_oi"] * roundness * np.exp(-x2 / 8.0) / (1.0 + t)
    volume = f["base_volume"] * np.exp(-x2 / 6.48) / (1.0 + 8.0 * t) * (0.1 + 0.9 * f["elapsed"])
    size = np.floor(5.0 + 95.0 * np.exp(-x2 / 18.0))
    bid_size = (bid > 0.0) * size
    return Priced(
        bid=bid.tolist(),
        ask=ask.tolist(),
        bid_size=bid_size.astype(np.int64).tolist(),
        ask_size=size.astype(np.int64).tolist(),
        volume=np.floor(volume).astype(np.int64).tolist(),
        open_interest=np.floor(oi).astype(np.int64).tolist(),
        iv=iv.tolist(),
        delta=np.asarray(g[1]).tolist(),
        gamma=np.asarray(g[2]).tolist(),
        theta=np.asarray(g[3]).tolist(),
        vega=np.asarray(g[4]).tolist(),
    )
