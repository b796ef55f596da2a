"""Smoke test of lean_adapter.platform's translation flow against a tiny fake of LEAN's Python API.

LEAN itself cannot run here; pyright proves every LEAN call against quantconnect-stubs.  This test
proves the Python-level flow the stubs cannot: chains -> core quotes, combo submission, LEAN's
per-leg events -> one core event per tag, cancels, the account view, the calendar, the store.
The fake implements only what the adapter touches; it says nothing about LEAN's own behaviour.
"""

from __future__ import annotations

import importlib
import sys
import types
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any

import pytest

from core.ports import Severity
from core.types import ComboOrder, Leg, OrderStatus, SecurityKind

NOW = datetime(2025, 3, 7, 10, 30)
EXPIRY = datetime(2025, 3, 7)


class SecurityType(Enum):
    INDEX = 1
    EQUITY = 2
    FUTURE = 3
    INDEX_OPTION = 4
    OPTION = 5
    FUTURE_OPTION = 6


class OptionRight(Enum):
    CALL = 0
    PUT = 1


class OptionStyle(Enum):
    AMERICAN = 0
    EUROPEAN = 1


class OrderType(Enum):
    COMBO_LIMIT = 9
    OPTION_EXERCISE = 6


class OrderStatus_(Enum):  # LEAN's OrderStatus
    NEW = 0
    SUBMITTED = 1
    PARTIALLY_FILLED = 2
    FILLED = 3
    CANCELED = 5
    INVALID = 7
    CANCEL_PENDING = 8


@dataclass(frozen=True)
class Sid:
    symbol: str
    date: datetime = datetime(2050, 12, 31)
    strike_price: float = 0.0
    option_right: OptionRight = OptionRight.CALL
    option_style: OptionStyle = OptionStyle.EUROPEAN


@dataclass(frozen=True)
class Symbol:
    value: str
    security_type: SecurityType
    id: Sid
    underlying: Any = None


SPX = Symbol("SPX", SecurityType.INDEX, Sid("SPX"))
VIX = Symbol("VIX", SecurityType.INDEX, Sid("VIX"))


def option(strike: float, right: OptionRight) -> Symbol:
    sid = Sid("SPXW", EXPIRY, strike, right, OptionStyle.EUROPEAN)
    return Symbol(f"SPXW {strike}{right.name[0]}", SecurityType.INDEX_OPTION, sid, SPX)


class Hours:
    regular_market_duration = timedelta(hours=6, minutes=30)

    def is_date_open(self, day: datetime, extended: bool) -> bool:
        return day.weekday() < 5

    def get_next_market_open(self, t: datetime, extended: bool) -> datetime:
        return t.replace(hour=9, minute=30)

    def get_next_market_close(self, t: datetime, extended: bool) -> datetime:
        return t.replace(hour=13 if t.day == 28 and t.month == 11 else 16, minute=0)

    def is_open(self, t: datetime, extended: bool) -> bool:
        return self.is_date_open(t, extended) and 9 * 60 + 30 <= t.hour * 60 + t.minute < 16 * 60


@dataclass
class Security:
    symbol: Symbol
    price: float
    bid_price: float = 0.0
    ask_price: float = 0.0
    symbol_properties: Any = field(default_factory=lambda: types.SimpleNamespace(contract_multiplier=100.0))
    exchange: Any = field(default_factory=lambda: types.SimpleNamespace(hours=Hours()))
    buying_power_model: Any = None


class Securities(dict):
    def contains_key(self, key: Symbol) -> bool:
        return key in self


class ObjectStore(dict):
    def save_string(self, key: str, text: str) -> bool:
        self[key] = text
        return True

    def read_string(self, key: str) -> str:
        return self[key]

    def contains_key(self, key: str) -> bool:
        return key in self


@dataclass
class Ticket:
    order_id: int
    symbol: Symbol
    quantity: float
    tag: str
    status: OrderStatus_ = OrderStatus_.SUBMITTED
    order_type: OrderType = OrderType.COMBO_LIMIT
    cancels: int = 0

    def cancel(self, tag: str | None = None) -> None:
        assert tag is None, "a cancel tag would overwrite the order's tag"
        self.cancels += 1
        self.status = OrderStatus_.CANCEL_PENDING


@dataclass
class Event:
    ticket: Ticket | None
    symbol: Symbol
    status: OrderStatus_
    fill_quantity: float = 0.0
    fill_price: float = 0.0
    fee: float = 0.0
    message: str = ""
    is_assignment: bool = False
    is_in_the_money: bool = False

    @property
    def order_id(self) -> int:
        return self.ticket.order_id if self.ticket else -1

    @property
    def order_fee(self) -> Any:
        return types.SimpleNamespace(value=types.SimpleNamespace(amount=self.fee))


class FakeAlgorithm:
    def __init__(self) -> None:
        self.time = NOW
        self.live_mode = True
        self.project_id = 42
        self.algorithm_id = "L-1"
        self.object_store = ObjectStore()
        self.securities = Securities({SPX: Security(SPX, 5000.0), VIX: Security(VIX, 24.0)})
        self.lines: list[str] = []
        self.emails: list[tuple[str, str, str]] = []
        self.tickets: list[Ticket] = []
        self.current_slice: Any = None
        self.portfolio = types.SimpleNamespace(
            values=lambda: [], total_portfolio_value=100_000.0, cash=90_000.0, total_margin_used=5_000.0
        )
        self.risk_free_interest_rate_model = types.SimpleNamespace(get_interest_rate=lambda d: 0.04)
        self.transactions = types.SimpleNamespace(
            get_open_order_tickets=lambda: [t for t in self.tickets if t.status != OrderStatus_.CANCELED],
            get_order_tickets=lambda f: [t for t in self.tickets if f(t)],
        )
        self.notify = types.SimpleNamespace(
            email=lambda a, s, m: self.emails.append((a, s, m)), web=lambda url, body: True
        )

    def log(self, message: str) -> None:
        self.lines.append(message)

    debug = log

    def combo_limit_order(self, legs: list, quantity: int, limit_price: float, tag: str = "") -> list:
        new = [
            Ticket(len(self.tickets) + i, leg.symbol, leg.quantity * quantity, tag)
            for i, leg in enumerate(legs)
        ]
        self.tickets += new
        return new


@dataclass
class Contract:  # LEAN's OptionContract as the adapter reads it
    symbol: Symbol
    bid_price: float
    ask_price: float
    greeks: Any
    implied_volatility: float
    time: datetime = NOW
    bid_size: int = 10
    ask_size: int = 10
    volume: int = 100
    open_interest: int = 1000
    underlying_last_price: float = 5000.0

    @property
    def expiry(self) -> datetime:
        return self.symbol.id.date


def _fake_module() -> types.ModuleType:
    mod = types.ModuleType("AlgorithmImports")

    class Leg_:
        @staticmethod
        def create(symbol: Symbol, quantity: int) -> Any:
            return types.SimpleNamespace(symbol=symbol, quantity=quantity)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("position groups are not faked")

    names = {
        "Future": object,
        "InitialMarginParameters": lambda sec, q: (sec, q),
        "OptionFilterUniverse": object,
        "OptionUniverse": object,
        "OptionRight": OptionRight,
        "OptionStyle": OptionStyle,
        "OrderType": OrderType,
        "Position": refuse,
        "PositionCollection": refuse,
        "PositionGroupInitialMarginParameters": refuse,
        "QCAlgorithm": object,
        "Security": Security,
        "SecurityExchangeHours": Hours,
        "SecurityType": SecurityType,
        "Slice": object,
        "Symbol": Symbol,
        "SymbolRepresentation": types.SimpleNamespace(generate_future_ticker=lambda r, d, dd, inc: f"{r}H26"),
        "Leg": Leg_,
        "ObjectStore": ObjectStore,
        "OptionChains": dict,
        "OptionContract": Contract,
        "OrderEvent": Event,
        "OrderStatus": OrderStatus_,
    }
    for name, value in names.items():
        setattr(mod, name, value)
    return mod


@pytest.fixture
def adapter(monkeypatch):
    monkeypatch.setitem(sys.modules, "AlgorithmImports", _fake_module())
    monkeypatch.delitem(sys.modules, "lean_adapter.platform", raising=False)
    module = importlib.import_module("lean_adapter.platform")
    yield module
    sys.modules.pop("lean_adapter.platform", None)


@pytest.fixture
def platform(adapter):
    from lean_adapter.translate import AdapterOptions

    algo = FakeAlgorithm()
    spx = algo.securities[SPX]
    plat = adapter.LeanPlatform(
        algo, AdapterOptions("ops@example.com"), spx, VIX, {"SPX": SPX, "VIX": VIX}, {}
    )
    return algo, plat


def _chain(algo: FakeAlgorithm) -> dict:
    good = types.SimpleNamespace(delta=-0.16, gamma=0.002, theta_per_day=-2.0, vega=1.5)
    none = types.SimpleNamespace(delta=0.0, gamma=0.0, theta_per_day=0.0, vega=0.0)
    contracts = [
        Contract(option(4900, OptionRight.PUT), 2.0, 2.2, good, 0.25),
        Contract(option(4950, OptionRight.PUT), 4.0, 4.3, none, 0.0),  # LEAN's model not ready
        Contract(option(5050, OptionRight.CALL), 3.0, 3.2, none, 0.0),
        Contract(option(5100, OptionRight.CALL), 1.0, 1.1, good, 0.22),
    ]
    for c in contracts:
        algo.securities[c.symbol] = Security(c.symbol, (c.bid_price + c.ask_price) / 2)
    return {"?SPXW": contracts}


def test_snapshot_translates_chains_with_lean_and_fallback_greeks(platform):
    algo, plat = platform
    algo.current_slice = types.SimpleNamespace(option_chains=_chain(algo), future_chains={})
    snap = plat.snapshot()
    assert snap.vix == 24.0 and snap.price("SPX") == 5000.0
    assert snap.chains.expiries("SPXW") == (EXPIRY.date(),)
    chain = snap.chains.chain("SPXW", EXPIRY.date())
    assert chain is not None and chain.underlying == "SPX" and len(chain.quotes) == 4
    by_strike = {q.contract.strike: q for q in chain.quotes}
    assert by_strike[4900].delta == -0.16 and by_strike[4900].theta == -2.0  # LEAN's, unchanged
    assert -0.5 < by_strike[4950].delta < 0 and by_strike[4950].iv > 0  # repriced from the mid
    assert 0 < by_strike[5050].delta < 0.5
    assert by_strike[4950].contract.kind is SecurityKind.INDEX_OPTION
    assert snap.chains.quote(by_strike[5100].contract) is by_strike[5100]


def test_combo_submission_events_and_cancel(platform):
    algo, plat = platform
    algo.current_slice = types.SimpleNamespace(option_chains=_chain(algo), future_chains={})
    chain = plat.snapshot().chains.chain("SPXW", EXPIRY.date())
    assert chain is not None
    legs = tuple(Leg(q.contract, r) for q, r in zip(chain.quotes, (1, -1, -1, 1), strict=True))
    plat.submit_combo(ComboOrder("g1|open|0", legs, 2, -2.5, NOW))
    tickets = algo.tickets
    assert [t.quantity for t in tickets] == [2, -2, -2, 2] and {t.tag for t in tickets} == {"g1|open|0"}

    events = [e for t in tickets for e in plat.on_order_event(Event(t, t.symbol, OrderStatus_.SUBMITTED))]
    assert [e.status for e in events] == [OrderStatus.SUBMITTED]
    fills = []
    for t, price in zip(tickets, (1.0, 4.1, 3.1, 1.05), strict=True):
        fills += plat.on_order_event(Event(t, t.symbol, OrderStatus_.FILLED, t.quantity, price, fee=2.0))
    assert [e.status for e in fills] == [OrderStatus.FILLED]
    assert sum(f.quantity * f.price for f in fills[0].fills) / 2 == pytest.approx(1.0 - 4.1 - 3.1 + 1.05)

    plat.submit_combo(ComboOrder("g2|open|0", legs, 1, -2.5, NOW))
    plat.cancel("g2|open|0")
    assert [t.cancels for t in algo.tickets if t.tag == "g2|open|0"] == [1, 1, 1, 1]
    assert plat.open_order_tags() == ["g1|open|0", "g2|open|0"]


def test_unknown_contract_is_rejected_through_drain(platform):
    algo, plat = platform
    from lean_adapter.translate import make_option_contract

    stray = make_option_contract(
        "SPXW", "SPX", True, 9999, EXPIRY.date(), 100, SecurityKind.INDEX_OPTION, False
    )
    plat.submit_combo(ComboOrder("g3|open|0", (Leg(stray, -1),), 1, -1.0, NOW))
    (event,) = plat.drain()
    assert event.status is OrderStatus.REJECTED and "no LEAN symbol" in event.message
    assert algo.tickets == [] and plat.drain() == []


def test_margin_falls_back_to_per_leg_models_and_infinity_without_symbols(platform):
    algo, plat = platform
    algo.current_slice = types.SimpleNamespace(option_chains=_chain(algo), future_chains={})
    chain = plat.snapshot().chains.chain("SPXW", EXPIRY.date())
    assert chain is not None
    for sec in algo.securities.values():
        sec.buying_power_model = types.SimpleNamespace(
            get_initial_margin_requirement=lambda p: types.SimpleNamespace(value=-100.0 * p[1])
        )
    legs = (Leg(chain.quotes[0].contract, 1), Leg(chain.quotes[1].contract, -1))
    assert plat.margin_required(legs, 3, None) == 600.0  # |-300| + |300|
    assert any("position-group model failed" in line for line in algo.lines)


def test_store_namespaces_keys_and_round_trips_bytes(platform):
    algo, plat = platform
    plat.store.save("trading_system/book.json", b'{"a": 1}')
    assert list(algo.object_store) == ["tomking/42/live/trading_system/book.json"]
    assert plat.store.load("trading_system/book.json") == b'{"a": 1}'
    assert plat.store.load("missing") is None


def test_calendar_account_notify_and_assignment(platform):
    algo, plat = platform
    cal = plat.calendar
    assert cal.is_trading_day(date(2025, 3, 7)) and not cal.is_trading_day(date(2025, 3, 8))
    assert cal.session_close(date(2025, 3, 7)) == datetime(2025, 3, 7, 16)
    assert cal.is_early_close(date(2025, 11, 28)) and not cal.is_early_close(date(2025, 3, 7))
    acct = plat.account()
    assert (acct.net_liquidation, acct.cash, acct.buying_power_used) == (100_000.0, 90_000.0, 5_000.0)
    plat.notify(Severity.INFO, "hello", "quiet")
    assert algo.emails == []  # below the default minimum severity
    put = option(4900, OptionRight.PUT)
    plat.on_assignment(Event(None, put, OrderStatus_.FILLED, 1, 4900, is_assignment=True))
    assert algo.emails and algo.emails[0][1] == "Tom King critical: Option assignment"
    assert plat.on_order_event(Event(None, put, OrderStatus_.FILLED, 1, 4900, is_assignment=True)) == []
