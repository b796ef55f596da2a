"""Prices, Greeks and a realistic top of book for a batch of contracts in one vectorised pass.

Each element carries its own parameters (underlying, times, ATM vol, skew, tick rules), so a chain
and a scattered set of open legs from many roots cost the same single call.  Greeks come from
``core.option_math``: Black-Scholes-Merton for spot underlyings, Black-76 for futures options (as
BSM with q = r) -- American exercise is priced as European: a small, documented approximation.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from core.option_math import bs_greeks
from sim.markets.synthetic.config import SyntheticConfig
from sim.markets.synthetic.roots import RootSpec
from sim.markets.synthetic.surface import COMMODITIES, MIN_TAU, atm_vol_at, iv_calendar, shape_of, smile_ratio

GROUP_FIELDS = (
    "spot", "t_cal", "tau_var", "atm", "rate", "div", "black", "slope", "width", "smile", "smile_width",
    "tick_small", "tick_large", "tick_switch", "spread_ticks", "spread_pct", "stress", "fine_step", "base_oi", "base_volume",
    "elapsed",
)  # fmt: skip
"""Per-expiry scalars shared by every strike of a chain: spot (or futures price), t_cal (calendar
years to the close of expiry: the Greeks' T), tau_var (trading-time years: the variance ahead), atm
(ATM vol of the expiry, trading time), div (ignored for futures), black (futures option: Black-76),
the skew shape, tick and spread rules (stress: how much wider than usual books are now), liquidity
scales and elapsed (share of today's session clock gone)."""


def named(values: tuple[float, ...]) -> dict[str, float]:
    """``group_values`` by name (``price`` reads the fields by name)."""
    return dict(zip(GROUP_FIELDS, values, strict=True))


def group_values(
    spec: RootSpec,
    spot: float,
    level: float,
    t_cal: float,
    tau_var: float,
    elapsed: float,
    div: float,
    cfg: SyntheticConfig,
) -> tuple[float, ...]:
    """The ``GROUP_FIELDS`` of one expiry, in their order (a tuple: batches stack thousands of them):
    ``level`` is what the family's vol is anchored on (VIX for the equity-index families, the
    commodity's own ATM vol for crude and gold)."""
    slope, width, smile, smile_width = shape_of(spec.family)
    return (
        spot, t_cal, tau_var, atm_vol_at(spec.family, level, t_cal, cfg), cfg.rate, div,
        1.0 if spec.on_future else 0.0, slope, width, smile, smile_width, spec.tick_small, spec.tick_large,
        spec.tick_switch, spec.spread_ticks, spec.spread_pct, stress(spec.family, level, cfg), spec.fine_step,
        spec.base_oi, spec.base_volume, elapsed,
    )  # fmt: skip


def stress(family: str, level: float, cfg: SyntheticConfig) -> float:
    """How much wider than in a calm market books are: VIX / 20 for the equity-index families, the
    commodity's vol against its long-run level for crude and gold."""
    if family in COMMODITIES:
        long_run = (cfg.cl_vol if family == "cl" else cfg.gc_vol) * cfg.commodity_iv_premium
        return (level / long_run) ** SPREAD_VIX_POWER
    return (max(level, 1.0) / 20.0) ** SPREAD_VIX_POWER


def stack(
    groups: list[tuple[float, ...]],
    strikes: list[float],
    is_calls: list[bool],
    counts: list[int] | None = None,
) -> dict[str, np.ndarray]:
    """Inputs for contracts of many expiries: one array per field, element i from ``groups[i]``, or
    with ``counts`` the first counts[0] elements from groups[0], the next counts[1] from groups[1]..."""
    table = np.array(groups, dtype=np.float64)
    if counts is not None:
        table = np.repeat(table, counts, axis=0)
    out = {name: table[:, j] for j, name in enumerate(GROUP_FIELDS)}
    out["strike"] = np.array(strikes, dtype=np.float64)
    out["is_call"] = np.array(is_calls, dtype=bool)
    return out


@dataclass
class Priced:
    """Outputs in ``OptionQuote`` field order: Python lists from ``price``, numpy arrays from
    ``price_arrays`` (a chain converts only the rows it reads: see ``rows.ChainRows``)."""

    bid: list | np.ndarray
    ask: list | np.ndarray
    bid_size: list | np.ndarray
    ask_size: list | np.ndarray
    volume: list | np.ndarray
    open_interest: list | np.ndarray
    iv: list | np.ndarray
    delta: list | np.ndarray
    gamma: list | np.ndarray
    theta: list | np.ndarray
    vega: list | np.ndarray


def _greeks(s, k, t, r, q, iv, is_call):
    """Black-Scholes-Merton with yield ``q``; for futures options ``q`` = r, which is Black-76 exactly
    (same price, delta, gamma, theta and vega), so a mixed batch is one call."""
    return bs_greeks(s, k, t, r, q, iv, is_call)


def _tick(v: np.ndarray, f: dict) -> np.ndarray:
    """The tick that applies at premium ``v`` (e.g. SPX: 0.05 under $3, 0.10 above)."""
    return np.where(v < f["tick_switch"], f["tick_small"], f["tick_large"])


SPREAD_VIX_POWER = (
    1.0  # spreads widen in proportion to VIX / 20 (real 0DTE SPXW: 8-12 % of mid in a sell-off)
)
NEAR_EXPIRY, NEAR_EXPIRY_DAYS = 0.6, 3.0  # ... and up to 1.6x in the last days before expiry
FAR_WIDEN = 0.08  # per standard deviation beyond the first: far strikes are quoted wider


def _half_spread(value: np.ndarray, x2: np.ndarray, t: np.ndarray, f: dict) -> np.ndarray:
    """A floor in ticks plus a share of the premium (larger far from the money), all scaled by stress
    (VIX) and closeness to expiry: market makers quote wider in a sell-off and in the last days."""
    near = 1.0 + NEAR_EXPIRY * np.exp(-365.0 * t / NEAR_EXPIRY_DAYS)
    far = 1.0 + FAR_WIDEN * np.maximum(np.sqrt(x2) - 1.0, 0.0)
    return (
        (t > 0.0) * f["stress"] * near * (f["spread_ticks"] * _tick(value, f) + f["spread_pct"] * far * value)
    )


def price(inputs: dict) -> Priced:
    """``price_arrays`` as Python lists, ready to become ``OptionQuote`` fields."""
    p = price_arrays(inputs)
    return Priced(*(np.asarray(getattr(p, f.name)).tolist() for f in fields(Priced)))


def price_arrays(inputs: dict) -> Priced:
    """Model value, then a book around it (``_half_spread``); bid rounded down, ask up, so
    bid <= value <= ask.

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
    g = _greeks(s, k, t, r, q, iv, is_call)
    value = np.maximum(g[0], 0.0)
    # liquidity measures distance in at-least-one-day standard deviations, stable through the session
    x2 = log_kf * log_kf / (atm * atm * np.maximum(tau, 1.0 / 252.0))
    half = _half_spread(value, x2, t, f)
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
        bid=bid,
        ask=ask,
        bid_size=bid_size.astype(np.int64),
        ask_size=size.astype(np.int64),
        volume=np.floor(volume).astype(np.int64),
        open_interest=np.floor(oi).astype(np.int64),
        iv=iv,
        delta=np.asarray(g[1]),
        gamma=np.asarray(g[2]),
        theta=np.asarray(g[3]),
        vega=np.asarray(g[4]),
    )
