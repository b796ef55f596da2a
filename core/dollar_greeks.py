"""Dollar Greeks of an option position, in the units of the rulebook's portfolio limits.

One place for the arithmetic the risk gate, the monitoring layer and strategy sizing all need:
- delta: $ P&L for a 1% move of the underlying (unweighted; callers apply a beta to SPX);
- gamma: change of that dollar delta for a 1% move = gamma x contracts x multiplier x (S x 1%)^2;
- vega: $ per volatility point; theta: $ per day, one day's decay of a leg capped at its remaining
  extrinsic value (Black-Scholes theta grows without bound in an option's last hours, but no option
  can lose more time value than it has).
"""

from __future__ import annotations

from core.types import OptionQuote, Right


def dollar_greeks(q: OptionQuote, contracts: float) -> tuple[float, float, float, float]:
    """(delta $/1%, gamma $/1%/1%, vega $/vol pt, theta $/day) of ``contracts`` (signed) of ``q``.
    A plain tuple: the risk layer sums hundreds of legs every step."""
    c, spot = q.contract, q.underlying_price
    scale, s1 = contracts * c.multiplier, spot * 0.01
    intrinsic = max(0.0, spot - c.strike) if c.right is Right.CALL else max(0.0, c.strike - spot)
    extrinsic = max(0.0, 0.5 * (q.bid + q.ask) - intrinsic) if q.ask > 0 else 0.0
    decay = min(abs(q.theta), extrinsic)
    theta = (decay if q.theta >= 0 else -decay) * scale
    return q.delta * scale * s1, q.gamma * scale * s1 * s1, q.vega * scale, theta
