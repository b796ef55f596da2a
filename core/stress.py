"""Portfolio stress loss (STRATEGY_RULES.md, "portfolio stress loss"): every open option repriced
under portfolio-margin-style moves, because a stop does not bound a loss the market gaps through.

Scenarios per class of underlying (``core.asset_groups``): the equity-index groups (A1 + A2) move
together, down ``equity_down`` or up ``equity_up``; every other group moves on its own by
``commodity_move`` either way.  Each move is taken with implied vols unchanged and with implied
vols x ``iv_multiplier`` (x 1.5 is about VIX +10 points at a VIX of 20).  A class's loss is its
worst scenario; the portfolio's stress loss is the sum over classes (no offsets between classes,
as portfolio margin allows none between unrelated products).

Pure functions of positions (a quote and signed contracts per leg) + the time + the scenarios,
vectorised over legs and scenarios: the gate judges an entry on the portfolio after it, the
monitors alert when the market takes the portfolio past the limit, and the sampler records the
loss over time, all with this one model.  Options are priced with Black-76 (futures options) or
Black-Scholes (index and ETF options, early exercise ignored) at each quote's implied vol; the loss
is the model value now minus the model value in the scenario, so model and market levels never mix.
Stock or futures holdings (an assignment being flattened) are not part of it.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

import numpy as np
from scipy.special import ndtr

from core.asset_groups import EQUITY_INDEX, contract_group
from core.option_math import black76_price, bs_price
from core.settings import Settings
from core.types import ChainSource, Leg, OptionContract, OptionQuote, SecurityKind

RATE = 0.04  # the loss is a price difference at one rate: its level barely matters
EXPIRY_TIME = time(16, 0)  # options are valued to the close of their expiry day
MIN_YEARS = 1.0 / (365.0 * 24 * 60)  # one minute: a 0DTE option at the close still has a value
EQUITY = "equity_index"


class StressUnknown(ValueError):
    """A leg has no usable quote or implied vol: the stress loss cannot be judged (fail closed)."""


@dataclass(frozen=True)
class Scenarios:
    equity_down: float = 0.08
    equity_up: float = 0.06
    iv_multiplier: float = 1.5
    commodity_move: float = 0.15

    @staticmethod
    def from_settings(s: Settings) -> Scenarios:
        return Scenarios(
            s.risk_stress_equity_down,
            s.risk_stress_equity_up,
            s.risk_stress_iv_multiplier,
            s.risk_stress_commodity_move,
        )

    def grid(self, equity: bool) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
        """(moves, iv multipliers, names) of one class's scenarios."""
        down, up = (self.equity_down, self.equity_up) if equity else (self.commodity_move,) * 2
        moves = np.array([-down, -down, up, up])
        vols = np.array([1.0, self.iv_multiplier, 1.0, self.iv_multiplier])
        names = tuple(f"{m:+.0%} iv x{v:g}" for m, v in zip(moves, vols, strict=True))
        return moves, vols, names


@dataclass(frozen=True)
class StressResult:
    """``loss``: dollars lost in the worst case (>= 0), summed over classes; per class its loss and
    the scenario that gives it."""

    loss: float = 0.0
    by_class: dict[str, float] = field(default_factory=dict)
    worst: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        parts = [f"{c} ${v:,.0f} ({self.worst[c]})" for c, v in sorted(self.by_class.items()) if v > 0]
        return ", ".join(parts) or "no loss in any scenario"


def breaches_limit(before: StressResult, after: StressResult, limit: float) -> bool:
    """An entry that takes the worst case past ``limit`` dollars; one that lowers a loss already
    beyond it (a hedge) does not (half a cent of rounding is no increase)."""
    return after.loss > limit and after.loss > before.loss + 0.005


def stress_loss(
    positions: Iterable[tuple[OptionQuote, float]], now: datetime, scenarios: Scenarios
) -> StressResult:
    """Worst-case loss of ``positions`` ((quote, signed contracts) per leg) under ``scenarios``.
    Raises ``StressUnknown`` naming the first leg whose quote cannot be repriced.

    Every step reprices the same held legs (the monitors, the gate and the sampler each ask), so
    what depends only on the legs (``_Layout``) is built once per set of legs, and the answer for
    the same legs, quotes and time is computed once (``_stress``); a call reads only the quotes'
    spot and implied vol and the time to expiry."""
    legs = [(q, n) for q, n in positions if n]
    if not legs:
        return StressResult()
    spot = tuple(q.underlying_price for q, _ in legs)
    iv = tuple(q.iv for q, _ in legs)
    for q, s, v in zip((q for q, _ in legs), spot, iv, strict=True):
        if not (0.0 < s < math.inf and 0.0 < v < math.inf):  # also false for NaN
            raise StressUnknown(
                f"{q.contract.symbol}: underlying {q.underlying_price} / iv {q.iv} cannot be repriced"
            )
    return _stress(scenarios, tuple(q.contract for q, _ in legs), tuple(n for _, n in legs), spot, iv, now)


# The monitors, the sampler and the gate ask for the same legs at the same quotes and time within a
# step: keyed on every input of the answer, so a hit is the very number; a few entries serve a step.
@functools.lru_cache(maxsize=8)
def _stress(
    scenarios: Scenarios,
    contracts: tuple[OptionContract, ...],
    ns: tuple[float, ...],
    spot: tuple[float, ...],
    iv: tuple[float, ...],
    now: datetime,
) -> StressResult:
    """The stress of valid (positive, finite) spots and vols: see ``stress_loss``."""
    layout = _layout(scenarios, contracts, ns)
    # row 0: every leg now; rows 1..: the scenarios (one pricing pass for all of them)
    spots = np.array(spot, dtype=float) * layout.growth
    ivs = np.array(iv, dtype=float) * layout.vols
    years = layout.years(now)
    if layout.plain and _in_range(spot, layout.growth_range) and _in_range(iv, layout.vols_range):
        values = _plain_price(spots, ivs, years, layout)
    else:
        values = _price(spots, layout.strike, years, ivs, layout.calls, layout.futures)
    pnl = (values[1:] - values[0]) * layout.scale  # dollars per scenario and leg
    by_class: dict[str, float] = {}
    worst: dict[str, str] = {}
    for name, members, labels in layout.classes:
        totals = pnl[:, members].sum(axis=1)
        k = int(totals.argmin())
        by_class[name] = max(0.0, -float(totals[k]))
        worst[name] = labels[k]
    return StressResult(sum(by_class.values()), by_class, worst)


def _in_range(values: tuple[float, ...], factors: tuple[float, float]) -> bool:
    """Whether every value times every factor is positive and finite (rounding is monotone, so
    the extremes decide): then no pricing edge case can occur."""
    return min(values) * factors[0] > 0.0 and max(values) * factors[1] < math.inf


@dataclass(frozen=True)
class _Layout:
    """What the stress of one set of legs needs besides the quotes: per leg its strike, expiry,
    right, model and dollars per point; per scenario and leg the spot growth and the iv multiplier
    (row 0: 1, the legs now); per class its legs and scenario names.  Read-only arrays: one layout
    serves many calls."""

    strike: np.ndarray
    expiry_us: np.ndarray  # microseconds from ``_EPOCH`` to each leg's expiry close
    calls: np.ndarray
    futures: np.ndarray
    scale: np.ndarray
    growth: np.ndarray  # (row, leg): 1 + the move
    vols: np.ndarray  # (row, leg): the iv multiplier
    classes: tuple[tuple[str, np.ndarray, tuple[str, ...]], ...]  # (name, leg indices, scenario names)
    sign: np.ndarray  # +1 calls, -1 puts
    carry: np.ndarray  # the model's ln(F/S) per year: RATE for Black-Scholes, 0 for Black-76
    plain: bool  # strikes, growths and multipliers all positive and finite (``_plain_price`` applies)
    growth_range: tuple[float, float]  # (min, max) of ``growth``
    vols_range: tuple[float, float]

    def years(self, now: datetime) -> np.ndarray:
        """Years from ``now`` to each leg's expiry close, at least ``MIN_YEARS`` (integer
        microseconds, so the same floats as ``timedelta.total_seconds``)."""
        now_us = (now - _EPOCH) // _MICROSECOND
        return np.maximum((self.expiry_us - now_us) / 1e6 / (365.0 * 86400), MIN_YEARS)


_EPOCH = datetime(1970, 1, 1)
_MICROSECOND = timedelta(microseconds=1)


@functools.lru_cache(maxsize=256)
def _layout(scenarios: Scenarios, contracts: tuple[OptionContract, ...], ns: tuple[float, ...]) -> _Layout:
    """Keyed by the legs themselves (contracts are immutable) and the scenarios: other legs or
    other scenarios are another layout, so nothing cached can go stale."""
    classes = [stress_class(c) for c in contracts]
    names = sorted(set(classes))
    index = np.array([names.index(c) for c in classes])
    grids = {c: scenarios.grid(c == EQUITY) for c in names}
    ones = np.ones(len(contracts))
    strike = np.array([c.strike for c in contracts], dtype=float)
    futures = np.array([c.kind is SecurityKind.FUTURE_OPTION for c in contracts], dtype=bool)
    calls = np.array([c.is_call for c in contracts], dtype=bool)
    growth = np.vstack([ones, 1.0 + np.stack([grids[c][0] for c in classes], axis=1)])
    vols = np.vstack([ones, np.stack([grids[c][1] for c in classes], axis=1)])
    layout = _Layout(
        strike=strike,
        expiry_us=np.array(
            [(datetime.combine(c.expiry, EXPIRY_TIME) - _EPOCH) // _MICROSECOND for c in contracts],
            dtype=np.int64,
        ),
        calls=calls,
        futures=futures,
        scale=np.array([n * c.multiplier for c, n in zip(contracts, ns, strict=True)], dtype=float),
        growth=growth,
        vols=vols,
        classes=tuple((name, np.flatnonzero(index == i), grids[name][2]) for i, name in enumerate(names)),
        sign=np.where(calls, 1.0, -1.0),
        carry=np.where(futures, 0.0, RATE),  # Black-Scholes at dividend yield 0
        plain=bool(np.all(np.isfinite(strike) & (strike > 0)) and np.all(growth > 0) and np.all(vols > 0)),
        growth_range=(float(growth.min()), float(growth.max())),
        vols_range=(float(vols.min()), float(vols.max())),
    )
    for a in (layout.strike, layout.expiry_us, layout.calls, layout.futures, layout.scale, layout.growth,
              layout.vols, layout.sign, layout.carry):  # fmt: skip
        a.flags.writeable = False
    for _, members, _ in layout.classes:
        members.flags.writeable = False
    return layout


def _plain_price(spots: np.ndarray, ivs: np.ndarray, years: np.ndarray, layout: _Layout) -> np.ndarray:
    """``_price`` where no edge case can occur (spots, vols, strikes and times positive and
    finite): both models in one pass over every leg, each element the same operations in the same
    order as ``bs_price`` / ``black76_price`` (at dividend yield 0, ``S e^-qT`` is ``S``), so the
    same bits at a fraction of the numpy calls."""
    with np.errstate(all="ignore"):
        sqrt_t = np.sqrt(years)
        vol = ivs * sqrt_t
        d1 = (np.log(spots / layout.strike) + layout.carry * years) / vol + 0.5 * vol
        d2 = d1 - vol
        w = layout.sign
        n1 = ndtr(w * d1)
        n2 = ndtr(w * d2)
        discount = np.exp(-RATE * years)
        # Black-Scholes: w * (S N1 - (K e^-rT) N2); Black-76: (w e^-rT) * (F N1 - K N2)
        k = np.where(layout.futures, layout.strike, layout.strike * discount)
        outer = np.where(layout.futures, w * discount, w)
        return outer * (spots * n1 - k * n2)


def stress_class(contract: OptionContract) -> str:
    """The stress class of an option: the equity-index groups together, else its own group."""
    group = contract_group(contract.root, contract.underlying)
    return EQUITY if group in EQUITY_INDEX else group


def _price(
    spot: np.ndarray, strike: np.ndarray, years: np.ndarray, iv: np.ndarray, calls: np.ndarray,
    futures: np.ndarray,
) -> np.ndarray:  # fmt: skip
    """Model values of (row, leg) arrays: Black-76 for the futures-option legs, Black-Scholes for the
    rest, each model run only on the legs it applies to (the same numbers as pricing all legs with
    both and picking, at half the cost or less).  A scenario that takes the underlying to 0 (a move
    of -100%) is valued at its limit, a call 0 and a put its discounted strike (both models): the
    pricers give NaN there, which would read as no loss at all."""
    if not futures.any():  # one model for every leg: nothing to split
        out = bs_price(spot, strike, years, RATE, 0.0, iv, calls)
    elif futures.all():
        out = black76_price(spot, strike, years, RATE, iv, calls)
    else:
        out = np.empty(np.broadcast_shapes(spot.shape, iv.shape), dtype=np.float64)
        for legs, black in ((futures, True), (~futures, False)):
            s, k, t, v, c = spot[:, legs], strike[legs], years[legs], iv[:, legs], calls[legs]
            out[:, legs] = black76_price(s, k, t, RATE, v, c) if black else bs_price(s, k, t, RATE, 0.0, v, c)
    wiped = spot == 0.0
    if wiped.any():
        out = np.where(wiped, np.where(calls, 0.0, strike * np.exp(-RATE * years)), out)
    return out


def positions_of(
    groups: Iterable[tuple[Iterable[Leg], float]], chains: ChainSource
) -> list[tuple[OptionQuote, float]]:
    """(quote, signed contracts) of every leg of (legs, units) pairs; raises ``StressUnknown``
    naming the first leg without a quote."""
    out = []
    for legs, units in groups:
        for leg in legs:
            q = chains.quote(leg.contract)
            if q is None:
                raise StressUnknown(f"{leg.contract.symbol}: no quote")
            out.append((q, leg.ratio * units))
    return out
