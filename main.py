"""QuantConnect LEAN entry point: Tom King's strategies through Tastytrade.

Wiring only: parameters -> settings, the universe the rulebook needs, the LEAN adapter, the
trading system and its monitoring from ``assembly``, and LEAN's events forwarded to the one step
loop both engines drive (``core.loop``).  Every decision lives in
the engine-neutral layers (see ARCHITECTURE.md); ``docs/LEAN.md`` explains how to run it.
"""

import os
from datetime import date, datetime, timedelta

from AlgorithmImports import *

from assembly import build_monitoring, build_system
from core.loop import EngineLoop
from core.ports import EnginePart
from core.settings import Settings, SettingsError
from core.types import Right
from lean_adapter.alerts import LogSink
from lean_adapter.gate import EntryGate
from lean_adapter.live_parts import LiveOrders, StopsAtEnd
from lean_adapter.platform import LeanPlatform, band_filter
from lean_adapter.translate import StrikeBand, load_parameters
from monitoring.observer import SystemMonitor
from monitoring.service import OrderActivity
from persistence import StateManager
from persistence.live_check import HoldingsWatch

# Option universes: days to expiry, strike / underlying-price bands and rights per rulebook
# strategy (out-of-the-money sides only, to keep the minute subscriptions few).  Contracts the
# account holds stay subscribed and quoted after they leave a band, so management is unaffected.
CALL, PUT = Right.CALL, Right.PUT
SPXW_BANDS = (  # Friday 0DTE iron condor: 16 / 5 delta both sides
    StrikeBand(0, 2, 0.93, 1.0, PUT),
    StrikeBand(0, 2, 1.0, 1.07, CALL),
)
SPX_BANDS = (StrikeBand(0, 160, 0.60, 1.02, PUT),)  # LT112 in phase 1: 25 / 5 delta puts, 110-150 DTE
ETF_BANDS = (
    StrikeBand(0, 10, 0.97, 1.08, CALL),  # IPMCC weekly short calls (~30 delta, 7 DTE)
    StrikeBand(250, 440, 0.65, 0.95, CALL),  # IPMCC long calls (~80 delta, >= 280 DTE)
    StrikeBand(250, 440, 0.60, 0.95, PUT),  # LEAP put ladder (12-14 delta, 300-430 DTE)
)
# Strangles (6 delta, 80-100 DTE) and LT112 on /ES (110-150 DTE), widened by the expiry tolerance
# (expiry_tolerance_days, 46): ES options list quarterly, so the nearest may be 196 days out.
FUTURE_OPTION_BANDS = (
    StrikeBand(0, 200, 0.60, 1.0, PUT),
    StrikeBand(0, 200, 1.0, 1.45, CALL),
)
ETFS = ("SPY", "QQQ", "IWM")
STEP = timedelta(minutes=5)


def futures_roots(settings: Settings) -> list[str]:
    """Every futures root a strategy may trade: LT112's, the strangles' and their micros (MES, MCL,
    MGC: the strangle falls back to them when a full-size one breaks the BP cap)."""
    micros = [pair.split(":", 1)[1] for pair in settings.strangle_micro_roots if ":" in pair]
    return list(dict.fromkeys([settings.lt112_futures_root, *settings.strangle_underlyings, *micros]))


class RiskLayerMarginCallModel(DefaultMarginCallModel):
    """LEAN's margin-call orders are never sent: its default model issues ComboMarket orders,
    which Tastytrade refuses (TastytradeBrokerageModel).  ``on_margin_call`` hands the positions to
    the risk layer, which closes them with our own tagged combo limit orders."""

    def execute_margin_call(self, generated_margin_call_orders):
        return []


class TomKingAlgorithm(QCAlgorithm):
    def initialize(self) -> None:
        try:
            settings, options = load_parameters(dict(self.get_parameters()), "config.json parameters")
        except SettingsError as exc:
            for problem in exc.problems:
                self.error(problem)
            raise
        start, end = date.fromisoformat(settings.start_date), date.fromisoformat(settings.end_date)
        self.set_start_date(start.year, start.month, start.day)
        self.set_end_date(end.year, end.month, end.day)
        self.set_cash(settings.starting_cash)
        self.set_time_zone(TimeZones.NEW_YORK)
        self.set_brokerage_model(BrokerageName.TASTYTRADE, AccountType.MARGIN)
        self.portfolio.set_margin_call_model(
            RiskLayerMarginCallModel(self.portfolio, self.default_order_properties)
        )
        self.entry_gate = EntryGate()  # one lock around every LEAN entry point (live: several threads)

        spx = self.add_index("SPX", Resolution.MINUTE)
        vix = self.add_index("VIX", Resolution.MINUTE)
        self.set_benchmark(spx.symbol)
        self.add_index_option(spx.symbol, "SPXW", Resolution.MINUTE).set_filter(band_filter(SPXW_BANDS))
        self.add_index_option(spx.symbol, "SPX", Resolution.MINUTE).set_filter(
            band_filter(SPX_BANDS, weeklies=False)
        )
        underlyings = {"SPX": spx.symbol, "VIX": vix.symbol}
        if settings.zero_dte_mini_root:  # XSP (a tenth of SPX): the 0DTE fallback, also in the sim
            mini = self.add_index(settings.zero_dte_mini_root, Resolution.MINUTE)
            self.add_index_option(mini.symbol, settings.zero_dte_mini_root, Resolution.MINUTE).set_filter(
                band_filter(SPXW_BANDS)
            )
            underlyings[settings.zero_dte_mini_root] = mini.symbol
        for ticker in ETFS:
            equity = self.add_equity(
                ticker, Resolution.MINUTE, data_normalization_mode=DataNormalizationMode.RAW
            )
            self.add_option(equity.symbol, Resolution.MINUTE).set_filter(band_filter(ETF_BANDS))
            underlyings[ticker] = equity.symbol
        futures = {}
        for root in futures_roots(settings):
            future = self.add_future(
                root,
                Resolution.MINUTE,
                data_normalization_mode=DataNormalizationMode.RAW,
                data_mapping_mode=DataMappingMode.OPEN_INTEREST,
                contract_depth_offset=0,
            )
            future.set_filter(0, 210)
            self.add_future_option(future.symbol, band_filter(FUTURE_OPTION_BANDS, weeklies=False))
            futures[root] = future

        self.lean_platform = platform = LeanPlatform(self, options, spx, vix.symbol, underlyings, futures)
        # monitoring and the one alert router every layer's alerts pass (docs/MONITORING.md)
        sink = OrderActivity(LogSink(self))  # counts acknowledged orders for the health snapshot
        router, monitor = build_monitoring(
            platform, settings, sink, os.environ, live=self.live_mode, backtest=not self.live_mode
        )
        platform.alert_route = router.send
        # snapshot + journal in the ObjectStore; recovery and reconciliation on every start
        state = StateManager(platform.store)
        self.trading_system = build_system(platform, settings, sink, state, (monitor,), router=router)
        self.engine_loop = EngineLoop(self.trading_system, self._live_parts(state, monitor))
        every_day = self.date_rules.every_day(spx.symbol)
        self.schedule.on(every_day, self.time_rules.every(STEP), self._step)
        self.schedule.on(every_day, self.time_rules.before_market_close(spx.symbol, 0), self._end_of_day)

    def _live_parts(self, state: StateManager, monitor: SystemMonitor) -> list[EnginePart]:
        """Live only: restored orders, unconfirmed orders and the holdings watch; the optional
        Tastytrade link (docs/TASTYTRADE.md); the local health endpoint (TOMKING_HEALTH_PORT)."""
        if not self.live_mode:
            return []
        parts: list[EnginePart] = [LiveOrders(self.lean_platform, state.working_orders, HoldingsWatch())]
        link = self._tastytrade_link()
        if link is not None:
            parts.append(link)
        port = os.environ.get("TOMKING_HEALTH_PORT")
        if port:  # local live mode only: in QuantConnect Cloud there is no port to reach
            parts.append(StopsAtEnd(monitor.service.serve_health(int(port)).stop))
        return parts

    def _tastytrade_link(self):
        """Optional DXLink feed, reconciliation and outage guard, off unless switched on;
        ``None`` where off or where the SDK is missing (QuantConnect Cloud)."""
        from brokers.live import CONFIG_KEYS, TastytradeLink

        config = {key: Config.get(key) for key in CONFIG_KEYS}
        system = self.trading_system
        link = TastytradeLink.create(self.live_mode, config, datetime.now, system.platform.notify)
        if link is not None:
            self.lean_platform.quote_overlay = link
            system.executor = link.guard_executor(system.executor)
        return link

    # --- LEAN's events, forwarded to the loop under one lock (live: several threads) -------------
    def _step(self) -> None:
        with self.entry_gate:
            platform = self.lean_platform
            if not self.is_warming_up and platform.has_data() and platform.session_is_open():
                self.engine_loop.step()

    def _end_of_day(self) -> None:
        with self.entry_gate:
            day = self.time.date()
            if not self.is_warming_up:
                self.engine_loop.end_of_day(day, self.lean_platform.settlement_prices(day))

    def on_warmup_finished(self) -> None:
        with self.entry_gate:
            self.engine_loop.start()

    def on_data(self, slice: Slice) -> None:
        with self.entry_gate:
            self.lean_platform.on_data(slice)

    def on_order_event(self, order_event: OrderEvent) -> None:
        with self.entry_gate:
            self.engine_loop.order_events(self.lean_platform.on_order_event(order_event))

    def on_assignment_order_event(self, assignment_event: OrderEvent) -> None:
        with self.entry_gate:
            self.lean_platform.on_assignment(assignment_event)

    def on_margin_call(self, requests):  # pyright: ignore[reportIncompatibleMethodOverride]
        """LEAN is about to liquidate (AlgorithmManager.cs).  The loop pauses entries, alerts and
        lets the risk layer close the positions with our tags; LEAN's orders are dropped by the
        margin call model.  LEAN requires a non-empty list back (AlgorithmPythonWrapper.OnMarginCall)."""
        with self.entry_gate:
            self.engine_loop.margin_call(self.lean_platform.margin_call_symbols(requests))
        return requests

    def on_brokerage_disconnect(self) -> None:
        with self.entry_gate:
            self.engine_loop.brokerage_disconnect()

    def on_brokerage_reconnect(self) -> None:
        with self.entry_gate:
            self.engine_loop.brokerage_reconnect()

    def on_end_of_algorithm(self) -> None:
        with self.entry_gate:
            self.engine_loop.end()
