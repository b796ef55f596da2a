"""Portfolio Greeks in dollars, and the limits of STRATEGY_RULES.md checked on the portfolio as it
would be after a proposed trade.

Units (per leg: signed contracts n, multiplier m, underlying price S, quote Greeks per share):
- delta: beta-weighted SPX-equivalent dollars per 1% move = delta x n x m x S x 1% x beta;
- gamma: change of the (unweighted) dollar delta for a 1% move = gamma x n x m x (S x 1%)^2, as
  ``monitoring.greeks`` reports it;
- vega: dollars per volatility point = vega x n x m (short vega is negative);
- theta: dollars per day = theta x n x m, where one day's decay of a leg is capped at its
  remaining extrinsic value (Black-Scholes theta grows without bound in an option's last hours;
  no option can lose more time value than it has).

Limits (fractions of NLV): |delta| <= risk_max_delta_nlv, |gamma| <= risk_max_gamma_nlv,
vega >= -risk_max_short_vega_nlv, 0 <= theta <= risk_max_theta_nlv.  A trade is blocked when it
leaves the portfolio beyond a limit *and further beyond it than before*: a trade that reduces a
breach (a hedge) is never blocked by the breach it reduces.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from core.dollar_greeks import dollar_greeks
from core.futures_root import futures_root
from core.settings import Settings, named_values
from core.types import ChainSource, Decision, Leg, MarketSnapshot, OptionQuote


@dataclass(frozen=True, slots=True)
class Greeks:
    delta: float = 0.0
    gamma: float = 0.0
    vega: float = 0.0
    theta: float = 0.0

    def __add__(self, other: Greeks) -> Greeks:
        return Greeks(
            self.delta + other.delta,
            self.gamma + other.gamma,
            self.vega + other.vega,
            self.theta + other.theta,
        )

    def as_dict(self) -> dict[str, float]:
        return {"delta": self.delta, "gamma": self.gamma, "vega": self.vega, "theta": self.theta}


class GreeksUnknown(ValueError):
    """A leg has no quote or unusable Greeks: the portfolio cannot be judged (fail closed)."""


class Betas:
    def __init__(self, s: Settings) -> None:
        self._table = named_values(s.risk_betas)
        self._cache: dict[tuple[str, str], float] = {}

    def of(self, root: str, underlying: str) -> float:
        key = (root, underlying)
        beta = self._cache.get(key)
        if beta is None:
            beta = next(
                (self._table[k] for k in (root, underlying, futures_root(underlying)) if k in self._table),
                1.0,
            )
            self._cache[key] = beta
        return beta


def leg_greeks(q: OptionQuote, contracts: float, beta: float) -> Greeks:
    return _sum([(q, contracts)], lambda c: beta)


def legs_greeks(legs: Iterable[Leg], quantity: float, chains: ChainSource, betas: Betas) -> Greeks:
    return groups_greeks([(legs, quantity)], chains, betas)


def groups_greeks(groups: Iterable[tuple[Iterable[Leg], float]], chains: ChainSource, betas: Betas) -> Greeks:
    """Sum over (legs, units) pairs; raises ``GreeksUnknown`` naming the first unusable leg."""
    pairs: list[tuple[OptionQuote, float]] = []
    for legs, units in groups:
        for leg in legs:
            q = chains.quote(leg.contract)
            if q is None:
                raise GreeksUnknown(f"{leg.contract.symbol}: no quote")
            pairs.append((q, leg.ratio * units))
    return _sum(pairs, lambda c: betas.of(c.root, c.underlying))


def _sum(pairs: Iterable[tuple[OptionQuote, float]], beta_of) -> Greeks:  # type: ignore[no-untyped-def]
    """The hot loop (hundreds of legs per step): plain floats, one finiteness check per leg."""
    delta = gamma = vega = theta = 0.0
    isfinite = math.isfinite
    for q, contracts in pairs:
        c, spot = q.contract, q.underlying_price
        if not isfinite(q.delta + q.gamma + q.theta + q.vega + spot) or spot <= 0:
            values = (q.delta, q.gamma, q.theta, q.vega, spot)
            raise GreeksUnknown(f"{c.symbol}: Greeks {values} are not usable")
        d, g, v, t = dollar_greeks(q, contracts)
        delta += d * beta_of(c)
        gamma += g
        vega += v
        theta += t
    return Greeks(delta, gamma, vega, theta)


@dataclass(frozen=True)
class Limits:
    delta: float
    gamma: float
    short_vega: float
    theta: float

    @staticmethod
    def for_nlv(nlv: float, s: Settings) -> Limits:
        return Limits(
            s.risk_max_delta_nlv * nlv,
            s.risk_max_gamma_nlv * nlv,
            s.risk_max_short_vega_nlv * nlv,
            s.risk_max_theta_nlv * nlv,
        )

    def excess(self, g: Greeks) -> dict[str, float]:
        """How far beyond each limit ``g`` is (0 when within), in dollars."""
        return {
            "delta": max(0.0, abs(g.delta) - self.delta),
            "gamma": max(0.0, abs(g.gamma) - self.gamma),
            "vega": max(0.0, -g.vega - self.short_vega),
            "theta_negative": max(0.0, -g.theta),
            "theta": max(0.0, g.theta - self.theta),
        }


def check_greeks(before: Greeks, trade: Greeks, limits: Limits) -> Decision:
    after = before + trade
    was, now = limits.excess(before), limits.excess(after)
    for name, beyond in now.items():
        if beyond > 1e-6 and beyond > was[name] + 1e-6:
            return Decision.block(
                f"greeks_{name}",
                f"portfolio {name.replace('_', ' ')} after the trade {_describe(after)} breaches its limit "
                f"by ${beyond:,.0f} (limits: |delta| {limits.delta:,.0f}, |gamma| {limits.gamma:,.0f}, "
                f"short vega {limits.short_vega:,.0f}, theta 0..{limits.theta:,.0f})",
            )
    return Decision.ok()


def _describe(g: Greeks) -> str:
    return f"(delta {g.delta:,.0f}, gamma {g.gamma:,.0f}, vega {g.vega:,.0f}, theta {g.theta:,.0f})"


def hedge_suggestions(g: Greeks, limits: Limits, snapshot: MarketSnapshot) -> list[str]:
    """What would bring each breached Greek back inside its limit (advice in alerts, not orders)."""
    out: list[str] = []
    excess = limits.excess(g)
    if excess["delta"] > 0:
        direction = "sell" if g.delta > 0 else "buy"
        spx = snapshot.price("SPX") or 10.0 * (snapshot.price("SPY") or 0.0)
        text = f"{direction} ${excess['delta']:,.0f} of beta-weighted delta per 1%"
        if spx:
            mes = excess["delta"] / (5.0 * spx * 0.01)
            spy = excess["delta"] / (spx / 10.0 * 0.01)
            text += f" (~{mes:.1f} MES futures or ~{spy:.0f} SPY shares)"
        out.append(text + ", or close the positions contributing most delta")
    if excess["gamma"] > 0:
        out.append(
            f"gamma ${g.gamma:,.0f} per 1%: close short options nearest the money or buy near-dated "
            "options to cut gamma"
        )
    if excess["vega"] > 0:
        out.append(
            f"short vega ${-g.vega:,.0f} per vol point: close short premium or buy longer-dated options"
        )
    if excess["theta_negative"] > 0:
        out.append(f"theta ${g.theta:,.0f}/day is negative: long premium outweighs short premium")
    if excess["theta"] > 0:
        out.append(f"theta ${g.theta:,.0f}/day exceeds its cap: too much short premium, close some")
    return out
