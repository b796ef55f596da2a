"""The ``AlgorithmImports`` names the project touches, served by the LEAN double.

``testing.lean.install()`` puts this module in ``sys.modules`` as ``AlgorithmImports`` so that
``main.py`` and ``lean_adapter/platform.py`` import the double instead of LEAN.  Each name's
behaviour is documented where it is defined (with the LEAN source it mirrors).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, ClassVar

from testing.lean.algorithm import ArgumentException, QCAlgorithm
from testing.lean.data import Greeks, OptionChain, OptionContract, OptionFilterUniverse, OptionUniverse, Slice
from testing.lean.data import LazyChains as OptionChains
from testing.lean.engine import FutureHandle as Future
from testing.lean.hours import SecurityExchangeHours
from testing.lean.object_store import LocalObjectStore as ObjectStore
from testing.lean.orders import Leg, OrderEvent, OrderStatus, OrderTicket, OrderType
from testing.lean.securities import Position, PositionCollection, Security
from testing.lean.symbols import OptionRight, OptionStyle, SecurityType, Symbol, SymbolRepresentation

TimeZones = SimpleNamespace(NEW_YORK="America/New_York", CHICAGO="America/Chicago", UTC="UTC")
BrokerageName = SimpleNamespace(TASTYTRADE="Tastytrade", DEFAULT="Default")
AccountType = SimpleNamespace(MARGIN="Margin", CASH="Cash")
Resolution = SimpleNamespace(TICK="Tick", SECOND="Second", MINUTE="Minute", HOUR="Hour", DAILY="Daily")
DataNormalizationMode = SimpleNamespace(RAW="Raw", ADJUSTED="Adjusted")
DataMappingMode = SimpleNamespace(OPEN_INTEREST="OpenInterest", LAST_TRADING_DAY="LastTradingDay")
# Common/Securities/Future/Futures.cs tickers
Futures = SimpleNamespace(
    Indices=SimpleNamespace(SP_500_E_MINI="ES", MICRO_SP_500_E_MINI="MES"),
    Energy=SimpleNamespace(CRUDE_OIL_WTI="CL", MICRO_CRUDE_OIL_WTI="MCL"),
    Metals=SimpleNamespace(GOLD="GC", MICRO_GOLD="MGC"),
)


class _Config:
    """QuantConnect.Configuration.Config: values of the LEAN config (``lean.json`` + CLI)."""

    values: ClassVar[dict[str, str]] = {}

    def get(self, key: str, default: str = "") -> str:
        return self.values.get(key, default)


Config = _Config()


class InitialMarginParameters:
    def __init__(self, security: Security, quantity: float) -> None:
        self.security, self.quantity = security, quantity


class PositionGroupInitialMarginParameters:
    def __init__(self, portfolio: Any, position_group: Any) -> None:
        self.portfolio, self.position_group = portfolio, position_group


class DefaultMarginCallModel:
    """Common/Securities/DefaultMarginCallModel.cs (execute_margin_call is overridable)."""

    def __init__(self, portfolio: Any, default_order_properties: Any = None) -> None:
        self.portfolio = portfolio

    def execute_margin_call(self, generated_margin_call_orders: list[Any]) -> list[Any]:
        raise NotImplementedError("the double's engine executes LEAN's default margin call itself")


__all__ = [
    "AccountType",
    "ArgumentException",
    "BrokerageName",
    "Config",
    "DataMappingMode",
    "DataNormalizationMode",
    "DefaultMarginCallModel",
    "Future",
    "Futures",
    "Greeks",
    "InitialMarginParameters",
    "Leg",
    "ObjectStore",
    "OptionChain",
    "OptionChains",
    "OptionContract",
    "OptionFilterUniverse",
    "OptionRight",
    "OptionStyle",
    "OptionUniverse",
    "OrderEvent",
    "OrderStatus",
    "OrderTicket",
    "OrderType",
    "Position",
    "PositionCollection",
    "PositionGroupInitialMarginParameters",
    "QCAlgorithm",
    "Resolution",
    "Security",
    "SecurityExchangeHours",
    "SecurityType",
    "Slice",
    "Symbol",
    "SymbolRepresentation",
    "TimeZones",
]
