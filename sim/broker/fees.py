"""Tastytrade commissions, exactly as LEAN's ``TastytradeFeeModel``.

Source (QuantConnect/Lean): ``Common/Orders/Fees/TastytradeFeeModel.cs`` with its cases in
``Tests/Brokerages/Tastytrade/TastytradeFeeModelTests.cs``; open versus close comes from
``GetOrderPosition`` in ``Common/Brokerages/BrokerageExtensions.cs``.

- ``SecurityType.Option`` / ``IndexOption``: $1.00 per contract to open, $0 to close;
- ``SecurityType.FutureOption``: $2.50 per contract to open, $0 to close;
- ``SecurityType.Future``: $1.25 per contract, opening or closing;
- anything else (equity, index): $0.

LEAN applies no per-leg cap (tastytrade's published $10 per-leg cap on equity options is not in the
model), no ticket, exchange or regulatory fee, and charges nothing for exercise or assignment (the
exercise closes the option and stock is free).  An order is "opening" when it adds to a flat or
same-direction holding (buy with holding >= 0, sell with holding <= 0); an order that crosses
through zero counts as closing as a whole, as LEAN does.  The schedule itself lives in
``core.costs`` so entry decisions and the simulated broker can never disagree.
"""

from __future__ import annotations

from core.costs import fee_per_contract
from core.types import OptionContract, SecurityKind


def is_opening(order_quantity: float, holding_quantity: float) -> bool:
    """LEAN's ``GetOrderPosition``: BuyToOpen if holding >= 0, SellToOpen if holding <= 0."""
    if order_quantity > 0:
        return holding_quantity >= 0
    return holding_quantity <= 0


class TastytradeFees:
    """Per-leg commission in dollars (LEAN charges each leg of a combo as its own order)."""

    def leg_fee(
        self, contract: OptionContract | None, quantity: int, opening: bool, kind: SecurityKind
    ) -> float:
        """``quantity`` contracts (sign ignored) of ``kind``; ``contract`` is informational only."""
        return abs(quantity) * fee_per_contract(kind, opening)
