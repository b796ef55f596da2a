"""Holdings and the cash ledger of the simulated account.

Cash moves in dollars: price x multiplier x contracts for options and stock, fees always deducted.
Futures are different: no premium changes hands, so the book treats futures cash as variation
margin: opening moves no cash, the open P&L ``(price - average) x quantity x multiplier`` is part
of the net liquidation value, and reducing a position realises that P&L into cash.  Daily sweeps
of variation margin are not modelled; the net liquidation value is the same either way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.types import Holding, MarketSnapshot, OptionContract, SecurityKind

_OPTION_KINDS = (SecurityKind.EQUITY_OPTION, SecurityKind.INDEX_OPTION, SecurityKind.FUTURE_OPTION)


@dataclass
class Position:
    """One holding plus what the book needs to value it (``Holding`` carries no multiplier or kind)."""

    symbol: str
    kind: SecurityKind
    multiplier: float
    quantity: float
    average_price: float
    contract: OptionContract | None = None

    @property
    def is_option(self) -> bool:
        return self.kind in _OPTION_KINDS

    def holding(self) -> Holding:
        return Holding(self.symbol, self.quantity, self.average_price, self.contract)


@dataclass(frozen=True)
class BookState:
    """The account as a brokerage keeps it: cash, positions, and the last mark of each symbol."""

    cash: float
    positions: tuple[Position, ...] = ()
    marks: dict[str, float] = field(default_factory=dict)


class Book:
    def __init__(self, starting_cash: float) -> None:
        self.cash = float(starting_cash)
        self._positions: dict[str, Position] = {}
        self._marks: dict[str, float] = {}  # last price seen per symbol, used when a quote is missing
        self._sorted: list[Position] | None = None  # positions() until the next trade, removal or restore
        self._holdings: tuple[int, dict[str, Holding]] | None = None  # (version, holdings) last built
        self.version = 0  # bumped by every change of cash or positions: the valuation caches' key

    # --- durable state ---------------------------------------------------------------------------
    def state(self) -> BookState:
        positions = tuple(Position(**vars(p)) for p in self.positions())  # copies: ours keep changing
        return BookState(self.cash, positions, dict(self._marks))

    def restore(self, state: BookState) -> None:
        self.cash = state.cash
        self._positions = {p.symbol: Position(**vars(p)) for p in state.positions}
        self._marks = dict(state.marks)
        self._sorted = None
        self.version += 1

    # --- reading ---------------------------------------------------------------------------------
    def quantity(self, symbol: str) -> float:
        position = self._positions.get(symbol)
        return 0.0 if position is None else position.quantity

    def positions(self) -> list[Position]:
        """Every open position, sorted by symbol so iteration is deterministic (sorted once per change:
        the account is valued every step)."""
        return list(self._in_order())

    def _in_order(self) -> list[Position]:
        if self._sorted is None:
            self._sorted = [self._positions[s] for s in sorted(self._positions)]
        return self._sorted

    def options(self) -> list[Position]:
        return [p for p in self._in_order() if p.is_option]

    def holdings(self) -> dict[str, Holding]:
        """A new dict of the (immutable) holdings, built once per version: every step's account."""
        cached = self._holdings
        if cached is None or cached[0] != self.version:
            cached = self._holdings = (self.version, {p.symbol: p.holding() for p in self._in_order()})
        return dict(cached[1])

    # --- writing ---------------------------------------------------------------------------------
    def trade_option(self, contract: OptionContract, quantity: int, price: float, fee: float) -> None:
        self.trade(contract.symbol, contract.kind, contract.multiplier, quantity, price, fee, contract)

    def trade(
        self,
        symbol: str,
        kind: SecurityKind,
        multiplier: float,
        quantity: float,
        price: float,
        fee: float = 0.0,
        contract: OptionContract | None = None,
    ) -> None:
        """Book ``quantity`` (signed) at ``price``: cash, average price, flat positions removed."""
        if quantity == 0:
            return
        self._sorted = None
        self.version += 1
        position = self._positions.get(symbol)
        if position is None:
            position = Position(symbol, kind, multiplier, 0.0, 0.0, contract)
            self._positions[symbol] = position
        held, average = position.quantity, position.average_price
        if kind is not SecurityKind.FUTURE:
            self.cash -= quantity * price * multiplier
        if held == 0 or (held > 0) == (quantity > 0):
            position.average_price = (held * average + quantity * price) / (held + quantity)
        else:
            closed = min(abs(quantity), abs(held))  # contracts of the old position closed
            if kind is SecurityKind.FUTURE:
                direction = 1.0 if held > 0 else -1.0
                self.cash += (price - average) * closed * direction * multiplier
            if abs(quantity) > abs(held):
                position.average_price = price  # crossed through zero: the rest is a new position
        position.quantity = held + quantity
        self.cash -= fee
        self._marks[symbol] = price
        if abs(position.quantity) < 1e-9:
            del self._positions[symbol]

    def remove(self, symbol: str) -> None:
        self._positions.pop(symbol, None)
        self._sorted = None
        self.version += 1

    def reduce(self, symbol: str, contracts: float) -> None:
        """Add ``contracts`` (signed) to a held position without cash (an early assignment takes the
        option away; what it delivers is booked as its own trade); flat positions are removed."""
        position = self._positions[symbol]
        position.quantity += contracts
        self.version += 1
        if abs(position.quantity) < 1e-9:
            self.remove(symbol)

    def add_cash(self, amount: float) -> None:
        self.cash += amount
        self.version += 1

    # --- valuation -------------------------------------------------------------------------------
    def mark(self, position: Position, snapshot: MarketSnapshot) -> float:
        """Mid for options, the snapshot price otherwise; else the last mark, else the average."""
        price: float | None
        if position.contract is not None:
            q = snapshot.chains.quote(position.contract)
            price = None if q is None or q.bid < 0 or q.ask <= 0 else q.mid
        else:
            price = snapshot.price(position.symbol)
        if price is not None:
            self._marks[position.symbol] = price
            return price
        return self._marks.get(position.symbol, position.average_price)

    def holdings_value(self, snapshot: MarketSnapshot) -> float:
        """What the holdings add to cash in the net liquidation value (futures: open P&L only)."""
        # A plain left-to-right sum in the same order and association as always: a vectorised dot
        # product rounds differently, and the NLV's last bits feed sizing decisions.
        total = 0.0
        for p in self._in_order():
            price = self.mark(p, snapshot)
            if p.kind is SecurityKind.FUTURE:
                total += (price - p.average_price) * p.quantity * p.multiplier
            else:
                total += price * p.quantity * p.multiplier
        return total
