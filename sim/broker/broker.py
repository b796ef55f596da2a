"""The offline engine's broker: combo limit orders, fills, fees, holdings, expiries, account.

Everything is driven by the engine's snapshots and the ``now`` it passes in (no wall clock).
Orders are tried in submission order on every ``process`` call, so a run is reproducible.
Buying power is checked at submission against the latest snapshot the broker has seen (or one
passed in); working opening orders reserve the buying power they needed, as a broker holds it.
An order with no snapshot to check against (before the first step) is accepted unchecked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime

from core.types import (
    AccountState,
    ComboOrder,
    Holding,
    Leg,
    LegFill,
    MarketSnapshot,
    OrderEvent,
    OrderStatus,
)
from sim.broker.book import Book, BookState
from sim.broker.fees import TastytradeFees, is_opening
from sim.broker.fills import fill_prices
from sim.broker.margin import MarginPlan, SimMargin
from sim.broker.settlement import SettlementRecord, settle_expiries


@dataclass(frozen=True)
class Working:
    order: ComboOrder
    reserved: float  # buying power held for this order while it works (0 for risk-reducing orders)


@dataclass(frozen=True)
class BrokerState:
    """What a brokerage keeps durably: the account, the working orders in the order they arrived,
    and every order tag it ever accepted (its order history)."""

    book: BookState
    working: tuple[Working, ...] = ()
    known_tags: frozenset[str] = field(default_factory=frozenset)


class SimBroker:
    def __init__(self, starting_cash: float, fees: TastytradeFees, margin: SimMargin) -> None:
        self.fees = fees
        self.margin = margin
        self.book = Book(starting_cash)
        self.settlements: list[SettlementRecord] = []
        self._working: dict[str, Working] = {}
        self._known_tags: set[str] = set()
        self._snapshot: MarketSnapshot | None = None
        self._account_cache: tuple[tuple[datetime, int], AccountState] | None = None
        self._margin_cache: tuple[MarketSnapshot, int, float] | None = None
        self._portfolio: tuple[int, tuple[Leg, ...], MarginPlan] | None = None  # per book version

    # --- durable state (a brokerage's own records; the sim saves them like a broker would) ---------
    state_type: type[BrokerState] = BrokerState

    def state(self) -> BrokerState:
        return BrokerState(self.book.state(), tuple(self._working.values()), frozenset(self._known_tags))

    def restore(self, state: BrokerState) -> None:
        self.book.restore(state.book)
        self._working = {w.order.tag: w for w in state.working}
        self._known_tags = set(state.known_tags)

    def known_order_tags(self) -> frozenset[str]:
        """Every order tag the broker ever accepted (its order history)."""
        return frozenset(self._known_tags)

    def accept_tag(self, tag: str) -> bool:
        """Enter a new order's tag in the order history; False if the broker has seen it before."""
        if tag in self._known_tags:
            return False
        self._known_tags.add(tag)
        return True

    def observe(self, snapshot: MarketSnapshot) -> None:
        """The market the broker checks new orders against (as of the engine's current step)."""
        self._snapshot = snapshot

    # --- orders ----------------------------------------------------------------------------------
    def submit(
        self, order: ComboOrder, now: datetime, snapshot: MarketSnapshot | None = None
    ) -> list[OrderEvent]:
        """SUBMITTED, or REJECTED with the reason (duplicate tag, invalid order, buying power)."""
        if order.tag in self._known_tags:
            return [_rejected(order, now, f"duplicate tag: {order.tag}")]
        problem = _validate(order)
        if problem:
            return [_rejected(order, now, problem)]
        snap = snapshot if snapshot is not None else self._snapshot
        reserved = 0.0
        if snap is not None and not self._reduces_risk(order, snap):
            need = self.margin.margin_required(order.legs, order.quantity, snap)
            account = self.account(snap)
            have = account.net_liquidation - account.buying_power_used - self._reserved()
            if need > have + 1e-6:
                return [
                    _rejected(order, now, f"insufficient buying power: need ${need:,.2f}, have ${have:,.2f}")
                ]
            reserved = need
        self._known_tags.add(order.tag)
        self._working[order.tag] = Working(order, reserved)
        return [OrderEvent(order.tag, OrderStatus.SUBMITTED, now)]

    def cancel(self, tag: str, now: datetime) -> list[OrderEvent]:
        """CANCELLED if the order is still working; nothing if it is final (or unknown)."""
        if self._working.pop(tag, None) is None:
            return []
        return [OrderEvent(tag, OrderStatus.CANCELLED, now)]

    def open_order_tags(self) -> list[str]:
        return list(self._working)

    def process(self, snapshot: MarketSnapshot) -> list[OrderEvent]:
        """Try every working order against the snapshot's quotes; FILLED events for those that fill."""
        self._snapshot = snapshot
        events: list[OrderEvent] = []
        for tag, working in list(self._working.items()):
            order = working.order
            if snapshot.time < order.submitted:
                continue
            expired = [
                leg.contract.symbol for leg in order.legs if leg.contract.expiry < snapshot.time.date()
            ]
            if expired:
                del self._working[tag]
                message = f"cancelled: contract expired ({', '.join(expired)})"
                events.append(OrderEvent(tag, OrderStatus.CANCELLED, snapshot.time, message=message))
                continue
            quotes = snapshot.quotes(order.legs)
            if quotes is None:
                continue
            prices = fill_prices(order.legs, quotes, order.limit_price)
            if prices is None:
                continue
            events.extend(self._fill(tag, order, prices, snapshot.time))
        return events

    def _fill(self, tag: str, order: ComboOrder, prices: list[float], now: datetime) -> list[OrderEvent]:
        """Fill a marketable order completely (``sim.broker.faults`` overrides this to break fills)."""
        del self._working[tag]
        return [OrderEvent(tag, OrderStatus.FILLED, now, fills=self._book_fills(order, prices))]

    # --- expiries and account --------------------------------------------------------------------
    def settle_expiries(self, day: date, snapshot: MarketSnapshot) -> list[SettlementRecord]:
        """Settle options expiring on (or before) ``day``; call after that day's close."""
        self._snapshot = snapshot
        records = settle_expiries(self.book, day, snapshot)
        self.settlements.extend(records)
        return records

    def account(self, snapshot: MarketSnapshot) -> AccountState:
        """NLV = cash + holdings at mids / prices (futures: open P&L); BP from the option positions.
        Valued once per step time and book version (any fill, settlement or assignment bumps it):
        the engine and several layers ask for the account every step."""
        self._snapshot = snapshot
        key = (snapshot.time, self.book.version)
        cached = self._account_cache
        if cached is not None and cached[0] == key:
            return cached[1]
        account = self._value(snapshot)
        self._account_cache = (key, account)
        return account

    def _value(self, snapshot: MarketSnapshot) -> AccountState:
        nlv = self.book.cash + self.book.holdings_value(snapshot)
        return AccountState(
            time=snapshot.time,
            net_liquidation=nlv,
            cash=self.book.cash,
            buying_power_used=self._portfolio_margin(snapshot),
            holdings=self.book.holdings(),
        )

    def holdings(self) -> dict[str, Holding]:
        return self.book.holdings()

    @property
    def cash(self) -> float:
        return self.book.cash

    # --- internals -------------------------------------------------------------------------------
    def _book_fills(self, order: ComboOrder, prices: list[float]) -> tuple[LegFill, ...]:
        fills = []
        for leg, price in zip(order.legs, prices, strict=True):
            contract, quantity = leg.contract, leg.ratio * order.quantity
            opening = is_opening(quantity, self.book.quantity(contract.symbol))
            fee = self.fees.leg_fee(contract, abs(quantity), opening, contract.kind)
            self.book.trade_option(contract, quantity, price, fee)
            fills.append(LegFill(contract, quantity, price, fee))
        return tuple(fills)

    def _option_legs(self) -> tuple[Leg, ...]:
        return self._portfolio_plan()[1]

    def _portfolio_plan(self) -> tuple[int, tuple[Leg, ...], MarginPlan]:
        """The held option legs and their margin plan (netting and pairing), once per book version."""
        version = self.book.version
        cached = self._portfolio
        if cached is None or cached[0] != version:
            legs = tuple(
                Leg(p.contract, round(p.quantity)) for p in self.book.options() if p.contract is not None
            )
            cached = self._portfolio = (version, legs, self.margin.plan(legs, 1))
        return cached

    def _portfolio_margin(self, snapshot: MarketSnapshot) -> float:
        """Once per snapshot and book version: the account and every submission ask."""
        version = self.book.version
        cached = self._margin_cache
        if cached is not None and cached[0] is snapshot and cached[1] == version:
            return cached[2]
        _, legs, plan = self._portfolio_plan()
        required = self.margin.priced(plan, snapshot) if legs else 0.0
        self._margin_cache = (snapshot, version, required)
        return required

    def _reserved(self) -> float:
        return sum(w.reserved for w in self._working.values())

    def _reduces_risk(self, order: ComboOrder, snapshot: MarketSnapshot) -> bool:
        """Closing every leg, or leaving the portfolio's requirement no higher than now."""
        closing = all(
            (held := self.book.quantity(leg.contract.symbol)) != 0
            and (held > 0) != (leg.ratio > 0)
            and abs(leg.ratio * order.quantity) <= abs(held)
            for leg in order.legs
        )
        if closing:
            return True
        after = [*self._option_legs(), *(Leg(leg.contract, leg.ratio * order.quantity) for leg in order.legs)]
        return self.margin.margin_required(after, 1, snapshot) <= self._portfolio_margin(snapshot) + 1e-6


def _rejected(order: ComboOrder, now: datetime, message: str) -> OrderEvent:
    return OrderEvent(order.tag, OrderStatus.REJECTED, now, message=message)


def _validate(order: ComboOrder) -> str:
    """Why the order cannot be accepted, or '' if it can."""
    if not isinstance(order.quantity, int) or isinstance(order.quantity, bool) or order.quantity <= 0:
        return f"invalid quantity: {order.quantity!r} (a positive whole number of units)"
    if not order.legs:
        return "invalid order: no legs"
    if any(not isinstance(leg.ratio, int) or leg.ratio == 0 for leg in order.legs):
        return "invalid order: every leg needs a non-zero whole ratio"
    if len({leg.contract.symbol for leg in order.legs}) != len(order.legs):
        return "invalid order: the same contract appears in two legs"
    if not math.isfinite(order.limit_price):
        return f"invalid limit price: {order.limit_price!r}"
    if all(leg.ratio < 0 for leg in order.legs) and order.limit_price > 0:
        return f"invalid limit price: a debit ({order.limit_price}) for selling every leg"
    if all(leg.ratio > 0 for leg in order.legs) and order.limit_price < 0:
        return f"invalid limit price: a credit ({order.limit_price}) for buying every leg"
    return ""
