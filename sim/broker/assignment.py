"""Early assignment and market liquidation for the simulated account.

``assign_early`` is what a broker does when a short American option is exercised against us before
expiry: the option contracts disappear (no cash for them) and the stock (``multiplier`` shares per
contract) or futures (one per contract) are delivered at the strike, as ``settlement`` does at
expiry.  ``liquidate`` fills a market order for a stock or futures holding at the snapshot's bid
(sell) or ask (buy); with no quote it is rejected, never filled at a guessed price.
"""

from __future__ import annotations

import math
from datetime import datetime

from core.costs import fee_per_contract
from core.types import MarketSnapshot, OrderEvent, OrderStatus, SecurityKind, Settlement
from sim.broker.broker import SimBroker


class AssignmentError(ValueError):
    """The requested assignment does not match the account (no such short, too many contracts)."""


def assign_early(broker: SimBroker, symbol: str, contracts: int) -> tuple[str, float]:
    """Assign ``contracts`` of the short option ``symbol``; returns (delivered symbol, quantity)."""
    position = next((p for p in broker.book.options() if p.symbol == symbol), None)
    if position is None or position.contract is None or position.quantity >= 0:
        raise AssignmentError(f"{symbol}: no short option position to assign")
    if not 0 < contracts <= -position.quantity:
        raise AssignmentError(
            f"{symbol}: cannot assign {contracts} of {-position.quantity:g} short contracts"
        )
    contract = position.contract
    if contract.settlement is Settlement.CASH:
        raise AssignmentError(f"{symbol}: cash-settled options are not assigned early")
    broker.book.reduce(symbol, contracts)
    direction = -1.0 if contract.is_call else 1.0  # short call delivers short stock; short put long
    if contract.settlement is Settlement.SHARES:
        quantity = direction * contracts * contract.multiplier
        broker.book.trade(contract.underlying, SecurityKind.EQUITY, 1.0, quantity, contract.strike)
    else:
        quantity = direction * contracts
        broker.book.trade(
            contract.underlying, SecurityKind.FUTURE, contract.multiplier, quantity, contract.strike
        )
    return contract.underlying, quantity


def liquidate(
    broker: SimBroker, symbol: str, quantity: float, snapshot: MarketSnapshot, now: datetime, tag: str
) -> OrderEvent:
    """Market order for ``quantity`` (signed) of a stock / futures holding; FILLED or REJECTED.
    The tag enters the broker's order history, so a re-sent flatten is refused as a duplicate."""
    if not broker.accept_tag(tag):
        return OrderEvent(tag, OrderStatus.REJECTED, now, message=f"duplicate tag: {tag}")
    position = next((p for p in broker.book.positions() if p.symbol == symbol and not p.is_option), None)
    if position is None:
        return OrderEvent(tag, OrderStatus.REJECTED, now, message=f"{symbol}: no stock or futures holding")
    quote = snapshot.underlyings.get(symbol)
    price = None
    if quote is not None:
        price = quote.bid if quantity < 0 else quote.ask
        if not (math.isfinite(price) and price > 0):
            price = quote.price if math.isfinite(quote.price) and quote.price > 0 else None
    if price is None:
        return OrderEvent(
            tag, OrderStatus.REJECTED, now, message=f"{symbol}: no price to fill a market order"
        )
    fee = abs(quantity) * fee_per_contract(position.kind, opening=False)
    broker.book.trade(symbol, position.kind, position.multiplier, quantity, price, fee)
    return OrderEvent(tag, OrderStatus.FILLED, now, message=f"{symbol} {quantity:+g} at {price}")
