"""The rulebook's portfolio-Greeks limits (STRATEGY_RULES.md, portfolio risk) on the model of
``core.portfolio_greeks``: how far beyond each limit a portfolio is, how much of each it uses, the
gate's "never further beyond than before" rule, and what would hedge a limit that is near or past.

Limits (fractions of NLV, from settings): |beta-weighted delta| <= risk_max_delta_nlv,
|gamma| <= risk_max_gamma_nlv, short vega <= risk_max_short_vega_nlv, 0 <= theta <=
risk_max_theta_nlv.  One vocabulary everywhere: ``delta``, ``gamma``, ``short_vega``, ``theta``
(and ``theta_negative`` for the theta >= 0 rule): gate block codes are ``greeks_<name>``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from core.portfolio_greeks import Greeks, PortfolioGreeks
from core.settings import Settings
from core.types import Decision, MarketSnapshot

NEAR_SHARE = 0.80  # a limit is "near" from 80% of it: time to hedge before the gate starts blocking
MES_PER_SPX_POINT = 5.0  # one /MES moves $5 per SPX point
EPS = 1e-6


@dataclass(frozen=True)
class Limits:
    """The limits in dollars for one NLV."""

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
            "delta": max(0.0, abs(g.bw_delta_1pct) - self.delta),
            "gamma": max(0.0, abs(g.gamma_1pct) - self.gamma),
            "short_vega": max(0.0, -g.vega_1pt - self.short_vega),
            "theta_negative": max(0.0, -g.theta_day),
            "theta": max(0.0, g.theta_day - self.theta),
        }


def check_greeks(before: Greeks, trade: Greeks, limits: Limits) -> Decision:
    """Block a trade that leaves the portfolio beyond a limit *and further beyond it than before*:
    a trade that reduces a breach (a hedge) is never blocked by the breach it reduces."""
    after = before + trade
    was, now = limits.excess(before), limits.excess(after)
    for name, beyond in now.items():
        if beyond > EPS and beyond > was[name] + EPS:
            return Decision.block(
                f"greeks_{name}",
                f"portfolio {name.replace('_', ' ')} after the trade {describe(after)} breaches its limit "
                f"by ${beyond:,.0f} (limits: |delta| {limits.delta:,.0f}, |gamma| {limits.gamma:,.0f}, "
                f"short vega {limits.short_vega:,.0f}, theta 0..{limits.theta:,.0f})",
            )
    return Decision.ok()


def describe(g: Greeks) -> str:
    return f"(delta {g.bw_delta_1pct:,.0f}, gamma {g.gamma_1pct:,.0f}, vega {g.vega_1pt:,.0f}, theta {g.theta_day:,.0f})"


@dataclass(frozen=True)
class LimitCheck:
    name: str  # delta | gamma | short_vega | theta
    value: float  # the Greek the limit is on, in dollars
    limit: float  # dollars
    usage: float  # share of the limit used (> 1: breached)
    state: str  # ok | near | breach
    suggestion: str  # what would hedge it ("" when ok)


def check_limits(
    portfolio: PortfolioGreeks, limits: Limits, snapshot: MarketSnapshot, near: float = NEAR_SHARE
) -> list[LimitCheck]:
    """Usage of each limit by the portfolio as the limits judge it, with a hedge for those near or
    past.  Raises ``GreeksUnknown`` when a leg is missing (a partial sum would understate it)."""
    g = portfolio.judged()
    rows = [
        ("delta", g.bw_delta_1pct, limits.delta, abs(g.bw_delta_1pct)),
        ("gamma", g.gamma_1pct, limits.gamma, abs(g.gamma_1pct)),
        ("short_vega", g.vega_1pt, limits.short_vega, max(0.0, -g.vega_1pt)),
        ("theta", g.theta_day, limits.theta, abs(g.theta_day)),
    ]
    out = []
    for name, value, limit, used in rows:
        usage = used / limit if limit > 0 else (math.inf if used > 0 else 0.0)
        state = (
            "breach" if usage > 1 or (name == "theta" and value < -EPS) else "near" if usage >= near else "ok"
        )
        suggestion = "" if state == "ok" else hedge_suggestion(name, g, limits, portfolio, snapshot)
        out.append(LimitCheck(name, value, limit, usage, state, suggestion))
    return out


def hedge_suggestions(
    g: Greeks, limits: Limits, portfolio: PortfolioGreeks, snapshot: MarketSnapshot
) -> list[str]:
    """What would bring each breached limit of ``g`` back inside (advice in alerts, not orders)."""
    excess = limits.excess(g)
    names = [n for n in ("delta", "gamma", "short_vega") if excess[n] > EPS]
    if excess["theta"] > EPS or excess["theta_negative"] > EPS:
        names.append("theta")
    return [hedge_suggestion(n, g, limits, portfolio, snapshot) for n in names]


def hedge_suggestion(
    name: str, g: Greeks, limits: Limits, portfolio: PortfolioGreeks, snapshot: MarketSnapshot
) -> str:
    if name == "delta":
        return _delta_hedge(g.bw_delta_1pct, limits.delta, snapshot) + _contributors(
            portfolio, "bw_delta_1pct", g.bw_delta_1pct
        )
    if name == "gamma":
        return (
            f"gamma {g.gamma_1pct:+,.0f} $/1%/1% vs limit ±{limits.gamma:,.0f}: close short options nearest "
            f"the money or buy near-dated options{_contributors(portfolio, 'gamma_1pct', g.gamma_1pct)}"
        )
    if name == "short_vega":
        return (
            f"vega {g.vega_1pt:+,.0f} $/pt vs short limit {limits.short_vega:,.0f}: close short premium or "
            f"buy longer-dated options{_contributors(portfolio, 'vega_1pt', g.vega_1pt)}"
        )
    what = "long premium outweighs short premium" if g.theta_day < 0 else "too much short premium"
    return f"theta {g.theta_day:+,.0f} $/day vs 0..{limits.theta:,.0f}: {what}{_contributors(portfolio, 'theta_day', g.theta_day)}"


def _delta_hedge(delta: float, limit: float, snapshot: MarketSnapshot) -> str:
    """/MES and SPY share counts that bring the beta-weighted delta inside its limit (the least
    trade) and that flatten it."""
    head = f"beta-weighted delta {delta:+,.0f} $/1% SPX vs limit ±{limit:,.0f}"
    spx = snapshot.price("SPX") or 10.0 * (snapshot.price("SPY") or 0.0)
    if not spx > 0:
        return f"{head}: reduce directional positions (no SPX or SPY price to size a hedge)"
    side = "sell" if delta > 0 else "buy"
    excess, size = max(0.0, abs(delta) - limit), abs(delta)
    per_mes, per_share = MES_PER_SPX_POINT * spx * 0.01, spx / 10.0 * 0.01
    flat = f"{round(size / per_mes)} /MES or {round(size / per_share):,} SPY shares flatten it"
    if excess <= EPS:
        return f"{head}: {side} {flat}"
    inside = f"{math.ceil(excess / per_mes)} /MES or {math.ceil(excess / per_share):,} SPY shares"
    return f"{head}: {side} {inside} to bring it inside ({flat}), or close the positions contributing most"


def _contributors(portfolio: PortfolioGreeks, attr: str, total: float, n: int = 3) -> str:
    """The groups pushing ``attr`` the way of the breach (same sign as ``total``), largest first:
    a group on the other side is a hedge, not a cause."""
    sign = 1.0 if total >= 0 else -1.0
    pushing = [(sign * getattr(g.judged, attr), g.group_id) for g in portfolio.groups]
    ranked = sorted((p for p in pushing if p[0] > EPS), key=lambda p: -p[0])[:n]
    return f"; largest: {', '.join(gid for _, gid in ranked)}" if ranked else ""
