"""A market wrapper that damages quotes for chosen steps, for the bad-market-data attacks.

Why: a data feed can deliver NaN, 1e308, a price x1000 (a unit slip), zero or negative prices, an
absurd spread, or a VIX of -20; the system must never trade on them and never stop.  The
synthetic market never produces such quotes, so ``BadQuoteMarket`` wraps any
``sim.engine.MarketSource`` and applies an ``Attack`` to every snapshot whose time is in the
attack's window: option quotes (chains and single quotes, held contracts included), underlying
prices and VIX.  ``BadFeedPlatform`` damages only what the system sees (the broker simulator fills
and values on the true market).  ``ATTACKS`` names the attacks of issue 13.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from core.ports import Severity, StateStore, TradingCalendar
from core.types import (
    AccountState,
    ChainSource,
    ComboOrder,
    Leg,
    MarketSnapshot,
    OptionChain,
    OptionContract,
    OptionQuote,
    OrderEvent,
    UnderlyingQuote,
)
from sim.engine import MarketSource
from sim.platform import SimPlatform

BidAsk = Callable[[float, float], tuple[float, float]]


@dataclass(frozen=True)
class Attack:
    """What to damage: ``quotes`` maps an option's (bid, ask); ``underlying`` maps the price of every
    underlying quote and chain (VIX excluded) but not the underlying price an option quote carries
    (the option feed is a separate stream); ``vix`` maps VIX (the snapshot's value and its quote)."""

    name: str
    quotes: BidAsk | None = None
    underlying: Callable[[float], float] | None = None
    vix: Callable[[float], float] | None = None


NAN = float("nan")
ATTACKS: dict[str, Attack] = {
    a.name: a
    for a in (
        Attack("quotes_nan", quotes=lambda b, a: (NAN, NAN)),
        Attack("quotes_1e308", quotes=lambda b, a: (1e308, 1e308)),
        Attack("quotes_x1000", quotes=lambda b, a: (b * 1000, a * 1000)),
        Attack("quotes_div1000", quotes=lambda b, a: (b / 1000, a / 1000)),
        Attack("huge_spread", quotes=lambda b, a: (0.0, a + 5000.0)),
        Attack("quotes_zero", quotes=lambda b, a: (0.0, 0.0)),
        Attack("quotes_negative", quotes=lambda b, a: (-b - 1.0, -a - 1.0)),
        Attack("underlying_nan", underlying=lambda p: NAN),
        Attack("underlying_zero", underlying=lambda p: 0.0),
        Attack("vix_nan", vix=lambda v: NAN),
        Attack("vix_negative", vix=lambda v: -20.0),
    )
}


def damaged(snapshot: MarketSnapshot, attack: Attack) -> MarketSnapshot:
    """``snapshot`` as a feed with ``attack`` would deliver it."""
    vix = snapshot.vix
    if attack.vix is not None and vix is not None:
        vix = attack.vix(vix)
    return dataclasses.replace(
        snapshot,
        vix=vix,
        underlyings=_Underlyings(snapshot.underlyings, attack),
        chains=_Chains(snapshot.chains, attack),
    )


class BadQuoteMarket:
    """``market`` with ``attack`` applied while ``active(time)`` is true: the system, the broker
    simulator and the account valuation all see the damaged data (as in LEAN, where fills and
    holdings are valued on the same prices the algorithm gets)."""

    def __init__(self, market: MarketSource, attack: Attack, active: Callable[[datetime], bool]) -> None:
        self.market, self.attack, self.active = market, attack, active

    def trading_days(self) -> list[date]:
        return self.market.trading_days()

    def step_times(self, day: date) -> list[datetime]:
        return self.market.step_times(day)

    def snapshot_at(self, t: datetime) -> MarketSnapshot:
        snapshot = self.market.snapshot_at(t)
        return damaged(snapshot, self.attack) if self.active(t) else snapshot


class BadFeedPlatform:
    """The platform a system sees when only its data feed is damaged: ``snapshot()`` is ``platform``'s
    snapshot with ``attack`` applied while ``active``; orders, fills and the account (valued by the
    broker on the true market) are ``platform``'s.  Build the system on it with ``run_backtest``'s
    ``build`` hook.  ``sent`` keeps every order the system sent, for assertions."""

    is_live = False

    def __init__(self, platform: SimPlatform, attack: Attack, active: Callable[[datetime], bool]) -> None:
        self.platform, self.attack, self.active = platform, attack, active
        self.sent: list[ComboOrder] = []
        self._seen: tuple[MarketSnapshot, MarketSnapshot] | None = None

    @property
    def calendar(self) -> TradingCalendar:
        return self.platform.calendar

    @property
    def store(self) -> StateStore:
        return self.platform.store

    def now(self) -> datetime:
        return self.platform.now()

    def snapshot(self) -> MarketSnapshot:
        true = self.platform.snapshot()
        if self._seen is None or self._seen[0] is not true:
            self._seen = (true, damaged(true, self.attack) if self.active(true.time) else true)
        return self._seen[1]

    def account(self) -> AccountState:
        return self.platform.account()

    def margin_required(self, legs: Sequence[Leg], quantity: int, snapshot: MarketSnapshot) -> float:
        return self.platform.margin_required(legs, quantity, snapshot)

    def submit_combo(self, order: ComboOrder) -> None:
        self.sent.append(order)
        self.platform.submit_combo(order)

    def cancel(self, tag: str) -> None:
        self.platform.cancel(tag)

    def liquidate(self, symbol: str, quantity: float, tag: str) -> None:
        self.platform.liquidate(symbol, quantity, tag)

    def open_order_tags(self) -> Sequence[str]:
        return self.platform.open_order_tags()

    def known_order_tags(self) -> Collection[str] | None:
        return self.platform.known_order_tags()

    def pending_events(self) -> Sequence[OrderEvent]:
        return self.platform.pending_events()

    def consumed(self, event: OrderEvent) -> None:
        self.platform.consumed(event)

    def notify(self, severity: Severity, title: str, message: str) -> None:
        self.platform.notify(severity, title, message)

    def log(self, message: str) -> None:
        self.platform.log(message)


def _damage_quote(q: OptionQuote, attack: Attack) -> OptionQuote:
    if attack.quotes is None:
        return q
    bid, ask = attack.quotes(q.bid, q.ask)
    return dataclasses.replace(q, bid=bid, ask=ask)


class _Chains:
    def __init__(self, chains: ChainSource, attack: Attack) -> None:
        self._chains, self._attack = chains, attack

    def expiries(self, root: str) -> tuple[date, ...]:
        return self._chains.expiries(root)

    def chain(self, root: str, expiry: date) -> OptionChain | None:
        chain = self._chains.chain(root, expiry)
        if chain is None:
            return None
        quotes = tuple(_damage_quote(q, self._attack) for q in chain.quotes)
        spot = chain.underlying_price
        if self._attack.underlying is not None:
            spot = self._attack.underlying(spot)
        return dataclasses.replace(chain, quotes=quotes, underlying_price=spot)

    def quote(self, contract: OptionContract) -> OptionQuote | None:
        q = self._chains.quote(contract)
        return None if q is None else _damage_quote(q, self._attack)


class _Underlyings(Mapping[str, UnderlyingQuote]):
    def __init__(self, quotes: Mapping[str, UnderlyingQuote], attack: Attack) -> None:
        self._quotes, self._attack = quotes, attack

    def __getitem__(self, key: str) -> UnderlyingQuote:
        q = self._quotes[key]
        change = self._attack.vix if key == "VIX" else self._attack.underlying
        if change is None:
            return q
        return dataclasses.replace(q, price=change(q.price), bid=change(q.bid), ask=change(q.ask))

    def __iter__(self) -> Iterator[str]:
        return iter(self._quotes)

    def __len__(self) -> int:
        return len(self._quotes)

    def __contains__(self, key: object) -> bool:
        return key in self._quotes
