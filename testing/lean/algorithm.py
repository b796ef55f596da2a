"""``QCAlgorithm`` as the double has it: subscriptions, schedule, orders and the pre-order checks.

Mirrors Algorithm/QCAlgorithm.Trading.cs: ``combo_limit_order`` raises ArgumentException for a
zero limit (:915-928) and for leg quantities whose GCD is not 1 (CheckComboOrderSizing
:1716-1729), then runs PreOrderChecks on every leg before submitting any (:944-1010): warming up,
missing security, zero quantity, price 0 (SecurityPriceZero :1111), no data (SecurityHasNoData
:1150) and, outside live mode, more than 10,000 orders (:1158-1163, status Stopped); the first
failure is logged with Error() and returns one invalid ticket and no order event.
``market_order`` on a closed exchange becomes MarketOnOpen for anything but futures and future
options (:240-258).  Times: ``time`` is algorithm time (New York here); every security keeps its
exchange's time zone (Common/Securities/Security.cs LocalTime).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from functools import reduce
from types import SimpleNamespace
from typing import Any

from testing.lean.hours import NEW_YORK, UTC, TimeZone, convert
from testing.lean.orders import Leg, OrderEvent, OrderStatus, OrderTicket, OrderType
from testing.lean.securities import Portfolio, Security, SecurityManager
from testing.lean.symbols import Symbol
from testing.lean.transactions import Transactions

MAX_ORDERS = 10_000  # QCAlgorithm.Trading.cs:32


class ArgumentException(Exception):
    """System.ArgumentException as pythonnet raises it into Python."""


class Schedule:
    def __init__(self) -> None:
        self.events: list[tuple[Callable[[date], list[datetime]], Callable[[], None]]] = []

    def on(self, date_rule: Any, time_rule: Any, callback: Callable[[], None]) -> None:
        self.events.append((lambda day: time_rule(date_rule, day), callback))


class DateRules:
    def every_day(self, symbol: Symbol | None = None) -> Any:
        return ("every_day", symbol)


class TimeRules:
    """Event times in UTC for one day (TimeRules.cs: Every from midnight in the algorithm's time
    zone, :147-156; BeforeMarketClose from the security's last daily close in its exchange time
    zone converted to UTC, :370-388)."""

    def __init__(self, algorithm: QCAlgorithm) -> None:
        self._algo = algorithm

    def _days_open(self, date_rule: Any, day: date) -> bool:
        _, symbol = date_rule
        return symbol is None or self._algo.securities[symbol].exchange.hours.is_date_open(day)

    def every(self, interval: timedelta) -> Any:
        def times(date_rule: Any, day: date) -> list[datetime]:
            if not self._days_open(date_rule, day):
                return []
            start = datetime.combine(day, datetime.min.time())
            n = int(timedelta(days=1) / interval)
            return [convert(start + i * interval, self._algo.time_zone, UTC) for i in range(n)]

        return times

    def before_market_close(self, symbol: Symbol, minutes: float = 0) -> Any:
        def times(date_rule: Any, day: date) -> list[datetime]:
            hours = self._algo.securities[symbol].exchange.hours
            if not self._days_open(date_rule, day) or not hours.is_date_open(day):
                return []
            close = hours.get_last_daily_market_close(day, False) - timedelta(minutes=minutes)
            return [convert(close, hours.time_zone, UTC)]

        return times


class QCAlgorithm:
    """The part of LEAN's QCAlgorithm the project touches.  ``engine`` (``testing.lean.engine``)
    owns time and data and is attached before ``initialize``."""

    def __init__(self) -> None:
        self.engine: Any = None
        self.parameters: dict[str, str] = {}
        self.time_zone: TimeZone = NEW_YORK
        self.utc_time = datetime(2000, 1, 1)
        self.live_mode = False
        self.is_warming_up = False
        self.project_id = 7
        self.algorithm_id = "BT-1"
        self.start_date = self.end_date = date(2000, 1, 1)
        self.securities = SecurityManager()
        self.portfolio = Portfolio(self.securities)
        self.transactions = Transactions(
            self.securities, lambda: self.utc_time, self._order_event, self.portfolio
        )
        self.object_store: Any = None
        self.current_slice: Any = None
        self.schedule = Schedule()
        self.date_rules = DateRules()
        self.time_rules = TimeRules(self)
        self.brokerage_model: tuple[Any, Any] | None = None
        self.benchmark: Symbol | None = None
        self.status = "Running"
        self.lines: list[str] = []
        self.errors: list[str] = []
        self.notifications: list[tuple[str, ...]] = []
        self.notify = SimpleNamespace(
            email=lambda to, subject, body: self.notifications.append(("email", to, subject, body)) or True,
            web=lambda url, body: self.notifications.append(("web", url, str(body))) or True,
        )
        self.risk_free_interest_rate_model = SimpleNamespace(get_interest_rate=lambda when: 0.04)
        self.default_order_properties = SimpleNamespace()

    # --- time -----------------------------------------------------------------------------------
    @property
    def time(self) -> datetime:
        return convert(self.utc_time, UTC, self.time_zone)

    # --- set-up ----------------------------------------------------------------------------------
    def get_parameters(self) -> Mapping[str, str]:
        return dict(self.parameters)

    def get_parameter(self, name: str, default: str | None = None) -> str | None:
        return self.parameters.get(name, default)

    def set_start_date(self, y: int, m: int, d: int) -> None:
        self.start_date = date(y, m, d)

    def set_end_date(self, y: int, m: int, d: int) -> None:
        self.end_date = date(y, m, d)

    def set_cash(self, cash: float) -> None:
        self.portfolio.cash = float(cash)

    def set_time_zone(self, tz: Any) -> None:
        self.time_zone = TimeZone(str(tz))

    def set_brokerage_model(self, name: Any, account_type: Any = None) -> None:
        self.brokerage_model = (name, account_type)

    def set_benchmark(self, symbol: Symbol) -> None:
        self.benchmark = symbol

    def add_index(self, ticker: str, resolution: Any = None) -> Security:
        return self.engine.add_underlying(ticker, "Index")

    def add_equity(self, ticker: str, resolution: Any = None, **kwargs: Any) -> Security:
        return self.engine.add_underlying(ticker, "Equity")

    def add_index_option(self, underlying: Symbol, target_option: str, resolution: Any = None) -> Any:
        return self.engine.add_option_universe(underlying, target_option)

    def add_option(self, underlying: Symbol, resolution: Any = None, **kwargs: Any) -> Any:
        return self.engine.add_option_universe(underlying, underlying.id.symbol)

    def add_future(self, ticker: str, resolution: Any = None, **kwargs: Any) -> Any:
        return self.engine.add_future(ticker)

    def add_future_option(self, future_symbol: Symbol, option_filter: Any = None) -> None:
        self.engine.add_future_option(future_symbol, option_filter)

    # --- output ----------------------------------------------------------------------------------
    def log(self, message: str) -> None:
        self.lines.append(str(message))

    def debug(self, message: str) -> None:
        self.lines.append(str(message))

    def error(self, message: str) -> None:
        self.errors.append(str(message))
        self.lines.append(str(message))

    # --- orders ----------------------------------------------------------------------------------
    def combo_limit_order(
        self,
        legs: list[Leg],
        quantity: int,
        limit_price: float,
        asynchronous: bool = False,
        tag: str = "",
        **kw: Any,
    ) -> list[OrderTicket]:
        if limit_price == 0:
            raise ArgumentException("ComboLimitOrder requires a limit price")
        if any(leg.order_price not in (None, 0) for leg in legs):
            raise ArgumentException("ComboLimitOrder does not support limit prices for individual legs")
        gcd = abs(reduce(math.gcd, (int(leg.quantity) for leg in legs)))
        if gcd != 1:
            raise ArgumentException(
                "The global combo quantity should be used to increase or reduce the size of the order, while "
                "the leg quantities should be used to specify the ratio of the order. The combo order "
                f"quantities should be reduced from {quantity}x({', '.join(f'{leg.quantity} {leg.symbol}' for leg in legs)}) "
                f"to {quantity * gcd}x({', '.join(f'{leg.quantity // gcd} {leg.symbol}' for leg in legs)})."
            )
        group = self.transactions.new_group(len(legs), quantity, limit_price)
        orders = [
            self.transactions.make_order(
                leg.symbol, leg.quantity * quantity, OrderType.COMBO_LIMIT, tag, group=group
            )
            for leg in legs
        ]
        for order in orders:  # every leg is checked before any is submitted
            problem = self._pre_order_check(order.symbol, order.quantity)
            if problem:
                self.error(problem)
                return [OrderTicket.invalid(order, problem)]
        return [self.transactions.add_order(order) for order in orders]

    def _pre_order_check(self, symbol: Symbol, quantity: float) -> str:
        if self.is_warming_up:
            return "This operation is not allowed in Initialize or during warm up: OrderRequest.Submit."
        if symbol not in self.securities:
            return f"You haven't requested {symbol} data. Add this with AddSecurity() in the Initialize() Method."
        if quantity == 0:
            return "Unable to submit order with id -10 that has zero quantity."
        security = self.securities[symbol]
        if security.price == 0:
            return f"{symbol}: asset price is $0. If using custom data make sure you've set the 'Value' property."
        if not security.has_data:
            return "There is no data for this symbol yet, please check the security.HasData flag to ensure there is at least one data point."
        if not self.live_mode and self.transactions.orders_count > MAX_ORDERS:
            self.status = "Stopped"
            return f"You have exceeded maximum number of orders ({MAX_ORDERS}), for unlimited orders upgrade your account."
        return ""

    def market_order(
        self, symbol: Symbol, quantity: float, asynchronous: bool = False, tag: str = "", **kw: Any
    ) -> OrderTicket:
        security = self.securities[symbol]
        kind = OrderType.MARKET
        if security.type.name not in ("FUTURE", "FUTURE_OPTION") and not security.exchange.exchange_open:
            kind = OrderType.MARKET_ON_OPEN  # QCAlgorithm.Trading.cs:248-258
        order = self.transactions.make_order(symbol, quantity, kind, tag)
        problem = self._pre_order_check(symbol, quantity)
        if problem:
            self.error(problem)
            return OrderTicket.invalid(order, problem)
        ticket = self.transactions.add_order(order)
        if order.status == OrderStatus.SUBMITTED and kind == OrderType.MARKET and not self.live_mode:
            price = security.ask_price if quantity > 0 else security.bid_price
            self.transactions.fill(order, price or security.price, quantity)  # fills at once in a backtest
        return ticket

    # --- events ----------------------------------------------------------------------------------
    def _order_event(self, event: OrderEvent) -> None:
        self.engine.deliver_order_event(event)

    # overridden by the algorithm
    def on_data(self, data: Any) -> None: ...

    def on_order_event(self, order_event: OrderEvent) -> None: ...

    def on_assignment_order_event(self, assignment_event: OrderEvent) -> None: ...

    def on_margin_call(self, requests: list[Any]) -> list[Any]:
        return requests

    def on_warmup_finished(self) -> None: ...

    def on_end_of_algorithm(self) -> None: ...

    def on_brokerage_disconnect(self) -> None: ...

    def on_brokerage_reconnect(self) -> None: ...
