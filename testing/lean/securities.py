"""Securities, their exchanges, the portfolio and the margin LEAN charges.

Mirrors Common/Securities/Security.cs (Price, BidPrice/AskPrice, HasData, LocalTime),
SecurityExchange.cs (``ExchangeOpen`` = the hours' IsOpen at the security's local time),
SecurityManager.cs (``contains_key``), SecurityPortfolioManager.cs (TotalPortfolioValue, Cash,
TotalMarginUsed, MarginRemaining) and the margin rules: a defined-risk option position group is
charged its maximum loss at expiry (Common/Securities/Option/OptionStrategyPositionGroupBuyingPower
Model.cs), a naked short option premium + max(rate x underlying - OTM amount, 10% x underlying)
(Common/Securities/Option/OptionMarginModel.cs:32-34,134-183: rate 20% equity options, 15% index
options; the double applies the index rate to future options too, where LEAN uses
FuturesOptionsMarginModel - an approximation).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import numpy as np

from testing.lean.hours import SecurityExchangeHours, TimeZone, convert
from testing.lean.symbols import OPTION_TYPES, OptionRight, SecurityType, Symbol


class SecurityExchange:
    def __init__(self, hours: SecurityExchangeHours, local_time: Any) -> None:
        self.hours = hours
        self._local_time = local_time

    @property
    def time_zone(self) -> TimeZone:
        return self.hours.time_zone

    @property
    def exchange_open(self) -> bool:
        return self.hours.is_open(self._local_time(), False)


@dataclass
class Holding:
    symbol: Symbol
    quantity: float = 0.0
    average_price: float = 0.0

    @property
    def invested(self) -> bool:
        return self.quantity != 0


@dataclass(frozen=True)
class Bar:
    """The security's last quote (or trade) bar; ``end_time`` is exchange-local."""

    end_time: datetime
    bid: float = 0.0
    ask: float = 0.0
    last: float = 0.0
    spread_range: float = 0.0  # intra-minute high-low width of each side

    @property
    def price(self) -> float:
        if self.bid > 0 and self.ask > 0:
            return 0.5 * (self.bid + self.ask)
        return self.last or max(self.bid, self.ask)


class Security:
    def __init__(self, symbol: Symbol, hours: SecurityExchangeHours, multiplier: float, utc_now: Any) -> None:
        self.symbol = symbol
        self.exchange = SecurityExchange(hours, self._local_time)
        self.symbol_properties = SimpleNamespace(contract_multiplier=multiplier, lot_size=1.0)
        self.holdings = Holding(symbol)
        self.is_tradable = True
        self._utc_now = utc_now
        self._bar: Bar | None = None
        self.feed: Any = None  # engine hook: Symbol -> Bar | None for the current slice
        self.underlying: Security | None = None
        self.buying_power_model = _SecurityMargin(self)

    def _local_time(self) -> datetime:
        return convert(self._utc_now(), TimeZone("UTC"), self.exchange.time_zone)

    @property
    def bar(self) -> Bar | None:
        if self.feed is not None:
            fresh = self.feed(self.symbol)
            if fresh is not None:
                self._bar = fresh
        return self._bar

    @property
    def local_time(self) -> datetime:
        return self._local_time()

    @property
    def has_data(self) -> bool:
        return self.bar is not None

    @property
    def data_end_time(self) -> datetime | None:
        bar = self.bar
        return None if bar is None else bar.end_time

    @property
    def price(self) -> float:
        bar = self.bar
        return 0.0 if bar is None else bar.price

    @property
    def bid_price(self) -> float:
        bar = self.bar
        return 0.0 if bar is None else bar.bid

    @property
    def ask_price(self) -> float:
        bar = self.bar
        return 0.0 if bar is None else bar.ask

    def side_range(self, buy: bool) -> tuple[float, float]:
        """(low, high) of the ask bar (buy) or the bid bar (sell) of the last minute."""
        bar = self.bar
        if bar is None:
            return 0.0, 0.0
        side = (bar.ask if buy else bar.bid) or bar.price
        half = 0.5 * bar.spread_range
        return side - half, side + half

    @property
    def type(self) -> SecurityType:
        return self.symbol.security_type

    def set_bar(self, bar: Bar) -> None:
        self._bar = bar


class SecurityManager(dict):
    """``algorithm.securities``: Symbol -> Security."""

    def contains_key(self, symbol: Symbol) -> bool:
        return symbol in self


def _payoff(security: Security, quantity: float, prices: np.ndarray) -> np.ndarray:
    sid = security.symbol.id
    mult = security.symbol_properties.contract_multiplier
    if security.type in OPTION_TYPES:
        sign = 1.0 if sid.option_right == OptionRight.CALL else -1.0
        return quantity * mult * (np.maximum(sign * (prices - sid.strike_price), 0.0) - security.price)
    return quantity * mult * (prices - security.price)


def _spot(security: Security) -> float:
    under = security.underlying
    return under.price if under is not None and under.price > 0 else security.price


def _naked_margin(security: Security, quantity: float) -> float:
    """OptionMarginModel: a short option's premium + max(rate x underlying - OTM, 10% x underlying)."""
    sid = security.symbol.id
    spot, mult = _spot(security), security.symbol_properties.contract_multiplier
    rate = 0.20 if security.type == SecurityType.OPTION else 0.15
    if sid.option_right == OptionRight.CALL:
        otm = max(0.0, sid.strike_price - spot)
    else:
        otm = max(0.0, spot - sid.strike_price)
    return abs(quantity) * mult * (security.price + max(rate * spot - otm, 0.10 * spot))


def group_margin(positions: Iterable[tuple[Security, float]]) -> float:
    """Initial margin of option legs held together (see the module docstring)."""
    legs = [(s, q) for s, q in positions if q != 0]
    if not legs:
        return 0.0
    spot = max(_spot(s) for s, _ in legs)
    calls = sum(q for s, q in legs if s.type in OPTION_TYPES and s.symbol.id.option_right == OptionRight.CALL)
    puts = sum(q for s, q in legs if s.type in OPTION_TYPES and s.symbol.id.option_right == OptionRight.PUT)
    if all(s.type in OPTION_TYPES for s, _ in legs) and calls >= 0 and puts >= 0:
        grid = np.linspace(0.0, 3.0 * spot, 601)
        strikes = np.array([s.symbol.id.strike_price for s, _ in legs])
        grid = np.unique(np.concatenate([grid, strikes]))
        pnl = sum(_payoff(s, q, grid) for s, q in legs)
        return float(max(0.0, -np.min(pnl)))  # defined risk: the maximum loss at expiry
    total = 0.0
    for s, q in legs:
        if s.type in OPTION_TYPES and q < 0:
            total += _naked_margin(s, q)
        elif s.type not in OPTION_TYPES:
            total += abs(q) * s.symbol_properties.contract_multiplier * s.price * 0.25
    return total


class _SecurityMargin:
    def __init__(self, security: Security) -> None:
        self._security = security

    def get_initial_margin_requirement(self, parameters: Any) -> Any:
        security, quantity = parameters.security, parameters.quantity
        value = (
            group_margin([(security, quantity)]) if quantity < 0 or security.type not in OPTION_TYPES else 0.0
        )
        return SimpleNamespace(value=value)


@dataclass
class Position:
    security: Security
    quantity: float

    @property
    def symbol(self) -> Symbol:
        return self.security.symbol


@dataclass
class PositionCollection:
    positions: list[Position]

    def __iter__(self) -> Iterator[Position]:
        return iter(self.positions)


@dataclass
class PositionGroup:
    positions: list[Position]
    buying_power_model: Any = field(default=None)

    def __post_init__(self) -> None:
        self.buying_power_model = _GroupMargin(self)


class _GroupMargin:
    def __init__(self, group: PositionGroup) -> None:
        self._group = group

    def get_initial_margin_requirement(self, parameters: Any) -> Any:
        return SimpleNamespace(value=group_margin((p.security, p.quantity) for p in self._group.positions))


class PositionManager:
    def resolve_position_groups(self, positions: PositionCollection) -> list[PositionGroup]:
        """Option legs on one underlying form one group (LEAN's OptionStrategyPositionGroupResolver
        matches them to a strategy); anything else is a group of its own."""
        by_under: dict[Any, list[Position]] = {}
        for p in positions:
            key = p.security.symbol.underlying if p.security.type in OPTION_TYPES else p.security.symbol
            by_under.setdefault(key, []).append(p)
        return [PositionGroup(ps) for ps in by_under.values()]


class Portfolio:
    """``algorithm.portfolio``: holdings by symbol, cash, portfolio value and margin used."""

    def __init__(self, securities: SecurityManager) -> None:
        self._securities = securities
        self.cash = 0.0
        self.positions = PositionManager()
        self.margin_call_model: Any = None

    def values(self) -> list[Holding]:
        return [s.holdings for s in self._securities.values()]

    def __getitem__(self, symbol: Symbol) -> Holding:
        return self._securities[symbol].holdings

    @property
    def total_holdings_value(self) -> float:
        return sum(
            s.holdings.quantity * s.price * s.symbol_properties.contract_multiplier
            for s in self._securities.values()
            if s.holdings.invested and s.type != SecurityType.FUTURE
        )

    @property
    def total_unrealized_futures(self) -> float:
        return sum(
            s.holdings.quantity
            * (s.price - s.holdings.average_price)
            * s.symbol_properties.contract_multiplier
            for s in self._securities.values()
            if s.holdings.invested and s.type == SecurityType.FUTURE
        )

    @property
    def total_portfolio_value(self) -> float:
        return self.cash + self.total_holdings_value + self.total_unrealized_futures

    @property
    def total_margin_used(self) -> float:
        held = [(s, s.holdings.quantity) for s in self._securities.values() if s.holdings.invested]
        groups: dict[Any, list[tuple[Security, float]]] = {}
        for s, q in held:
            key = s.symbol.underlying if s.type in OPTION_TYPES else s.symbol
            groups.setdefault(key, []).append((s, q))
        return sum(group_margin(g) for g in groups.values())

    @property
    def margin_remaining(self) -> float:
        return self.total_portfolio_value - self.total_margin_used

    def set_margin_call_model(self, model: Any) -> None:
        self.margin_call_model = model  # SecurityPortfolioManager.SetMarginCallModel
