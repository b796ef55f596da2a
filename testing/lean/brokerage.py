"""The Tastytrade brokerage as LEAN models it (backtests) and as its live plugin reports it.

* ``TastytradeBrokerageModel`` mirrors Common/Brokerages/TastytradeBrokerageModel.cs: security
  types Equity, Option, IndexOption, Future, FutureOption; order types Market, Limit, StopMarket,
  StopLimit, ComboLimit (no ComboMarket, no MarketOnOpen); a ComboLimit leg may not cross through
  zero (BrokerageExtensions.ValidateCrossZeroOrder / OrderCrossesZero, Common/Brokerages/
  BrokerageExtensions.cs:52-77).
* ``tastytrade_fee`` mirrors Common/Orders/Fees/TastytradeFeeModel.cs: options and index options
  $1 per contract to open, $0 to close; future options $2.50 to open; futures $1.25; equities $0.
* ``combo_limit_fill`` mirrors FillModel.ComboLimitFill (Common/Orders/Fills/FillModel.cs:161-240,
  1234-1260): each leg priced from its quote bar on the leg's side (ask to buy, bid to sell), the
  low of it for a buy combo and the high for a sell combo, times the leg ratio; a buy combo fills
  when that sum is below the limit, a sell combo when above; every leg fills completely at that
  bar price; no fill on data older than the order.
* ``LiveTastytrade`` mirrors Lean.Brokerages.Tastytrade TastytradeBrokerage.Brokerage.cs:525-650:
  Routed/Live -> Submitted; Filled -> fill events (all of an order's fills, only once the
  brokerage order is Filled), fee 0; Cancelled/Expired -> Canceled; Rejected and every other
  status produce no event; GetOpenOrders (:177-222) rebuilds open orders without a tag.
"""

from __future__ import annotations

from dataclasses import dataclass

from testing.lean.hours import UTC, convert
from testing.lean.orders import Order, OrderType
from testing.lean.securities import Security
from testing.lean.symbols import SecurityType

SUPPORTED_SECURITIES = {
    SecurityType.EQUITY,
    SecurityType.OPTION,
    SecurityType.INDEX_OPTION,
    SecurityType.FUTURE,
    SecurityType.FUTURE_OPTION,
}
SUPPORTED_ORDERS = {
    OrderType.MARKET,
    OrderType.LIMIT,
    OrderType.STOP_MARKET,
    OrderType.STOP_LIMIT,
    OrderType.COMBO_LIMIT,
}


def crosses_zero(holding: float, quantity: float) -> bool:
    return (holding > 0 > quantity and holding + quantity < 0) or (
        holding < 0 < quantity and holding + quantity > 0
    )


class TastytradeBrokerageModel:
    def can_submit_order(self, security: Security, order: Order) -> tuple[bool, str]:
        if security.type not in SUPPORTED_SECURITIES:
            return False, f"The Tastytrade brokerage does not support {security.type.name} security type."
        if order.type not in SUPPORTED_ORDERS:
            return False, f"The Tastytrade brokerage does not support {order.type.name} order type."
        if order.type == OrderType.COMBO_LIMIT and crosses_zero(security.holdings.quantity, order.quantity):
            return False, "The Tastytrade brokerage does not support ComboLimit orders that cross zero."
        return True, ""


def tastytrade_fee(security: Security, quantity: float) -> float:
    holding = security.holdings.quantity
    opening = not (holding != 0 and (holding > 0) != (quantity > 0))
    rate = {
        SecurityType.OPTION: 1.0 if opening else 0.0,
        SecurityType.INDEX_OPTION: 1.0 if opening else 0.0,
        SecurityType.FUTURE_OPTION: 2.5 if opening else 0.0,
        SecurityType.FUTURE: 1.25,
    }.get(security.type, 0.0)
    return abs(quantity) * rate


@dataclass(frozen=True)
class LegFill:
    order: Order
    price: float
    quantity: float


def combo_limit_fill(legs: list[tuple[Order, Security]], limit: float, direction: int) -> list[LegFill]:
    total, prices = 0.0, []
    for order, sec in sorted(legs, key=lambda x: x[0].id):
        if sec.data_end_time is None or convert(sec.data_end_time, sec.exchange.time_zone, UTC) < order.time:
            return []  # "do not fill on stale data" (order.time is UTC)
        low, high = sec.side_range(buy=order.quantity > 0)
        price = low if direction > 0 else high
        prices.append((order, price))
        total += price * order.ratio
    if (direction > 0 and total < limit) or (direction < 0 and total > limit):
        return [LegFill(order, price, order.quantity - order.filled) for order, price in prices]
    return []
