"""Engine-neutral domain types.

Every layer speaks these immutable values, so the same strategy, risk and execution code runs
unchanged inside LEAN and inside the offline engine.  Prices are per share / per index point (not
multiplied); quantities are contracts.  Net prices of multi-leg orders follow LEAN's combo
convention: positive = debit paid, negative = credit received.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

import numpy as np


class Right(StrEnum):
    CALL = "C"
    PUT = "P"


class SecurityKind(StrEnum):
    INDEX = "index"
    EQUITY = "equity"
    FUTURE = "future"
    INDEX_OPTION = "index_option"
    EQUITY_OPTION = "equity_option"
    FUTURE_OPTION = "future_option"


class ExerciseStyle(StrEnum):
    EUROPEAN = "european"
    AMERICAN = "american"


class Settlement(StrEnum):
    CASH = "cash"  # SPX / SPXW / XSP: cash at expiry, no early assignment
    SHARES = "shares"  # SPY / QQQ / IWM: 100 shares per contract
    FUTURE = "future"  # futures options: one futures contract


def occ_prefix(root: str, expiry: date) -> str:
    """The part of an OCC option symbol every strike of one root and expiry shares."""
    return f"{root:<6}{expiry.year % 100:02d}{expiry.month:02d}{expiry.day:02d}"


def occ_suffix(right: Right, strike: float) -> str:
    """The right and strike (in thousandths) that end an OCC option symbol."""
    return f"{right.value}{round(strike * 1000):08d}"


@dataclass(frozen=True, slots=True)
class OptionContract:
    """One listed option.

    ``root`` is the trading class used to look up chains (``SPXW``, ``SPX``, ``SPY``, ``ES``).
    ``underlying`` is the key of the instrument the option settles into, as found in
    ``MarketSnapshot.underlyings`` (``SPX``, ``SPY``, or a futures contract such as ``ESH26``).
    """

    root: str
    underlying: str
    right: Right
    strike: float
    expiry: date
    multiplier: float
    kind: SecurityKind
    style: ExerciseStyle
    settlement: Settlement
    # OCC-style identifier, stable across engines (used in tags, journals and logs); built once,
    # since every mark, journal line and risk view asks for it.
    symbol: str = field(init=False, repr=False, compare=False)
    # The dataclass hash of the compared fields, computed once: contracts key every quote cache and
    # are hashed millions of times a backtest.  Same value as the generated hash, so sets iterate alike.
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "symbol", occ_prefix(self.root, self.expiry) + occ_suffix(self.right, self.strike)
        )
        fields = (self.root, self.underlying, self.right, self.strike, self.expiry, self.multiplier,
                  self.kind, self.style, self.settlement)  # fmt: skip
        object.__setattr__(self, "_hash", hash(fields))

    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self) -> tuple:
        """Pickled as its fields: another process (string hashes differ) recomputes the hash."""
        return (type(self), (self.root, self.underlying, self.right, self.strike, self.expiry,
                             self.multiplier, self.kind, self.style, self.settlement))  # fmt: skip

    @property
    def is_call(self) -> bool:
        return self.right is Right.CALL

    def intrinsic(self, underlying_price: float) -> float:
        if self.is_call:
            return max(0.0, underlying_price - self.strike)
        return max(0.0, self.strike - underlying_price)


@dataclass(frozen=True, slots=True)
class OptionQuote:
    """A top-of-book quote with model values.  Greeks are per share: delta per 1 point,
    gamma per 1 point, theta per calendar day, vega per 1 volatility point (0.01)."""

    contract: OptionContract
    time: datetime
    bid: float
    ask: float
    bid_size: int
    ask_size: int
    volume: int
    open_interest: int
    underlying_price: float
    iv: float
    delta: float
    gamma: float
    theta: float
    vega: float

    @property
    def mid(self) -> float:
        return 0.5 * (self.bid + self.ask)

    @property
    def spread(self) -> float:
        return self.ask - self.bid


@dataclass(frozen=True, slots=True)
class UnderlyingQuote:
    symbol: str
    kind: SecurityKind
    time: datetime
    price: float
    bid: float
    ask: float
    multiplier: float = 1.0


class QuoteTable(Sequence[OptionQuote]):
    """A chain's quotes kept as columns, each row built when first read (the offline engine prices
    whole chains but strategies read a few rows).  ``contracts`` and ``deltas`` are in row order."""

    contracts: Sequence[OptionContract]
    deltas: Sequence[float]

    @abstractmethod
    def rows(self, indices: Sequence[int]) -> tuple[OptionQuote, ...]:
        """The rows at ``indices`` (built together, then kept: a row is always the same object)."""

    @abstractmethod
    def values(self, name: str) -> Sequence[float]:
        """One numeric field's values in row order (``"bid"``, ``"iv"``, ...), building no rows;
        read-only.  A name that is not a numeric ``OptionQuote`` field raises ValueError."""


@dataclass(frozen=True, slots=True)
class OptionChain:
    """All quoted strikes of one root and expiry at one moment, sorted by strike then right.
    ``quotes`` is a tuple or a ``QuoteTable``; the look-ups below build only the rows they return."""

    root: str
    expiry: date
    underlying: str
    underlying_price: float
    quotes: Sequence[OptionQuote]

    def _columns(self) -> tuple[Sequence[OptionContract], Sequence[float]]:
        q = self.quotes
        if isinstance(q, QuoteTable):
            return q.contracts, q.deltas
        return [x.contract for x in q], [x.delta for x in q]

    def _rows(self, indices: Sequence[int]) -> tuple[OptionQuote, ...]:
        q = self.quotes
        return q.rows(indices) if isinstance(q, QuoteTable) else tuple(q[i] for i in indices)

    def side_columns(self, right: Right) -> tuple[list[int], list[OptionContract], list[float]]:
        """Row indices, contracts and deltas of one right, in chain order, building no rows (a
        look-up that filters on strike or delta then reads only the rows it picks from ``quotes``)."""
        contracts, deltas = self._columns()
        picked = [i for i, c in enumerate(contracts) if c.right is right]
        return picked, [contracts[i] for i in picked], [deltas[i] for i in picked]

    def side(self, right: Right) -> tuple[OptionQuote, ...]:
        q = self.quotes
        if isinstance(q, QuoteTable):
            return q.rows([i for i, c in enumerate(q.contracts) if c.right is right])
        return tuple(x for x in q if x.contract.right is right)

    def nearest_delta(self, right: Right, target: float) -> OptionQuote | None:
        """The quote whose |delta| is closest to ``target`` (ties: the further OTM strike); one
        vectorised pass over the chain's columns (the same float operations as per row)."""
        contracts, deltas = self._columns()
        side = np.fromiter((c.right is right for c in contracts), dtype=bool, count=len(contracts))
        delta = np.asarray(deltas, dtype=float)
        (candidates,) = np.nonzero(side & np.isfinite(delta))
        if not candidates.size:
            return None
        distance = np.abs(np.abs(delta[candidates]) - target)
        closest = candidates[distance == distance.min()]
        strikes = np.array([contracts[i].strike for i in closest], dtype=float)
        best = closest[np.argmin(strikes if right is Right.PUT else -strikes)]  # first of equal keys
        return self._rows([int(best)])[0]

    def at_strike(self, right: Right, strike: float) -> OptionQuote | None:
        contracts, _ = self._columns()
        for i, c in enumerate(contracts):
            if c.right is right and abs(c.strike - strike) < 1e-9:
                return self._rows([i])[0]
        return None


class ChainSource(Protocol):
    """Where a snapshot gets option chains; engines may build them lazily on first access."""

    def expiries(self, root: str) -> tuple[date, ...]: ...

    def chain(self, root: str, expiry: date) -> OptionChain | None: ...

    def quote(self, contract: OptionContract) -> OptionQuote | None: ...


@dataclass(frozen=True)
class MarketSnapshot:
    """What the system may know at ``time``: underlying prices, VIX, day opens and chains."""

    time: datetime
    underlyings: Mapping[str, UnderlyingQuote]
    vix: float | None
    day_open: Mapping[str, float]
    chains: ChainSource

    def price(self, symbol: str) -> float | None:
        q = self.underlyings.get(symbol)
        return None if q is None else q.price

    def quotes(self, legs: Sequence[Leg]) -> tuple[OptionQuote, ...] | None:
        """The current quote of every leg in order, or None if any leg has no quote right now."""
        out = []
        for leg in legs:
            q = self.chains.quote(leg.contract)
            if q is None:
                return None
            out.append(q)
        return tuple(out)


@dataclass(frozen=True, slots=True)
class Leg:
    """One leg of a position group: ``ratio`` contracts per unit, signed (+ long, - short)."""

    contract: OptionContract
    ratio: int


class Purpose(StrEnum):
    OPEN = "open"
    CLOSE = "close"


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """A strategy's wish to open or close ``quantity`` units of a multi-leg structure.

    ``reference_price`` is the net mid per unit when proposed (debit +, credit -);
    ``max_loss_per_unit`` is in dollars (defined-risk width, or the stop for undefined risk).
    """

    group_id: str
    strategy: str
    purpose: Purpose
    legs: tuple[Leg, ...]
    quantity: int
    reference_price: float
    natural_price: float
    max_loss_per_unit: float
    reason: str
    created: datetime
    notes: Mapping[str, float] = field(default_factory=dict)  # entry context for audits (deltas, VIX, ...)
    # Campaign the new group(s) belong to (IPMCC long call + weekly shorts, a roll's successor);
    # empty = the group is its own campaign.
    campaign: str = ""
    part: str = ""  # the new group's role in its campaign (long_call, short_call, ...)
    # Named parts an opening fill is split into, each managed as its own group (LT112: the debit
    # spread and the naked puts): (part name, indices into ``legs``).  Empty = one group.
    parts: tuple[tuple[str, tuple[int, ...]], ...] = ()


class OrderStatus(StrEnum):
    SUBMITTED = "submitted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class ComboOrder:
    """A combo limit order as sent to an engine.  ``tag`` is deterministic and unique."""

    tag: str
    legs: tuple[Leg, ...]
    quantity: int
    limit_price: float
    submitted: datetime


@dataclass(frozen=True, slots=True)
class LegFill:
    contract: OptionContract
    quantity: int  # signed: + bought, - sold
    price: float
    fee: float


@dataclass(frozen=True, slots=True)
class OrderEvent:
    tag: str
    status: OrderStatus
    time: datetime
    fills: tuple[LegFill, ...] = ()
    message: str = ""
    event_id: str = ""  # the engine's id of this event when it has one (duplicates are dropped)


class GroupStatus(StrEnum):
    OPENING = "opening"
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"
    ABANDONED = "abandoned"


@dataclass(frozen=True, slots=True)
class PositionGroup:
    """A multi-leg position opened by one intent and managed as one unit."""

    group_id: str
    strategy: str
    legs: tuple[Leg, ...]
    quantity: int
    status: GroupStatus
    opened_at: datetime | None = None
    entry_price: float = 0.0  # net per unit actually filled (credit < 0)
    entry_fees: float = 0.0
    closed_at: datetime | None = None
    exit_price: float = 0.0
    exit_fees: float = 0.0
    exit_reason: str = ""
    max_loss_per_unit: float = 0.0
    notes: Mapping[str, float] = field(default_factory=dict)
    campaign: str = ""  # shared by groups managed together (LT112 parts, IPMCC, roll chains)
    part: str = ""  # the group's role in its campaign (spread, naked, long_call, short_call)
    # While OPENING: the parts its fill is split into (see OrderIntent.parts).
    parts: tuple[tuple[str, tuple[int, ...]], ...] = ()

    @property
    def campaign_id(self) -> str:
        return self.campaign or self.group_id

    @property
    def multiplier(self) -> float:
        return self.legs[0].contract.multiplier if self.legs else 1.0

    @property
    def credit(self) -> float:
        """Credit received per unit in price points (positive for credit structures)."""
        return -self.entry_price

    def realized_pnl(self) -> float:
        """Dollar P&L after fees once closed: (exit - entry) net prices are what we paid back."""
        gross = (-(self.entry_price) - self.exit_price) * self.quantity * self.multiplier
        return gross - self.entry_fees - self.exit_fees


class UpdateKind(StrEnum):
    FILLED = "filled"  # the intent's order filled completely
    ABANDONED = "abandoned"  # the order ended without a fill (cancelled after its ladder, rejected)
    UNWOUND = "unwound"  # legs filled unevenly were taken off again: flat, nothing opened


@dataclass(frozen=True, slots=True)
class GroupUpdate:
    """What execution tells the orchestrator about one intent's order."""

    group_id: str
    purpose: Purpose
    kind: UpdateKind
    time: datetime
    quantity: int = 0
    net_price: float = 0.0  # per unit, debit + / credit -
    fees: float = 0.0
    reason: str = ""
    message: str = ""
    # Filled price per contract of each leg, in the intent's leg order (empty when unknown); lets
    # a fill be split into separately managed parts at their own entry prices.
    leg_prices: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class Holding:
    symbol: str
    quantity: float
    average_price: float
    contract: OptionContract | None = None  # None for stock / futures / index


@dataclass(frozen=True)
class AccountState:
    time: datetime
    net_liquidation: float
    cash: float
    buying_power_used: float
    holdings: Mapping[str, Holding] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Decision:
    """Outcome of a rule: ``approved`` or not, always with a reason code and message."""

    approved: bool
    code: str
    message: str
    # Approved at this smaller quantity (a strategy running at reduced size); None = as proposed.
    quantity: int | None = None
    # Figures an approval was judged on, added to the position's notes for audits.
    notes: Mapping[str, float] = field(default_factory=dict)

    @staticmethod
    def ok(code: str = "ok", message: str = "approved") -> Decision:
        if code == "ok" and message == "approved":
            return _APPROVED  # the plain approval is asked for on every quote check: one shared value
        return Decision(True, code, message)

    @staticmethod
    def block(code: str, message: str) -> Decision:
        return Decision(False, code, message)


_APPROVED = Decision(True, "ok", "approved")  # shared by every plain approval: never mutate its notes
