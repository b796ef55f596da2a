"""Expiry settlement after the close, from the underlying price in the closing snapshot.

- ``Settlement.CASH`` (SPX, SPXW, XSP): intrinsic x multiplier x quantity in cash, position removed.
- ``Settlement.SHARES`` (SPY, QQQ, IWM): in the money options are exercised (long) or assigned
  (short) into ``multiplier`` shares per contract at the strike, booked under the stock symbol
  (``contract.underlying``) with the strike x shares paid or received in cash.
- ``Settlement.FUTURE`` (ES, CL, GC options): in the money options become one futures contract each
  at the strike under ``contract.underlying`` (e.g. ``ESH26``); no cash moves, the intrinsic value
  shows up as the futures position's open P&L (the book treats futures cash as variation margin).
- Out of the money (or exactly at the money) options expire worthless.

In the money means intrinsic > 0 (OCC's automatic exercise threshold is $0.01; every ITM option is
exercised here).  No fees: LEAN's Tastytrade model charges nothing for exercise or assignment.
Early exercise of American options is not simulated.  An expired option whose underlying has no
price in the snapshot (nor in its last quote) is left in the book and reported as ``unsettled``;
the next call settles it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from core.types import MarketSnapshot, SecurityKind, Settlement
from sim.broker.book import Book, Position


@dataclass(frozen=True, slots=True)
class SettlementRecord:
    """One option position settled at expiry.

    ``quantity`` is the option position (signed contracts); ``settlement_price`` the underlying
    price used; ``cash_flow`` dollars into (+) or out of (-) cash; ``holding_symbol`` and
    ``holding_quantity`` the stock or futures quantity this settlement delivered (signed; None / 0
    when nothing was delivered).
    """

    day: date
    symbol: str
    quantity: float
    settlement_price: float
    cash_flow: float
    holding_symbol: str | None
    holding_quantity: float
    kind: str  # 'cash' | 'exercise' | 'assignment' | 'expired' | 'unsettled'


def settle_expiries(book: Book, day: date, snapshot: MarketSnapshot) -> list[SettlementRecord]:
    """Settle every option in ``book`` expiring on or before ``day`` (sorted by symbol)."""
    records = []
    for position in book.options():
        contract = position.contract
        if contract is None or contract.expiry > day:
            continue
        price = _underlying_price(position, snapshot)
        if price is None:
            records.append(
                SettlementRecord(
                    day, position.symbol, position.quantity, math.nan, 0.0, None, 0.0, "unsettled"
                )
            )
            continue
        records.append(_settle(book, day, position, price))
    return records


def _underlying_price(position: Position, snapshot: MarketSnapshot) -> float | None:
    assert position.contract is not None
    price = snapshot.price(position.contract.underlying)
    if price is None:
        q = snapshot.chains.quote(position.contract)
        price = None if q is None else q.underlying_price
    return price if price is not None and math.isfinite(price) and price > 0 else None


def _settle(book: Book, day: date, position: Position, price: float) -> SettlementRecord:
    contract = position.contract
    assert contract is not None
    qty = position.quantity
    book.remove(position.symbol)
    intrinsic = contract.intrinsic(price)
    if intrinsic <= 0:
        return SettlementRecord(day, position.symbol, qty, price, 0.0, None, 0.0, "expired")
    if contract.settlement is Settlement.CASH:
        cash = intrinsic * contract.multiplier * qty
        book.add_cash(cash)
        return SettlementRecord(day, position.symbol, qty, price, cash, None, 0.0, "cash")
    direction = 1.0 if contract.is_call else -1.0  # a long call buys the underlying, a long put sells
    kind = "exercise" if qty > 0 else "assignment"
    if contract.settlement is Settlement.SHARES:
        shares = qty * contract.multiplier * direction
        before = book.cash
        book.trade(contract.underlying, SecurityKind.EQUITY, 1.0, shares, contract.strike)
        return SettlementRecord(
            day, position.symbol, qty, price, book.cash - before, contract.underlying, shares, kind
        )
    futures = qty * direction
    before = book.cash
    book.trade(contract.underlying, SecurityKind.FUTURE, contract.multiplier, futures, contract.strike)
    return SettlementRecord(
        day, position.symbol, qty, price, book.cash - before, contract.underlying, futures, kind
    )
