"""The one portfolio-Greeks model: dollar Greeks per leg, per position group and for the portfolio,
beta-weighted to SPX from one beta table, and the portfolio as the rulebook's limits judge it.

The risk gate (entries), the risk monitors (breach alerts), the monitoring sampler (reports) and
0DTE sizing all read this model, so a figure in a report is the figure the gate acted on.

Units (per leg: signed contracts n, multiplier m, underlying price S, quote Greeks per share):
- ``delta_1pct``: $ P&L for a 1% move of the leg's own underlying = delta x n x m x S x 1%;
- ``bw_delta_1pct``: the same times the underlying's beta to SPX ($ per 1% SPX move);
- ``gamma_1pct``: change of the (unweighted) dollar delta for a 1% move = gamma x n x m x (S x 1%)^2;
- ``vega_1pt``: $ per volatility point = vega x n x m (short vega is negative);
- ``theta_day``: $ per day = theta x n x m, one day's decay of a leg capped at its remaining
  extrinsic value (Black-Scholes theta grows without bound in an option's last hours; no option
  can lose more time value than it has).

An intraday position (opened today, every leg expiring today: the 0DTE condor) is judged on delta
and gamma only: its theta and vega are gone by the close (STRATEGY_RULES.md, 0DTE).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date

from core.futures_root import futures_root
from core.settings import Settings
from core.settings_text import named_values
from core.types import ChainSource, Leg, OptionQuote, PositionGroup, Right


@dataclass(frozen=True, slots=True)
class Greeks:
    """Dollar Greeks, signed (long +), in the units of the module docstring."""

    delta_1pct: float = 0.0
    bw_delta_1pct: float = 0.0
    gamma_1pct: float = 0.0
    vega_1pt: float = 0.0
    theta_day: float = 0.0

    def __add__(self, other: Greeks) -> Greeks:
        return Greeks(
            self.delta_1pct + other.delta_1pct,
            self.bw_delta_1pct + other.bw_delta_1pct,
            self.gamma_1pct + other.gamma_1pct,
            self.vega_1pt + other.vega_1pt,
            self.theta_day + other.theta_day,
        )

    def directional(self) -> Greeks:
        """Delta and gamma only: what an intraday position is judged on."""
        return Greeks(self.delta_1pct, self.bw_delta_1pct, self.gamma_1pct)

    def as_dict(self) -> dict[str, float]:
        """The fields by name, in field order (``dataclasses.asdict`` without its deep copy: the
        reports sample this for every position many times a day)."""
        return {name: getattr(self, name) for name in _GREEK_FIELDS}


_GREEK_FIELDS = tuple(f.name for f in fields(Greeks))


class GreeksUnknown(ValueError):
    """A leg has no quote or unusable Greeks: the portfolio cannot be judged (fail closed)."""


class BetaTable:
    """Betas to SPX, looked up by option root, then underlying, then the underlying's futures root
    (``CLZ5`` -> ``CL``); an unlisted underlying is 1.0 (moves with SPX)."""

    def __init__(self, betas: Mapping[str, float] | None = None) -> None:
        self._table = dict(betas or {})
        self._cache: dict[tuple[str, str], float] = {}

    @classmethod
    def from_settings(cls, s: Settings) -> BetaTable:
        """From ``risk_betas`` (``("QQQ:1.15", ...)``); a malformed or repeated pair is a ValueError."""
        return cls(named_values(s.risk_betas))

    def of(self, root: str, underlying: str) -> float:
        key = (root, underlying)
        beta = self._cache.get(key)
        if beta is None:
            keys = (root, underlying, futures_root(underlying))
            beta = next((self._table[k] for k in keys if k in self._table), 1.0)
            self._cache[key] = beta
        return beta


def unusable(q: OptionQuote) -> str:
    """Why ``q``'s Greeks cannot be summed ("" when they can)."""
    values = (q.delta, q.gamma, q.theta, q.vega, q.underlying_price)
    if not math.isfinite(sum(values)) or q.underlying_price <= 0:
        return f"{q.contract.symbol}: Greeks {values} are not usable"
    return ""


def leg_greeks(q: OptionQuote, contracts: float, beta: float) -> Greeks:
    """Dollar Greeks of ``contracts`` (signed) of ``q``; raises ``GreeksUnknown`` if unusable."""
    return _accumulate([(q, contracts, beta)])


def legs_greeks(legs: Iterable[Leg], units: float, chains: ChainSource, betas: BetaTable) -> Greeks:
    """Greeks of ``units`` of a structure; raises ``GreeksUnknown`` naming the first unusable leg."""
    rows = []
    for leg in legs:
        q = chains.quote(leg.contract)
        if q is None:
            raise GreeksUnknown(f"{leg.contract.symbol}: no quote")
        rows.append((q, leg.ratio * units, betas.of(leg.contract.root, leg.contract.underlying)))
    return _accumulate(rows)


def _accumulate(rows: Iterable[tuple[OptionQuote, float, float]]) -> Greeks:
    """Sum of (quote, signed contracts, beta) rows; raises ``GreeksUnknown`` naming the first
    unusable quote."""
    rows = list(rows)
    for q, _, _ in rows:
        why = unusable(q)
        if why:
            raise GreeksUnknown(why)
    return _sum_rows(rows)


def _sum_rows(rows: Iterable[tuple[OptionQuote, float, float]]) -> Greeks:
    """Sum of rows whose quotes are usable: the hot loop (hundreds of legs per step), so plain
    floats."""
    delta = bw_delta = gamma = vega = theta = 0.0
    for q, contracts, beta in rows:
        c, spot = q.contract, q.underlying_price
        scale, s1 = contracts * c.multiplier, spot * 0.01
        intrinsic = max(0.0, spot - c.strike) if c.right is Right.CALL else max(0.0, c.strike - spot)
        extrinsic = max(0.0, 0.5 * (q.bid + q.ask) - intrinsic) if q.ask > 0 else 0.0
        decay = min(abs(q.theta), extrinsic)
        d = q.delta * scale * s1
        delta += d
        bw_delta += d * beta
        gamma += q.gamma * scale * s1 * s1
        vega += q.vega * scale
        theta += (decay if q.theta >= 0 else -decay) * scale
    return Greeks(delta, bw_delta, gamma, vega, theta)


def is_intraday(group: PositionGroup, today: date) -> bool:
    """Opened today (or opening) with every leg expiring today: gone by the close, so outside the
    overnight caps (correlation groups) and the theta and vega limits (STRATEGY_RULES.md, 0DTE)."""
    opened_today = group.opened_at is None or group.opened_at.date() == today
    return opened_today and all(leg.contract.expiry <= today for leg in group.legs)


@dataclass(frozen=True, slots=True)
class GroupGreeks:
    """One position group's Greeks over its usable legs; ``missing`` says why any leg is not in
    them, ``unquoted`` names those legs' contracts."""

    group_id: str
    strategy: str
    greeks: Greeks
    intraday: bool
    missing: tuple[str, ...] = ()
    unquoted: tuple[str, ...] = ()

    @property
    def judged(self) -> Greeks:
        """What the limits hold against this group: an intraday group's delta and gamma only."""
        return self.greeks.directional() if self.intraday else self.greeks


@dataclass(frozen=True)
class PortfolioGreeks:
    """Every group's Greeks; the portfolio's are their sum (``total``) and, as the limits judge it,
    with intraday groups' vega and theta left out (``judged``)."""

    groups: tuple[GroupGreeks, ...] = ()

    @property
    def total(self) -> Greeks:
        return _sum(g.greeks for g in self.groups)

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(m for g in self.groups for m in g.missing)

    def judged(self) -> Greeks:
        """The Greeks the limits are judged on; raises ``GreeksUnknown`` when any leg is missing
        (a partial sum would understate the portfolio)."""
        for g in self.groups:
            if g.missing:
                raise GreeksUnknown(g.missing[0])
        return _sum(g.judged for g in self.groups)

    def by_strategy(self) -> dict[str, Greeks]:
        out: dict[str, Greeks] = {}
        for g in self.groups:
            out[g.strategy] = out.get(g.strategy, Greeks()) + g.greeks
        return out


def group_greeks(group: PositionGroup, chains: ChainSource, betas: BetaTable, today: date) -> GroupGreeks:
    rows, missing, unquoted = [], [], []
    for leg in group.legs:
        c = leg.contract
        q = chains.quote(c)
        why = f"{c.symbol}: no quote" if q is None else unusable(q)
        if q is None or why:
            missing.append(why)
            unquoted.append(c.symbol)
        else:
            rows.append((q, leg.ratio * group.quantity, betas.of(c.root, c.underlying)))
    greeks = _sum_rows(rows)  # every row passed ``unusable`` above
    intraday = is_intraday(group, today)
    return GroupGreeks(group.group_id, group.strategy, greeks, intraday, tuple(missing), tuple(unquoted))


def portfolio_greeks(
    groups: Sequence[PositionGroup], chains: ChainSource, betas: BetaTable, today: date
) -> PortfolioGreeks:
    return PortfolioGreeks(tuple(group_greeks(g, chains, betas, today) for g in groups))


def _sum(parts: Iterable[Greeks]) -> Greeks:
    """``Greeks() + a + b + ...`` field by field in plain floats (the same additions in the same
    order, without a ``Greeks`` per partial sum)."""
    delta = bw_delta = gamma = vega = theta = 0.0
    for g in parts:
        delta += g.delta_1pct
        bw_delta += g.bw_delta_1pct
        gamma += g.gamma_1pct
        vega += g.vega_1pt
        theta += g.theta_day
    return Greeks(delta, bw_delta, gamma, vega, theta)
