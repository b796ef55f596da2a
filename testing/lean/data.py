"""What a LEAN ``Slice`` carries for options and futures, and the option universe filter.

Mirrors Common/Data/Slice.cs (``option_chains`` keyed by canonical symbol, ``future_chains``,
``contains_key``), Common/Data/Market/OptionChain(s).cs, OptionContract.cs (``Time`` is the
exchange-local end time of the contract's data, BaseContract.cs:52-58 and OptionContract.cs:
145-160; Greeks and implied volatility evaluated lazily by the security's price model) and
Common/Securities/Option/OptionFilterUniverse.cs + ContractSecurityFilterUniverse.cs (weeklies
included by default, :57; ``standards_only()`` :209-218 keeps IsStandard contracts;
``include_weeklys()`` is obsolete, :225).

LEAN's default price model (Engine/Engine.cs:162 IndicatorBasedOptionPriceModelProvider) is
Black-Scholes for European and a forward tree for American contracts, with dividend yield 0 for
index options and future options (Indicators/GreeksIndicators.cs:98-103, Common/Data/
DividendYieldProvider.cs:108-132): for a future option that is Black-Scholes on the future price
with q = 0 - not Black-76.  The double evaluates Black-Scholes (q = 0 for index and future
options) with ``core.option_math``; the tree's early-exercise premium is left out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np

from core.option_math import bs_greeks, implied_vol
from testing.lean.symbols import OptionRight, SecurityIdentifier, SecurityType, Symbol, is_standard


@dataclass
class Greeks:
    delta: float
    gamma: float
    vega: float
    theta: float  # per year
    rho: float = 0.0

    @property
    def theta_per_day(self) -> float:
        return self.theta / 365.0


def lean_greeks(
    spot: float, strike: float, years: float, rate: float, q: float, mid: float, is_call: bool
) -> tuple[float, Greeks]:
    """(implied volatility, Greeks) as LEAN's default model reports them (see module docstring)."""
    iv = float(implied_vol(np.array([mid]), spot, strike, years, rate, q, np.array([is_call]))[0])
    if not np.isfinite(iv) or iv <= 0:
        return 0.0, Greeks(0.0, 0.0, 0.0, 0.0)  # LEAN reports zeros until its indicators are ready
    g = bs_greeks(spot, strike, years, rate, q, iv, is_call)
    return iv, Greeks(float(g.delta[0]), float(g.gamma[0]), float(g.vega[0]), float(g.theta[0]) * 365.0)


class OptionContract:
    def __init__(
        self,
        symbol: Symbol,
        time: datetime,
        bid: float,
        ask: float,
        underlying_price: float,
        model: Callable[[], tuple[float, Greeks]],
        volume: int = 500,
        open_interest: int = 2000,
        size: int = 20,
    ) -> None:
        self.symbol = symbol
        self.time = time  # exchange-local end time of the last bar (BaseContract.Time)
        self.bid_price, self.ask_price = bid, ask
        self.bid_size = self.ask_size = size
        self.volume, self.open_interest = volume, open_interest
        self.underlying_last_price = underlying_price
        self._model = model
        self._result: tuple[float, Greeks] | None = None
        self.evaluations = 0  # how often LEAN's price model ran for this contract (costly in LEAN)

    def _evaluate(self) -> tuple[float, Greeks]:
        if self._result is None:
            self.evaluations += 1
            self._result = self._model()
        return self._result

    @property
    def greeks(self) -> Greeks:
        return self._evaluate()[1]

    @property
    def implied_volatility(self) -> float:
        return self._evaluate()[0]

    @property
    def expiry(self) -> datetime:
        return self.symbol.id.date

    @property
    def strike(self) -> float:
        return self.symbol.id.strike_price

    @property
    def right(self) -> OptionRight:
        return self.symbol.id.option_right


class OptionChain:
    def __init__(self, canonical: Symbol, contracts: Iterable[OptionContract]) -> None:
        self.symbol = canonical
        self.contracts = {c.symbol: c for c in contracts}

    def __iter__(self) -> Iterator[OptionContract]:
        return iter(self.contracts.values())

    def __len__(self) -> int:
        return len(self.contracts)


class LazyChains:
    """``slice.option_chains`` / ``future_chains``: canonical symbol -> chain, each chain built
    only when read (a LEAN slice has them all; building lazily only saves the double time)."""

    def __init__(self, builders: dict[Symbol, Callable[[], Any]]) -> None:
        self._builders = builders
        self._built: dict[Symbol, Any] = {}

    def __len__(self) -> int:
        return len(self._builders)

    def __contains__(self, key: object) -> bool:
        return key in self._builders

    def __getitem__(self, key: Symbol) -> Any:
        if key not in self._built:
            self._built[key] = self._builders[key]()
        return self._built[key]

    def keys(self) -> list[Symbol]:
        return list(self._builders)

    def values(self) -> list[Any]:
        return [self[k] for k in self._builders]

    def items(self) -> list[tuple[Symbol, Any]]:
        return [(k, self[k]) for k in self._builders]

    def get(self, key: Symbol, default: Any = None) -> Any:
        return self[key] if key in self._builders else default


class FuturesChain:
    def __init__(self, canonical: Symbol, contracts: Iterable[Any]) -> None:
        self.symbol = canonical
        self._contracts = list(contracts)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._contracts)


class Slice:
    def __init__(
        self, time: datetime, symbols: set[Symbol], option_chains: LazyChains, future_chains: LazyChains
    ):
        self.time = time
        self._symbols = symbols
        self.option_chains = option_chains
        self.future_chains = future_chains

    def contains_key(self, symbol: Symbol) -> bool:
        return symbol in self._symbols


@dataclass
class OptionUniverse:
    """One contract of the universe data a filter sees (its symbol is what the adapter reads)."""

    symbol: Symbol


class OptionFilterUniverse:
    def __init__(self, contracts: list[Symbol], underlying: Any, local_time: datetime) -> None:
        self._all = contracts
        self.underlying = underlying  # BaseData of the underlying (``.price``), or None
        self.local_time = local_time
        self.standards_only_called = False
        self._standard = True
        self._weekly = True  # ContractSecurityFilterUniverse.DefaultExpirationType: Standard | Weekly
        self._min_dte, self._max_dte = 0, 10**6
        self._selector: Callable[[list[OptionUniverse]], list[OptionUniverse]] | None = None
        self._strikes: tuple[int, int] | None = None

    def standards_only(self) -> OptionFilterUniverse:
        self._standard, self._weekly, self.standards_only_called = True, False, True
        return self

    def include_weeklys(self) -> OptionFilterUniverse:  # obsolete in LEAN: weeklies are included by default
        self._weekly = True
        return self

    def expiration(self, min_days: int, max_days: int) -> OptionFilterUniverse:
        self._min_dte, self._max_dte = min_days, max_days
        return self

    def strikes(self, low: int, high: int) -> OptionFilterUniverse:
        self._strikes = (low, high)
        return self

    def contracts(
        self, selector: Callable[[list[OptionUniverse]], list[OptionUniverse]]
    ) -> OptionFilterUniverse:
        self._selector = selector
        return self

    def selected(self) -> list[Symbol]:
        today: date = self.local_time.date()
        chosen = [
            s
            for s in self._all
            if self._min_dte <= (s.id.date.date() - today).days <= self._max_dte
            and ((self._standard and is_standard(s)) or (self._weekly and not is_standard(s)))
        ]
        if self._strikes is not None and self.underlying is not None:
            strikes = sorted({s.id.strike_price for s in chosen})
            spot = float(self.underlying.price)
            at = min(range(len(strikes)), key=lambda i: abs(strikes[i] - spot), default=0)
            keep = set(strikes[max(0, at + self._strikes[0]) : at + self._strikes[1] + 1])
            chosen = [s for s in chosen if s.id.strike_price in keep]
        if self._selector is not None:
            chosen = [c.symbol for c in self._selector([OptionUniverse(s) for s in chosen])]
        return chosen


def canonical_option(underlying: Symbol, ticker: str) -> Symbol:
    kind = {
        SecurityType.INDEX: SecurityType.INDEX_OPTION,
        SecurityType.EQUITY: SecurityType.OPTION,
        SecurityType.FUTURE: SecurityType.FUTURE_OPTION,
    }[underlying.security_type]
    return Symbol(SecurityIdentifier(ticker, kind, underlying.id.market), f"?{ticker}", underlying)
