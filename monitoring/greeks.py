"""Greeks of each open position group and of the portfolio, in the dollar units the rulebook's
limits use, plus how close each limit is and what would hedge it.

Units (per position, signed, long +):
- ``delta_1pct``: $ P&L for a 1% move of the position's own underlying;
- ``bw_delta_1pct``: the same, beta-weighted to SPX ($ per 1% SPX move);
- ``gamma_1pct``: change of ``delta_1pct`` for a 1% move of the underlying;
- ``theta_day``: $ per calendar day (capped at each leg's time value, as the risk gate counts it);
  ``vega_1pt``: $ per volatility point.  The arithmetic is ``core.dollar_greeks``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from core.dollar_greeks import dollar_greeks
from core.futures_root import futures_root
from core.types import MarketSnapshot, PositionGroup

# STRATEGY_RULES.md, portfolio risk (project choices); Settings carries them as risk_max_*_nlv.
DEFAULT_LIMITS = {"delta": 0.015, "gamma": 0.01, "short_vega": 0.01, "theta": 0.005}
NEAR_SHARE = 0.80  # a limit is "near" from 80% of it: time to hedge before the gate starts blocking


@dataclass(frozen=True)
class Greeks:
    delta_1pct: float = 0.0
    bw_delta_1pct: float = 0.0
    gamma_1pct: float = 0.0
    theta_day: float = 0.0
    vega_1pt: float = 0.0

    def __add__(self, other: Greeks) -> Greeks:
        return Greeks(
            self.delta_1pct + other.delta_1pct,
            self.bw_delta_1pct + other.bw_delta_1pct,
            self.gamma_1pct + other.gamma_1pct,
            self.theta_day + other.theta_day,
            self.vega_1pt + other.vega_1pt,
        )


@dataclass(frozen=True)
class PositionGreeks:
    group_id: str
    strategy: str
    greeks: Greeks
    mark: float | None  # net value per unit at mid (credit structures negative), None if unquoted
    unrealized_pnl: float | None  # after entry fees
    missing_quotes: tuple[str, ...] = ()


@dataclass(frozen=True)
class PortfolioGreeks:
    total: Greeks
    positions: tuple[PositionGreeks, ...]
    by_strategy: dict[str, Greeks] = field(default_factory=dict)


class BetaTable:
    """Betas to SPX by underlying root; unlisted roots are 1.0 as in the risk layer's setting."""

    def __init__(self, betas: Mapping[str, float] | None = None, default: float = 1.0) -> None:
        self._betas = dict(betas or {})
        self._default = default

    @classmethod
    def from_pairs(cls, pairs: Iterable[str]) -> BetaTable:
        return cls(parse_pairs(pairs))

    def __call__(self, underlying: str) -> float:
        return self._betas.get(underlying, self._betas.get(futures_root(underlying), self._default))


def parse_pairs(pairs: Iterable[str]) -> dict[str, float]:
    """``("QQQ:1.15", ...)`` -> ``{"QQQ": 1.15}``; a malformed pair is an error, not a skip."""
    out: dict[str, float] = {}
    for pair in pairs:
        name, sep, value = str(pair).partition(":")
        try:
            if not sep or not name.strip():
                raise ValueError
            out[name.strip()] = float(value)
        except ValueError:
            raise ValueError(f"expected NAME:NUMBER, got {pair!r}") from None
    return out


def position_greeks(group: PositionGroup, snapshot: MarketSnapshot, beta: BetaTable) -> PositionGreeks:
    total = Greeks()
    mark = 0.0
    missing: list[str] = []
    for leg in group.legs:
        c = leg.contract
        q = snapshot.chains.quote(c)
        if q is None or not all(math.isfinite(x) for x in (q.delta, q.gamma, q.theta, q.vega, q.mid)):
            missing.append(c.symbol)
            continue
        delta, gamma, vega, theta = dollar_greeks(q, leg.ratio * group.quantity)
        total = total + Greeks(
            delta_1pct=delta,
            bw_delta_1pct=delta * beta(c.underlying),
            gamma_1pct=gamma,
            theta_day=theta,
            vega_1pt=vega,
        )
        mark += leg.ratio * q.mid
    unrealized = None
    if not missing:
        unrealized = (mark - group.entry_price) * group.quantity * group.multiplier - group.entry_fees
    return PositionGreeks(
        group.group_id, group.strategy, total, None if missing else mark, unrealized, tuple(missing)
    )


def portfolio_greeks(
    groups: Sequence[PositionGroup], snapshot: MarketSnapshot, beta: BetaTable
) -> PortfolioGreeks:
    positions = tuple(position_greeks(g, snapshot, beta) for g in groups)
    total = Greeks()
    by: dict[str, Greeks] = {}
    for p in positions:
        total = total + p.greeks
        by[p.strategy] = by.get(p.strategy, Greeks()) + p.greeks
    return PortfolioGreeks(total, positions, by)


@dataclass(frozen=True)
class LimitCheck:
    name: str  # delta | gamma | short_vega | theta
    value: float
    limit: float  # dollars
    usage: float  # share of the limit used (> 1: breached)
    state: str  # ok | near | breach
    suggestion: str


def check_limits(
    portfolio: PortfolioGreeks,
    nlv: float,
    snapshot: MarketSnapshot,
    limits: Mapping[str, float] = DEFAULT_LIMITS,
    near: float = NEAR_SHARE,
) -> list[LimitCheck]:
    """Usage of each Greek limit, and for those near or over it a concrete hedge."""
    if not nlv > 0:
        raise ValueError(f"net liquidation must be positive to judge Greek limits, got {nlv}")
    t = portfolio.total
    rows = [
        ("delta", t.bw_delta_1pct, limits["delta"] * nlv, abs(t.bw_delta_1pct)),
        ("gamma", t.gamma_1pct, limits["gamma"] * nlv, abs(t.gamma_1pct)),
        ("short_vega", t.vega_1pt, limits["short_vega"] * nlv, max(0.0, -t.vega_1pt)),
        ("theta", t.theta_day, limits["theta"] * nlv, max(0.0, t.theta_day)),
    ]
    out = []
    for name, value, limit, used in rows:
        usage = used / limit if limit > 0 else (1e9 if used > 0 else 0.0)
        state = "breach" if usage > 1 else "near" if usage >= near else "ok"
        if name == "theta" and value < 0:
            state, usage = "breach", abs(value) / limit if limit > 0 else 1.0  # the rule is theta >= 0
        suggestion = "" if state == "ok" else _suggest(name, value, limit, portfolio, snapshot)
        out.append(LimitCheck(name, value, limit, usage, state, suggestion))
    return out


def _suggest(
    name: str, value: float, limit: float, portfolio: PortfolioGreeks, snapshot: MarketSnapshot
) -> str:
    if name == "delta":
        parts = []
        spx, spy = snapshot.price("SPX"), snapshot.price("SPY")
        if spx:
            per_mes = 5.0 * spx * 0.01  # one /MES moves $5 per SPX point
            n = round(value / per_mes)
            if n:
                parts.append(f"{'sell' if n > 0 else 'buy'} {abs(n)} /MES")
        if spy:
            shares = round(value / (spy * 0.01))
            if shares:
                parts.append(f"{'sell' if shares > 0 else 'buy'} {abs(shares)} SPY shares")
        target = " or ".join(parts) if parts else "reduce directional positions"
        return f"beta-weighted delta {value:+,.0f} $/1% vs limit ±{limit:,.0f}: {target} to flatten it"
    worst = _largest_contributors(portfolio, name)
    what = {
        "gamma": f"gamma {value:+,.0f} $/1%/1% vs limit ±{limit:,.0f}",
        "short_vega": f"vega {value:+,.0f} $/pt vs short limit {limit:,.0f}",
        "theta": f"theta {value:+,.0f} $/day vs 0..{limit:,.0f}",
    }[name]
    return f"{what}: reduce {', '.join(worst) or 'open positions'}"


def _largest_contributors(portfolio: PortfolioGreeks, name: str, n: int = 3) -> list[str]:
    attr = {"gamma": "gamma_1pct", "short_vega": "vega_1pt", "theta": "theta_day"}[name]
    sign = 1.0 if name == "theta" else -1.0 if name == "short_vega" else 0.0
    ranked = sorted(
        portfolio.positions,
        key=lambda p: -(sign * getattr(p.greeks, attr) if sign else abs(getattr(p.greeks, attr))),
    )
    return [p.group_id for p in ranked[:n] if getattr(p.greeks, attr)]
