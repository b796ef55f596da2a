"""The LEAN adapter: ``core.ports.Platform`` over a running ``QCAlgorithm``.

The only module besides ``main.py`` that imports ``AlgorithmImports``; it translates only (LEAN
objects -> plain values -> ``lean_adapter.translate`` helpers, unit-tested without LEAN -> core
types).  LEAN facts: docs/LEAN.md section 8.  The adapter's own alerts pass ``alert_route``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from AlgorithmImports import (
    Future,
    InitialMarginParameters,
    OptionFilterUniverse,
    OptionRight,
    OptionStyle,
    OptionUniverse,
    OrderType,
    Position,
    PositionCollection,
    PositionGroupInitialMarginParameters,
    QCAlgorithm,
    Security,
    SecurityType,
    Slice,
    Symbol,
    SymbolRepresentation,
)
from AlgorithmImports import Leg as LeanLeg
from AlgorithmImports import OptionContract as LeanOptionContract
from AlgorithmImports import OrderEvent as LeanOrderEvent
from AlgorithmImports import OrderStatus as LeanOrderStatus

from core.ports import Severity, StateStore, TradingCalendar
from core.types import (
    AccountState,
    ComboOrder,
    Holding,
    Leg,
    MarketSnapshot,
    OptionContract,
    OrderEvent,
    SecurityKind,
    UnderlyingQuote,
)
from lean_adapter.alerts import LeanNotifier
from lean_adapter.calendar import LeanCalendar, convert
from lean_adapter.chains import LeanChains, QuoteOverlay
from lean_adapter.combo_events import LegStatus
from lean_adapter.order_flow import LeanNames, OrderFlow
from lean_adapter.restored import Combo
from lean_adapter.store import LeanStore
from lean_adapter.translate import (
    AdapterOptions,
    DayOpens,
    RawOptionQuote,
    StrikeBand,
    in_bands,
    make_option_contract,
    store_key,
    store_prefix,
)

_OPTION_KINDS = {
    SecurityType.INDEX_OPTION: SecurityKind.INDEX_OPTION,
    SecurityType.OPTION: SecurityKind.EQUITY_OPTION,
    SecurityType.FUTURE_OPTION: SecurityKind.FUTURE_OPTION,
}
_OTHER_KINDS = {
    SecurityType.INDEX: SecurityKind.INDEX,
    SecurityType.EQUITY: SecurityKind.EQUITY,
    SecurityType.FUTURE: SecurityKind.FUTURE,
}
_LEG_STATUS = {
    LeanOrderStatus.SUBMITTED: LegStatus.SUBMITTED,
    LeanOrderStatus.PARTIALLY_FILLED: LegStatus.PARTIALLY_FILLED,
    LeanOrderStatus.FILLED: LegStatus.FILLED,
    LeanOrderStatus.CANCELED: LegStatus.CANCELED,
    LeanOrderStatus.INVALID: LegStatus.INVALID,
}
_NOT_CANCELLABLE = (
    LeanOrderStatus.NEW,  # not acknowledged yet: LEAN refuses to cancel it (InvalidNewStatus)
    LeanOrderStatus.FILLED,
    LeanOrderStatus.CANCELED,
    LeanOrderStatus.INVALID,
    LeanOrderStatus.CANCEL_PENDING,
)


def band_filter(
    bands: Sequence[StrikeBand], weeklies: bool = True
) -> Callable[[OptionFilterUniverse], OptionFilterUniverse]:
    """An option universe filter keeping the contracts inside ``bands`` (see ``in_bands``)."""
    max_dte = max(b.max_dte for b in bands)

    def apply(universe: OptionFilterUniverse) -> OptionFilterUniverse:
        # The stubs type these chained calls as Any; the annotations keep each step checked.
        # Weeklies are in LEAN's universes by default; standards_only() must come before other filters.
        chosen: OptionFilterUniverse = universe if weeklies else universe.standards_only()
        chosen = chosen.expiration(0, max_dte)
        under = universe.underlying
        spot = float(under.price) if under is not None else 0.0
        if spot <= 0:
            return chosen.strikes(-20, 20)  # no underlying price yet: a small window around the money
        today = universe.local_time.date()

        def keep(items: list[OptionUniverse]) -> list[OptionUniverse]:
            return [c for c in items if _in_bands(c.symbol, spot, today, bands)]

        return chosen.contracts(keep)

    return apply


def _in_bands(symbol: Symbol, spot: float, today: date, bands: Sequence[StrikeBand]) -> bool:
    sid = symbol.id
    is_call = sid.option_right == OptionRight.CALL
    return in_bands(sid.strike_price, sid.date.date(), is_call, spot, today, bands)


class LeanPlatform:
    """``core.ports.Platform`` for LEAN (backtest, paper and live)."""

    def __init__(
        self,
        algorithm: QCAlgorithm,
        options: AdapterOptions,
        calendar_security: Security,
        vix: Symbol,
        underlyings: Mapping[str, Symbol],
        futures: Mapping[str, Future],
    ) -> None:
        self._algo = algorithm
        self._options = options
        self._session_security = calendar_security
        self._tz = str(algorithm.time_zone)  # the algorithm's time zone id (New York)
        self._calendar = LeanCalendar(calendar_security.exchange.hours, self._tz)
        self._vix = vix
        self._underlyings = dict(underlyings)
        self._futures = dict(futures)
        project = str(algorithm.project_id or "local")
        self._store = LeanStore(
            algorithm.object_store,
            lambda key: store_key(project, algorithm.live_mode, key),
            lambda msg: self.alert(Severity.CRITICAL, "State not saved", msg),
        )
        if not algorithm.live_mode:  # a backtest starts from an empty book (translate.store_key)
            self._store.clear(store_prefix(project, False))
        self._symbols: dict[str, Symbol] = {}  # core contract symbol -> LEAN Symbol (for orders)
        self._known: dict[str, OptionContract] = {}
        self._by_symbol: dict[Symbol, OptionContract] = {}
        self._zones: dict[Symbol, str] = {}  # option's canonical -> its exchange time zone id
        self._day_opens = DayOpens()
        self._notifier = LeanNotifier(algorithm, options)
        self._orders = OrderFlow(
            algorithm,
            LeanNames(LeanLeg.create, _LEG_STATUS, _NOT_CANCELLABLE, LeanOrderStatus.INVALID,
                      OrderType.OPTION_EXERCISE, SecurityType.FUTURE, tuple(_OPTION_KINDS)),
            self.contract,
            self.alert,
            self.now,
            timedelta(seconds=options.live_order_deadline_seconds),
        )  # fmt: skip
        self.quote_overlay: QuoteOverlay | None = None  # set by main.py when the DXLink feed is on
        self.alert_route: Callable[[Severity, str, str], object] | None = None  # main: the AlertRouter

    # --- Platform: clock, calendar, store --------------------------------------------------------
    def now(self) -> datetime:
        return self._algo.time

    @property
    def calendar(self) -> TradingCalendar:
        return self._calendar

    @property
    def store(self) -> StateStore:
        return self._store

    @property
    def is_live(self) -> bool:
        return self._algo.live_mode

    def session_is_open(self) -> bool:
        return self._calendar.is_open(self.now())

    def has_data(self) -> bool:
        return self._algo.current_slice is not None and self._session_security.price > 0

    # --- market data -----------------------------------------------------------------------------
    def on_data(self, data: Slice) -> None:
        """Day opens: the first regular-session price of each tracked underlying."""
        now = self.now()
        if self.quote_overlay is not None and len(data.option_chains) > 0:
            self.quote_overlay.lean_data(now)
        if not self.session_is_open():
            return
        for key, symbol in self._underlyings.items():
            if data.contains_key(symbol):
                self._day_opens.observe(now, key, float(self._algo.securities[symbol].price))

    def snapshot(self) -> MarketSnapshot:
        now = self.now()
        quotes: dict[str, UnderlyingQuote] = {}
        for key, symbol in self._underlyings.items():
            self._put_underlying(quotes, key, symbol, now)
        for root, future in self._futures.items():
            if future.mapped is not None:
                self._put_underlying(quotes, root, future.mapped, now)  # "ES": the contract LEAN maps to
        data = self._algo.current_slice
        if data is not None:
            for chain in data.future_chains.values():
                for contract in chain:
                    self._put_underlying(quotes, self.underlying_key(contract.symbol), contract.symbol, now)
        vix = float(self._algo.securities[self._vix].price) if self._vix in self._algo.securities else 0.0
        overlay = self.quote_overlay
        chains = LeanChains(
            data.option_chains if data is not None else None,
            now,
            self._root_of,
            self._index_key,
            lambda item: self.raw_quote(item, now),
            lambda: self.risk_free_rate(now),
            overlay,
        )
        return MarketSnapshot(now, quotes, vix if vix > 0 else None, self._day_opens.opens(now), chains)

    def _put_underlying(
        self, out: dict[str, UnderlyingQuote], key: str, symbol: Symbol, now: datetime
    ) -> None:
        if key in out or symbol not in self._algo.securities:
            return
        sec = self._algo.securities[symbol]
        price = float(sec.price)
        if price <= 0:
            return
        bid, ask = float(sec.bid_price), float(sec.ask_price)
        kind = _OTHER_KINDS.get(symbol.security_type, SecurityKind.INDEX)
        multiplier = float(sec.symbol_properties.contract_multiplier)
        out[key] = UnderlyingQuote(key, kind, now, price, bid or price, ask or price, multiplier)

    def underlying_key(self, symbol: Symbol) -> str:
        """``SPX``, ``SPY``, or a futures contract as ``ESH26`` (LEAN's contract-month ticker)."""
        if symbol.security_type == SecurityType.FUTURE:
            return SymbolRepresentation.generate_future_ticker(symbol.id.symbol, symbol.id.date, True, False)
        return symbol.value

    def contract(self, symbol: Symbol) -> OptionContract:
        """Core contract of a LEAN option Symbol (root = trading class; FOP root = future ticker)."""
        cached = self._by_symbol.get(symbol)
        if cached is not None:
            return cached
        kind = _OPTION_KINDS[symbol.security_type]
        sid, under = symbol.id, symbol.underlying
        root = under.id.symbol if kind is SecurityKind.FUTURE_OPTION else sid.symbol
        known = self._algo.securities.contains_key(symbol)
        sec = self._algo.securities[symbol] if known else None
        multiplier = float(sec.symbol_properties.contract_multiplier) if sec is not None else 100.0
        contract = make_option_contract(
            root,
            self.underlying_key(under),
            sid.option_right == OptionRight.CALL,
            float(sid.strike_price),
            sid.date.date(),
            multiplier,
            kind,
            sid.option_style == OptionStyle.AMERICAN,
        )
        self._symbols[contract.symbol] = symbol
        self._known[contract.symbol] = contract
        self._by_symbol[symbol] = contract
        return contract

    def raw_quote(self, item: LeanOptionContract, now: datetime) -> RawOptionQuote:
        """One LEAN contract as plain values.  LEAN's Greeks are read for index and equity options
        only: for future options LEAN runs Black-Scholes on the future with q = 0 (GreeksIndicators
        / DividendYieldProvider), so they are left unread (LEAN's model never runs) and every FOP
        chain is priced with core's Black-76 instead (``translate.build_quotes``)."""
        greeks, iv = (float("nan"),) * 4, float("nan")
        if item.symbol.security_type != SecurityType.FUTURE_OPTION:
            try:
                g = item.greeks
                greeks = (float(g.delta), float(g.gamma), float(g.theta_per_day), float(g.vega))
                iv = float(item.implied_volatility)
            except Exception:  # a price model that cannot evaluate: core.option_math takes over
                pass
        stamp = self.to_algorithm_time(item.time, item.symbol) if item.time.year > 1900 else now
        return RawOptionQuote(
            self.contract(item.symbol),
            stamp,
            float(item.bid_price),
            float(item.ask_price),
            int(item.bid_size),
            int(item.ask_size),
            int(item.volume),
            int(item.open_interest),
            float(item.underlying_last_price),
            iv,
            *greeks,
        )

    def to_algorithm_time(self, local: datetime, symbol: Symbol) -> datetime:
        """LEAN stamps data in its security's exchange time zone (QuoteBar / OptionContract.Time):
        SPX and SPXW in America/Chicago.  Core wants the algorithm's time."""
        key = symbol.canonical if symbol.has_underlying else symbol
        zone = self._zones.get(key)
        if zone is None:
            security = self._algo.securities[symbol] if self._algo.securities.contains_key(symbol) else None
            zone = str(security.exchange.time_zone) if security is not None else self._tz
            self._zones[key] = zone
        return convert(local, zone, self._tz)

    @staticmethod
    def _root_of(canonical: Symbol) -> str:
        """Core root of a chain: the trading class, or for future options the future's ticker."""
        fop = canonical.security_type == SecurityType.FUTURE_OPTION
        return canonical.underlying.id.symbol if fop else canonical.id.symbol

    def _index_key(self, item: LeanOptionContract) -> tuple[str, date, str]:
        contract = self.contract(item.symbol)
        return contract.root, item.expiry.date(), contract.symbol

    def risk_free_rate(self, now: datetime) -> float:
        return float(self._algo.risk_free_interest_rate_model.get_interest_rate(now))

    def settlement_prices(self, day: date) -> dict[str, float]:
        """Last prices of the underlyings of every known contract expiring on ``day``; contracts
        that expired before ``day`` are forgotten."""
        prices: dict[str, float] = {}
        for key, contract in list(self._known.items()):
            symbol = self._symbols[key]
            if contract.expiry < day:
                del self._known[key], self._symbols[key]
                self._by_symbol.pop(symbol, None)
            elif contract.expiry == day and contract.underlying not in prices:
                under = symbol.underlying
                if under in self._algo.securities and self._algo.securities[under].price > 0:
                    prices[contract.underlying] = float(self._algo.securities[under].price)
        return prices

    # --- account and margin ----------------------------------------------------------------------
    def account(self) -> AccountState:
        p = self._algo.portfolio
        holdings: dict[str, Holding] = {}
        for h in p.values():
            if not h.invested:
                continue
            is_option = h.symbol.security_type in _OPTION_KINDS
            contract = self.contract(h.symbol) if is_option else None
            key = contract.symbol if contract is not None else self.underlying_key(h.symbol)
            holdings[key] = Holding(key, float(h.quantity), float(h.average_price), contract)
        return AccountState(
            self.now(), float(p.total_portfolio_value), float(p.cash), float(p.total_margin_used), holdings
        )

    def margin_required(self, legs: Sequence[Leg], quantity: int, snapshot: MarketSnapshot) -> float:
        """Initial margin of ``quantity`` units from LEAN's position-group (option strategy) model;
        per-security initial margin when the legs form no known strategy group."""
        symbols = [self._symbols.get(leg.contract.symbol) for leg in legs]
        if any(s is None for s in symbols):
            self.log(f"margin_required: no LEAN symbol for {[leg.contract.symbol for leg in legs]}")
            return float("inf")
        securities = [self._algo.securities[s] for s in symbols if s is not None]
        sizes = [float(leg.ratio * quantity) for leg in legs]
        portfolio = self._algo.portfolio
        try:
            positions = PositionCollection(
                [Position(sec, q) for sec, q in zip(securities, sizes, strict=True)]
            )
            groups = portfolio.positions.resolve_position_groups(positions)
            total = sum(
                float(g.buying_power_model.get_initial_margin_requirement(
                    PositionGroupInitialMarginParameters(portfolio, g)).value)
                for g in groups
            )  # fmt: skip
        except Exception as exc:
            self.log(f"margin_required: position-group model failed ({exc}); summing legs")
            try:
                total = sum(
                    abs(float(sec.buying_power_model.get_initial_margin_requirement(
                        InitialMarginParameters(sec, q)).value))
                    for sec, q in zip(securities, sizes, strict=True)
                )  # fmt: skip
            except Exception as exc2:  # no margin figure: size nothing rather than guess
                self.log(f"margin_required: per-security model failed too ({exc2})")
                return float("inf")
        return max(0.0, total)

    # --- orders (lean_adapter.order_flow) -------------------------------------------------------
    def submit_combo(self, order: ComboOrder) -> None:
        self._orders.submit_combo(order, self._symbols)

    def liquidate(self, symbol: str, quantity: float, tag: str) -> None:
        self._orders.liquidate(symbol, quantity, tag, self.underlying_key)

    def cancel(self, tag: str) -> None:
        self._orders.cancel(tag)

    def open_order_tags(self) -> Sequence[str]:
        return self._orders.open_tags()

    def known_order_tags(self) -> None:
        """None: a restarted LEAN algorithm knows only the open orders, not its order history."""
        return None

    def pending_events(self) -> Sequence[OrderEvent]:
        return self._orders.pending_events()

    def consumed(self, event: OrderEvent) -> None:
        self._orders.consumed(event)

    def on_order_event(self, event: LeanOrderEvent) -> list[OrderEvent]:
        return self._orders.on_event(event, self.now())

    def on_assignment(self, event: LeanOrderEvent) -> None:
        self._orders.on_assignment(event)

    def adopt_restored_orders(self, journal: list[Combo]) -> None:
        self._orders.adopt_restored(
            journal,
            lambda t: (
                self.contract(t.symbol).symbol if t.symbol.security_type in _OPTION_KINDS else t.symbol.value
            ),
            lambda t: self._algo.transactions.get_order_by_id(t.order_id).group_order_manager,
        )

    def margin_call_symbols(self, requests: Sequence[Any]) -> list[str]:
        """Core symbols of LEAN's margin-call order requests."""
        return [
            self.contract(r.symbol).symbol
            if r.symbol.security_type in _OPTION_KINDS
            else self.underlying_key(r.symbol)
            for r in requests
        ]

    def unconfirmed_orders(self) -> list[str]:
        """Live: tags submitted past the deadline with no word from the brokerage (alerted once)."""
        return self._orders.watch(self.now()) if self._algo.live_mode else []

    # --- notify and log --------------------------------------------------------------------------
    def notify(self, severity: Severity, title: str, message: str) -> None:  # the router's channel
        self._notifier.notify(severity, title, message)

    def alert(self, severity: Severity, title: str, message: str) -> None:  # the adapter's own alerts
        (self.alert_route or self.notify)(severity, title, message)

    def log(self, message: str) -> None:
        self._algo.log(message)
