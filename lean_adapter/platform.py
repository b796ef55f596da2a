"""The LEAN adapter: ``core.ports.Platform`` over a running ``QCAlgorithm``.

The only module besides ``main.py`` that imports ``AlgorithmImports``.  It translates only: LEAN
objects are read into plain values and handed to the engine-neutral helpers of
``lean_adapter.translate`` (unit-tested without LEAN), whose results become core types.

LEAN facts this module relies on (checked against QuantConnect/Lean and quantconnect-stubs):
* ``TastytradeBrokerageModel`` accepts ComboLimit but not ComboMarket orders, so every order is
  ``combo_limit_order``; its net limit price is debit-positive / credit-negative like core's.
* Every leg order of a combo carries the combo's tag and LEAN sets ``order_event.ticket`` on each
  event; ``ticket.cancel(tag)`` would overwrite the order's tag, so cancels never pass one.
* Option Greeks of LEAN's default (indicator-based) price model: delta and gamma per point, vega
  per volatility point, ``theta_per_day`` per calendar day (``theta`` is annual).
* Buying power of a multi-leg position: LEAN checks combos with the portfolio's position-group
  model (``SecurityPortfolioManager.HasSufficientBuyingPowerForOrder(List<Order>)`` resolves the
  legs into an option-strategy position group); ``margin_required`` asks the same resolver
  for the legs on their own and sums each group's initial margin requirement.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Protocol

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
    SecurityExchangeHours,
    SecurityType,
    Slice,
    Symbol,
    SymbolRepresentation,
)
from AlgorithmImports import Leg as LeanLeg
from AlgorithmImports import ObjectStore as LeanObjectStore
from AlgorithmImports import OptionChains as LeanOptionChains
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
    OptionChain,
    OptionContract,
    OptionQuote,
    OrderEvent,
    OrderStatus,
    SecurityKind,
    UnderlyingQuote,
)
from lean_adapter.combo_events import ComboEventAggregator, LegStatus, LegUpdate
from lean_adapter.translate import (
    AdapterOptions,
    DayOpens,
    RawOptionQuote,
    StrikeBand,
    build_quotes,
    decode_bytes,
    encode_bytes,
    format_alert,
    format_record,
    in_bands,
    make_option_contract,
    sort_quotes,
    store_key,
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
        chosen: OptionFilterUniverse = universe.include_weeklys() if weeklies else universe
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


class LeanCalendar:
    """``TradingCalendar`` from LEAN's own exchange hours of one security (SPX)."""

    def __init__(self, hours: SecurityExchangeHours) -> None:
        self._hours = hours
        self._days: dict[date, tuple[datetime | None, datetime | None, bool]] = {}

    def _session(self, day: date) -> tuple[datetime | None, datetime | None, bool]:
        if day not in self._days:
            midnight = datetime.combine(day, time.min)
            value: tuple[datetime | None, datetime | None, bool] = (None, None, False)
            if self._hours.is_date_open(midnight, False):
                opened = self._hours.get_next_market_open(midnight, False)
                if opened.date() == day:
                    closed = self._hours.get_next_market_close(opened, False)
                    # a session shorter than the regular one closes early (LEAN's early-close table)
                    early = closed - opened < self._hours.regular_market_duration - timedelta(minutes=1)
                    value = (opened, closed, early)
            self._days[day] = value
        return self._days[day]

    def is_trading_day(self, day: date) -> bool:
        return self._session(day)[0] is not None

    def session_open(self, day: date) -> datetime | None:
        return self._session(day)[0]

    def session_close(self, day: date) -> datetime | None:
        return self._session(day)[1]

    def is_early_close(self, day: date) -> bool:
        return self._session(day)[2]

    def is_open(self, moment: datetime) -> bool:
        return self._hours.is_open(moment, False)


class LeanStore:
    """``StateStore`` over LEAN's ObjectStore; bytes kept as base64 text under namespaced keys."""

    def __init__(
        self, store: LeanObjectStore, key: Callable[[str], str], alert: Callable[[str], None]
    ) -> None:
        self._store = store
        self._key = key
        self._alert = alert

    def save(self, key: str, data: bytes) -> None:
        if not self._store.save_string(self._key(key), encode_bytes(data)):
            self._alert(f"ObjectStore refused to save {key!r}")

    def load(self, key: str) -> bytes | None:
        path = self._key(key)
        if not self._store.contains_key(path):
            return None
        text = self._store.read_string(path)
        try:
            return decode_bytes(text)
        except ValueError:
            return text.encode("utf-8")  # undecodable: the caller's parser reports it as corrupt


class QuoteOverlay(Protocol):
    """A second option-quote source merged into LEAN's: in live trading, optionally, the
    Tastytrade DXLink feed (``brokers.live.TastytradeLink``, built in ``main.py``)."""

    def lean_data(self, now: datetime) -> None: ...

    def merge(self, quote: OptionQuote, now: datetime) -> OptionQuote: ...

    def quote(self, contract: OptionContract, now: datetime) -> OptionQuote | None: ...


class LogSink:
    """``EventSink`` writing one concise line per record to LEAN's log."""

    def __init__(self, algorithm: QCAlgorithm) -> None:
        self._algo = algorithm

    def record(self, kind: str, time: datetime, payload: Mapping[str, object]) -> None:
        self._algo.log(format_record(kind, time, payload))


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
        self._calendar = LeanCalendar(calendar_security.exchange.hours)
        self._vix = vix
        self._underlyings = dict(underlyings)
        self._futures = dict(futures)
        project = str(algorithm.project_id or "local")
        self._store = LeanStore(
            algorithm.object_store,
            lambda key: store_key(project, algorithm.live_mode, algorithm.algorithm_id, key),
            lambda msg: self.notify(Severity.CRITICAL, "State not saved", msg),
        )
        self._symbols: dict[str, Symbol] = {}  # core contract symbol -> LEAN Symbol (for orders)
        self._known: dict[str, OptionContract] = {}
        self._by_symbol: dict[Symbol, OptionContract] = {}
        self._day_opens = DayOpens()
        self._aggregator = ComboEventAggregator()
        self._pending: list[OrderEvent] = []
        self.quote_overlay: QuoteOverlay | None = None  # set by main.py when the DXLink feed is on

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
        chains = _LeanChains(self, data.option_chains if data is not None else None, now)
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
        try:
            g = item.greeks
            greeks = (float(g.delta), float(g.gamma), float(g.theta_per_day), float(g.vega))
            iv = float(item.implied_volatility)
        except Exception:  # a price model that cannot evaluate: core.option_math takes over
            greeks, iv = (float("nan"),) * 4, float("nan")
        return RawOptionQuote(
            self.contract(item.symbol),
            item.time if item.time.year > 1900 else now,
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

    # --- orders ----------------------------------------------------------------------------------
    def submit_combo(self, order: ComboOrder) -> None:
        keys = [leg.contract.symbol for leg in order.legs]
        missing = [k for k in keys if k not in self._symbols]
        if missing or len(set(keys)) != len(keys):
            why = f"no LEAN symbol for {missing}" if missing else "a contract appears in two legs"
            self._pending.append(OrderEvent(order.tag, OrderStatus.REJECTED, self.now(), (), why))
            return
        self._aggregator.register(
            order.tag, {leg.contract.symbol: (leg.contract, leg.ratio * order.quantity) for leg in order.legs}
        )
        lean_legs = [
            LeanLeg.create(self._symbols[k], leg.ratio) for k, leg in zip(keys, order.legs, strict=True)
        ]
        try:
            self._algo.combo_limit_order(lean_legs, order.quantity, order.limit_price, tag=order.tag)
        except Exception as exc:  # LEAN refused the call itself: report it like a rejection
            if self._aggregator.outcome(order.tag) is None:
                self._aggregator.forget(order.tag)
                self._pending.append(OrderEvent(order.tag, OrderStatus.REJECTED, self.now(), (), str(exc)))

    def liquidate(self, symbol: str, quantity: float, tag: str) -> None:
        """Market order for a stock / futures holding: the risk layer flattens assignments with it."""
        for h in self._algo.portfolio.values():
            stock_or_future = h.symbol.security_type not in _OPTION_KINDS
            if h.invested and stock_or_future and self.underlying_key(h.symbol) == symbol:
                self._algo.market_order(h.symbol, quantity, tag=tag)
                return
        self.notify(Severity.CRITICAL, "Cannot flatten", f"{symbol!r}: no such stock or futures holding")

    def cancel(self, tag: str) -> None:
        for ticket in self._algo.transactions.get_open_order_tickets():
            if ticket.tag == tag and ticket.status not in _NOT_CANCELLABLE:
                ticket.cancel()

    def open_order_tags(self) -> Sequence[str]:
        return list(dict.fromkeys(t.tag for t in self._algo.transactions.get_open_order_tickets()))

    def known_order_tags(self) -> None:
        """None: a restarted LEAN algorithm knows only the open orders, not its order history."""
        return None

    def pending_events(self) -> Sequence[OrderEvent]:
        return list(self._pending)

    def consumed(self, event: OrderEvent) -> None:
        if self._pending and self._pending[0] is event:
            self._pending.pop(0)

    def drain(self) -> list[OrderEvent]:
        """Events the adapter raised itself (orders it could not send); delivered by main."""
        events, self._pending = self._pending, []
        return events

    def on_order_event(self, event: LeanOrderEvent) -> list[OrderEvent]:
        """LEAN's per-leg event -> core events of the combo's tag (often none until all legs report)."""
        ticket = event.ticket
        if event.is_assignment or (ticket is not None and ticket.order_type == OrderType.OPTION_EXERCISE):
            self._exercise(event)
            return []
        tag = ticket.tag if ticket is not None else ""
        if tag.startswith("risk|flatten|"):  # the risk layer's market order for an assigned holding
            self.log(f"{tag}: {event.status} {event.fill_quantity:g} @ {event.fill_price:g} {event.message}")
            return []
        if not self._aggregator.is_known(tag) and not self._register_from_tickets(tag):
            if event.status in (LeanOrderStatus.FILLED, LeanOrderStatus.PARTIALLY_FILLED):
                self.notify(Severity.CRITICAL, "Fill of an unknown order", f"{tag!r}: {event.symbol.value}")
            return []
        was_open = self._aggregator.outcome(tag) is None
        update = LegUpdate(
            order_id=event.order_id,
            leg=self.contract(event.symbol).symbol if event.symbol.security_type in _OPTION_KINDS else "",
            status=_LEG_STATUS.get(event.status, LegStatus.OTHER),
            fill_quantity=round(event.fill_quantity),
            fill_price=float(event.fill_price),
            fee=float(event.order_fee.value.amount),
            message=event.message or "",
        )
        events = self._aggregator.on_leg_event(tag, self.now(), update)
        if was_open and self._aggregator.outcome(tag) is OrderStatus.REJECTED:
            self.cancel(tag)  # an invalid leg voids the combo: no leg may stay working
        if not was_open and events:
            self.notify(Severity.CRITICAL, "Fill after order ended", f"{tag}: {events[-1].message}")
        return events

    def _register_from_tickets(self, tag: str) -> bool:
        """After a restart LEAN still knows our working combos: rebuild their legs from tickets."""
        if not tag:
            return False
        tickets = self._algo.transactions.get_order_tickets(lambda t: t.tag == tag)
        legs = [(t.symbol, round(t.quantity)) for t in tickets]
        if not legs or any(s.security_type not in _OPTION_KINDS or q == 0 for s, q in legs):
            return False
        self._aggregator.register(
            tag, {c.symbol: (c, q) for c, q in ((self.contract(s), q) for s, q in legs)}
        )
        return True

    def _exercise(self, event: LeanOrderEvent) -> None:
        text = (
            f"{event.symbol.value} qty {event.fill_quantity:g} @ {event.fill_price:g} "
            f"itm={event.is_in_the_money} {event.message or ''}"
        )
        if event.is_assignment:
            self.log(f"assignment order event: {text}")  # alerted by on_assignment
        elif event.is_in_the_money and event.fill_quantity != 0:
            self.notify(Severity.WARNING, "Option exercised", text)
        else:
            self.log(f"option expiry: {text}")

    def on_assignment(self, event: LeanOrderEvent) -> None:
        self.notify(
            Severity.CRITICAL,
            "Option assignment",
            f"{event.symbol.value} qty {event.fill_quantity:g} @ {event.fill_price:g} {event.message or ''}",
        )

    # --- notify and log --------------------------------------------------------------------------
    def notify(self, severity: Severity, title: str, message: str) -> None:
        line = format_alert(severity, title, message)
        self._algo.log(line)
        if severity is not Severity.INFO:
            self._algo.debug(line)
        opts = self._options
        if not self._algo.live_mode or not opts.should_send(severity):
            return
        try:
            if opts.notify_email:
                self._algo.notify.email(opts.notify_email, f"Tom King {severity.value}: {title}", message)
            if opts.notify_web_url:
                body = {"severity": severity.value, "title": title, "message": message}
                self._algo.notify.web(opts.notify_web_url, body)
        except Exception as exc:  # alerting must never stop trading
            self._algo.log(f"notify failed: {type(exc).__name__}")

    def log(self, message: str) -> None:
        self._algo.log(message)


class _LeanChains:
    """``ChainSource`` over one slice's ``option_chains``: indexed on first use, each chain
    converted (with the Greeks fallback) only when a strategy asks for it."""

    def __init__(self, platform: LeanPlatform, chains: LeanOptionChains | None, now: datetime) -> None:
        self._platform = platform
        self._source = chains
        self._now = now
        self._index: dict[str, dict[date, list[LeanOptionContract]]] | None = None
        self._built: dict[tuple[str, date], OptionChain | None] = {}
        self._quotes: dict[str, OptionQuote] = {}

    def _roots(self) -> dict[str, dict[date, list[LeanOptionContract]]]:
        if self._index is None:
            self._index = {}
            for chain in self._source.values() if self._source is not None else []:
                for item in chain:
                    symbol = item.symbol
                    fop = symbol.security_type == SecurityType.FUTURE_OPTION
                    root = symbol.underlying.id.symbol if fop else symbol.id.symbol
                    self._index.setdefault(root, {}).setdefault(item.expiry.date(), []).append(item)
        return self._index

    def expiries(self, root: str) -> tuple[date, ...]:
        return tuple(sorted(self._roots().get(root, {})))

    def chain(self, root: str, expiry: date) -> OptionChain | None:
        key = (root, expiry)
        if key not in self._built:
            items = self._roots().get(root, {}).get(expiry, [])
            raws = [self._platform.raw_quote(item, self._now) for item in items]
            rate = self._platform.risk_free_rate(self._now) if raws else 0.0
            quotes = build_quotes(raws, self._now, rate)
            overlay = self._platform.quote_overlay
            if overlay is not None:
                quotes = [overlay.merge(q, self._now) for q in quotes]
            quotes = sort_quotes(quotes)
            self._quotes.update({q.contract.symbol: q for q in quotes})
            first = quotes[0] if quotes else None
            self._built[key] = (
                OptionChain(root, expiry, first.contract.underlying, first.underlying_price, quotes)
                if first is not None
                else None
            )
        return self._built[key]

    def quote(self, contract: OptionContract) -> OptionQuote | None:
        self.chain(contract.root, contract.expiry)
        found = self._quotes.get(contract.symbol)
        overlay = self._platform.quote_overlay
        if found is None and overlay is not None:  # no LEAN quote: the DXLink feed's, if it has one
            found = overlay.quote(contract, self._now)
        return found
