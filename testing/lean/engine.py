"""Drives an algorithm on the double the way LEAN's AlgorithmManager does in a backtest.

Per time slice (Engine/AlgorithmManager.cs): scheduled events that fell between slices fire first,
each at its own time (ScanPastEvents :225); then the algorithm time is set (:241), the slice and
the securities' prices are updated (:253), fills are scanned (:340), the slice's scheduled events
fire (:348), and ``on_data`` runs (:582).  Minute bars end on the minute; a bar is sent only while
its exchange is open (regular hours).  Option universes are filtered once a day with the
underlying's last price; contracts the account holds stay in their chains.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from types import SimpleNamespace
from typing import Any

from testing.lean.algorithm import QCAlgorithm
from testing.lean.data import (
    FuturesChain,
    LazyChains,
    OptionChain,
    OptionContract,
    OptionFilterUniverse,
    Slice,
    canonical_option,
    lean_greeks,
)
from testing.lean.hours import NEW_YORK, UTC, MarketHoursDatabase, convert
from testing.lean.market import MARKETS, OPTION_TICKER, Market
from testing.lean.object_store import LocalObjectStore
from testing.lean.orders import OrderEvent
from testing.lean.securities import Bar, Security
from testing.lean.symbols import HOURS_KIND, OPTION_TYPES, SecurityType, Symbol

MULTIPLIER = {"ES": 50.0, "MES": 5.0, "CL": 1000.0, "MCL": 100.0, "GC": 100.0, "MGC": 10.0}


@dataclass
class OptionUniverseHandle:
    """What ``add_index_option`` / ``add_option`` return (``set_filter``)."""

    canonical: Symbol
    filter: Callable[[OptionFilterUniverse], OptionFilterUniverse] | None = None
    selected: list[Symbol] = field(default_factory=list)

    def set_filter(self, f: Callable[[OptionFilterUniverse], OptionFilterUniverse]) -> None:
        self.filter = f


class FutureHandle:
    """What ``add_future`` returns: the canonical symbol, ``mapped`` and ``set_filter``."""

    def __init__(self, engine: Engine, root: str) -> None:
        self.symbol = Symbol.create(root, SecurityType.FUTURE, MARKETS[root])
        self.root = root
        self._engine = engine
        self.days = (0, 200)
        self.contracts: list[Symbol] = []

    def set_filter(self, min_days: int, max_days: int) -> None:
        self.days = (min_days, max_days)

    @property
    def mapped(self) -> Symbol | None:
        today = self._engine.algorithm.time.date()
        live = [c for c in self.contracts if c.id.date.date() >= today]
        return min(live, key=lambda c: c.id.date, default=None)


class Engine:
    def __init__(
        self,
        algorithm: QCAlgorithm,
        market: Market,
        hours: MarketHoursDatabase,
        parameters: dict[str, str],
        store: LocalObjectStore | None = None,
    ) -> None:
        self.algorithm = algorithm
        self.market = market
        self.hours = hours
        algorithm.engine = self
        algorithm.parameters = dict(parameters)
        algorithm.object_store = store or LocalObjectStore(datetime(2000, 1, 1))
        self.underlyings: list[Symbol] = []
        self.universes: list[OptionUniverseHandle] = []
        self.futures: dict[str, FutureHandle] = {}
        self.fop_filters: dict[str, Any] = {}
        self.fop_universes: dict[Symbol, OptionUniverseHandle] = {}
        self._slice_utc: datetime | None = None
        self._bars: dict[Symbol, Bar | None] = {}
        self._groups: dict[tuple[Symbol, datetime], list[Symbol]] = {}
        self.order_events: list[OrderEvent] = []
        self._open_cache: dict[tuple[int, datetime], bool] = {}

    # --- subscriptions (called by QCAlgorithm) --------------------------------------------------------
    def _security(
        self, symbol: Symbol, multiplier: float = 1.0, underlying: Security | None = None
    ) -> Security:
        algo = self.algorithm
        if symbol in algo.securities:
            return algo.securities[symbol]
        kind = HOURS_KIND[symbol.security_type]
        ticker = symbol.id.symbol
        if kind == "FutureOption":
            assert symbol.underlying is not None, f"a future option has its future: {symbol}"
            ticker = symbol.underlying.id.symbol
        entry = self.hours.get_entry(symbol.id.market, ticker, kind)
        sec = Security(symbol, entry.exchange_hours, multiplier, lambda: algo.utc_time)
        sec.underlying = underlying
        sec.feed = self._feed
        algo.securities[symbol] = sec
        return sec

    def add_underlying(self, ticker: str, kind: str) -> Security:
        stype = SecurityType.INDEX if kind == "Index" else SecurityType.EQUITY
        symbol = Symbol.create(ticker, stype, "usa")
        self.underlyings.append(symbol)
        return self._security(symbol)

    def add_option_universe(self, underlying: Symbol, ticker: str) -> OptionUniverseHandle:
        handle = OptionUniverseHandle(canonical_option(underlying, ticker))
        self.universes.append(handle)
        return handle

    def add_future(self, root: str) -> FutureHandle:
        handle = FutureHandle(self, root)
        self.futures[root] = handle
        return handle

    def add_future_option(self, future_symbol: Symbol, option_filter: Any) -> None:
        self.fop_filters[future_symbol.id.symbol] = option_filter

    # --- data -----------------------------------------------------------------------------------------
    def _feed(self, symbol: Symbol) -> Bar | None:
        if self._slice_utc is None:
            return None
        if symbol not in self._bars:
            self._bars[symbol] = self._make_bar(symbol)
        return self._bars[symbol]

    def _open(self, sec: Security, utc: datetime) -> bool:
        """Whether a regular-hours bar ending at ``utc`` exists (cached per exchange and minute)."""
        hours = sec.exchange.hours
        key = (id(hours), utc)
        if key not in self._open_cache:
            local = convert(utc - timedelta(minutes=1), UTC, hours.time_zone)
            self._open_cache[key] = hours.is_open(local, False)
        return self._open_cache[key]

    def _make_bar(self, symbol: Symbol) -> Bar | None:
        utc = self._slice_utc
        assert utc is not None
        sec = self.algorithm.securities[symbol]
        if not self._open(sec, utc):
            return None
        local = convert(utc, UTC, sec.exchange.time_zone)
        ny = convert(utc, UTC, NEW_YORK)
        if symbol.security_type in OPTION_TYPES:
            assert symbol.underlying is not None, f"an option symbol always has its underlying: {symbol}"
            group = (symbol.underlying, symbol.id.date)
            members = self._groups.get(group, [symbol])
            under = self.algorithm.securities[symbol.underlying]
            bids, asks, ranges = self.market.option_quotes(members, under.price, ny)
            for s, b, a, r in zip(members, bids, asks, ranges, strict=True):
                if s != symbol:
                    self._bars[s] = Bar(local, float(b), float(a), 0.0, float(r))
            i = members.index(symbol)
            return Bar(local, float(bids[i]), float(asks[i]), 0.0, float(ranges[i]))
        price = self.market.price(
            self.market.root(symbol.value) if symbol.security_type != SecurityType.FUTURE else symbol.value,
            ny,
        )
        if symbol.security_type == SecurityType.INDEX:
            return Bar(local, last=price)
        tick = 0.25 if symbol.security_type == SecurityType.FUTURE else 0.01
        return Bar(local, price - tick, price + tick, price, tick)

    def _select(self, day: date) -> None:
        """Daily universe selection: futures contracts, then every option universe's filter."""
        algo, self._groups = self.algorithm, {}
        for root, handle in self.futures.items():
            handle.contracts = [
                s
                for s, _ in self.market.futures(root, day)
                if (s.id.date.date() - day).days <= handle.days[1]
            ]
            for contract in handle.contracts:
                self._security(contract, MULTIPLIER[root])
            if root in self.fop_filters:
                for contract in handle.contracts:
                    if contract not in self.fop_universes:
                        ticker = OPTION_TICKER.get(root, root)
                        self.fop_universes[contract] = OptionUniverseHandle(
                            canonical_option(contract, ticker), self.fop_filters[root]
                        )
        for handle in [*self.universes, *self.fop_universes.values()]:
            under_symbol = handle.canonical.underlying
            assert under_symbol is not None
            under = algo.securities[under_symbol]
            spot = under.price or self.market.price(under_symbol.value, datetime.combine(day, time(9, 30)))
            listing = self.market.options(handle.canonical.id.symbol, under_symbol, day, spot)
            local = datetime.combine(day, time())
            universe = OptionFilterUniverse(listing, SimpleNamespace(price=spot), local)
            if handle.filter is not None:
                universe = handle.filter(universe)
            held = [s for s in handle.selected if algo.securities[s].holdings.invested]
            handle.selected = list(dict.fromkeys([*universe.selected(), *held]))
            mult = MULTIPLIER.get(under_symbol.id.symbol, 100.0)
            for s in handle.selected:
                self._security(s, mult, under)
                assert s.underlying is not None, f"an option symbol has its underlying: {s}"
                self._groups.setdefault((s.underlying, s.id.date), []).append(s)

    def _slice(self, utc: datetime) -> Slice:
        algo = self.algorithm
        plain = [*self.underlyings, *(c for h in self.futures.values() for c in h.contracts)]
        open_symbols = {s for s in plain if self._open(algo.securities[s], utc)}
        option_builders: dict[Symbol, Callable[[], Any]] = {}
        for handle in [*self.universes, *self.fop_universes.values()]:
            if handle.selected and self._open(algo.securities[handle.selected[0]], utc):
                option_builders[handle.canonical] = self._chain_builder(handle)
        future_builders = {
            h.symbol: (lambda h=h: FuturesChain(h.symbol, [SimpleNamespace(symbol=c) for c in h.contracts]))
            for h in self.futures.values()
            if h.contracts and h.contracts[0] in open_symbols
        }
        return Slice(algo.time, open_symbols, LazyChains(option_builders), LazyChains(future_builders))

    def _chain_builder(self, handle: OptionUniverseHandle) -> Callable[[], OptionChain]:
        def build() -> OptionChain:
            algo = self.algorithm
            contracts = []
            for s in handle.selected:
                sec = algo.securities[s]
                bar = sec.bar
                if bar is None:
                    continue
                under = sec.underlying
                spot = under.price if under is not None else 0.0
                contracts.append(
                    OptionContract(s, bar.end_time, bar.bid, bar.ask, spot, self._model(s, bar, spot))
                )
            return OptionChain(handle.canonical, contracts)

        return build

    def _model(self, symbol: Symbol, bar: Bar, spot: float) -> Callable[[], Any]:
        ny = self.algorithm.time

        def evaluate() -> Any:
            expiry = datetime.combine(symbol.id.date.date(), time(16, 0))
            years = max((expiry - ny).total_seconds(), 60.0) / (365.0 * 86400.0)
            return lean_greeks(
                spot,
                symbol.id.strike_price,
                years,
                self.market.rate,
                0.0,
                bar.price,
                symbol.id.option_right == 0,
            )

        return evaluate

    # --- margin calls (Engine/AlgorithmManager.cs:369-401) -------------------------------------------
    def margin_call(self) -> list[Any]:
        """LEAN's margin call, run on demand: DefaultMarginCallModel's requests for every held
        option position group (ComboMarket for several legs, tagged "Margin Call"), handed to
        ``on_margin_call``, which must return a non-empty list (AlgorithmPythonWrapper.cs:893-925),
        then the margin call model's ``execute_margin_call`` (LEAN's default sends the orders)."""
        algo = self.algorithm
        groups: dict[Any, list[Any]] = {}
        for sec in algo.securities.values():
            if sec.holdings.invested and sec.type in OPTION_TYPES:
                groups.setdefault(sec.symbol.underlying, []).append(sec)
        requests = [
            SimpleNamespace(symbol=s.symbol, quantity=-s.holdings.quantity, tag="Margin Call",
                            order_type="ComboMarket" if len(secs) > 1 else "Market")
            for secs in groups.values() for s in secs
        ]  # fmt: skip
        if not requests:
            return []
        returned = algo.on_margin_call(requests)
        if returned is None or not list(returned):
            raise RuntimeError("OnMarginCall must return a non-empty list of SubmitOrderRequest")
        model = algo.portfolio.margin_call_model
        if model is not None:
            return list(model.execute_margin_call(list(returned)))
        from testing.lean.orders import OrderType

        tickets = []
        for r in returned:  # DefaultMarginCallModel.ExecuteMarginCall: LEAN's own orders
            kind = OrderType.COMBO_MARKET if r.order_type == "ComboMarket" else OrderType.MARKET
            tickets.append(
                algo.transactions.add_order(algo.transactions.make_order(r.symbol, r.quantity, kind, r.tag))
            )
        return tickets

    # --- events -------------------------------------------------------------------------------------
    def deliver_order_event(self, event: OrderEvent) -> None:
        self.order_events.append(event)
        self.algorithm.on_order_event(event)

    def _events_for(self, day: date) -> list[tuple[datetime, int, Callable[[], None]]]:
        out = []
        for i, (times, callback) in enumerate(self.algorithm.schedule.events):
            out += [(t, i, callback) for t in times(day)]
        return sorted(out, key=lambda e: (e[0], e[1]))

    def start(self) -> None:
        """LEAN's set-up: the algorithm's ``initialize`` at the start date's midnight."""
        algo = self.algorithm
        algo.utc_time = convert(datetime.combine(algo.start_date, time()), NEW_YORK, UTC)
        algo.initialize()  # type: ignore[attr-defined]
        self._day = algo.start_date
        self._pending: list[tuple[datetime, int, Callable[[], None]]] = []
        self._minute = 0
        self._day_started = False

    def run_until(self, ny: datetime, after_slice: Callable[[datetime], None] | None = None) -> None:
        """Run every slice up to and including New York time ``ny`` (resumable)."""
        limit = convert(ny, NEW_YORK, UTC)
        while self._day <= self.algorithm.end_date:
            if not self._day_started:
                self._begin_day(self._day)
                self._day_started = True
            if not self._run_minutes(limit, after_slice):
                return
            self._day += timedelta(days=1)
            self._day_started = False

    def run(self, after_slice: Callable[[datetime], None] | None = None) -> None:
        """The whole backtest: start, every day to the end date, the end of the algorithm."""
        self.start()
        self.run_until(datetime.combine(self.algorithm.end_date, time(23, 59)), after_slice)
        self.finish()

    def finish(self) -> None:
        algo = self.algorithm
        for when, _, callback in self._pending:
            algo.utc_time = when
            callback()
        self._pending = []
        algo.on_end_of_algorithm()
        algo.object_store.dispose()

    def _begin_day(self, day: date) -> None:
        algo = self.algorithm
        self._pending += self._events_for(day)
        self._pending.sort(key=lambda e: (e[0], e[1]))
        self._midnight = convert(datetime.combine(day, time()), NEW_YORK, UTC)
        algo.utc_time = max(algo.utc_time, self._midnight)
        self._slice_utc, self._bars, self._open_cache = None, {}, {}
        self._select(day)
        self._minute = 0

    def _run_minutes(self, limit: datetime, after_slice: Callable[[datetime], None] | None) -> bool:
        """The day's remaining slices up to ``limit``; False when stopped at the limit."""
        algo, pending = self.algorithm, self._pending
        while self._minute < 24 * 60:
            utc = self._midnight + timedelta(minutes=self._minute + 1)
            if utc > limit:
                return False
            self._minute += 1
            if not any(self._open(algo.securities[s], utc) for s in self.underlyings):
                continue
            while pending and pending[0][0] < utc:  # ScanPastEvents
                when, _, callback = pending.pop(0)
                algo.utc_time = when
                callback()
            algo.utc_time = utc
            self._slice_utc, self._bars = utc, {}
            algo.current_slice = self._slice(utc)
            if not algo.live_mode:
                algo.transactions.scan_fills()
            while pending and pending[0][0] == utc:
                _, _, callback = pending.pop(0)
                callback()
            algo.on_data(algo.current_slice)
            algo.object_store.tick(utc)
            if after_slice is not None:
                after_slice(utc)
        return True
