"""QuantConnect LEAN entry point: Tom King's strategies through Tastytrade.

Wiring only: parameters -> settings, the universe the rulebook needs, the LEAN adapter, the
trading system from ``assembly``, and LEAN's events forwarded to it.  Every decision lives in
the engine-neutral layers (see ARCHITECTURE.md); ``docs/LEAN.md`` explains how to run it.
"""

import os
from datetime import date, datetime, timedelta

from AlgorithmImports import *

from assembly import build_system
from core.settings import SettingsError
from core.types import Right
from lean_adapter.platform import LeanPlatform, LogSink, band_filter
from lean_adapter.translate import StrikeBand, load_parameters
from monitoring.alerts import AlertRouter, build_channels
from monitoring.health import HealthInputs
from monitoring.service import MonitoringService
from persistence import StateManager

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
FUTURE_OPTION_BANDS = (  # strangles (6 delta, 80-100 DTE) and LT112 on /ES (110-150 DTE)
    StrikeBand(0, 160, 0.60, 1.0, PUT),
    StrikeBand(0, 160, 1.0, 1.45, CALL),
)
FUTURES = (Futures.Indices.SP_500_E_MINI, Futures.Energy.CRUDE_OIL_WTI, Futures.Metals.GOLD)
ETFS = ("SPY", "QQQ", "IWM")
STEP = timedelta(minutes=5)


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

        spx = self.add_index("SPX", Resolution.MINUTE)
        vix = self.add_index("VIX", Resolution.MINUTE)
        self.set_benchmark(spx.symbol)
        self.add_index_option(spx.symbol, "SPXW", Resolution.MINUTE).set_filter(band_filter(SPXW_BANDS))
        self.add_index_option(spx.symbol, "SPX", Resolution.MINUTE).set_filter(
            band_filter(SPX_BANDS, weeklies=False)
        )
        underlyings = {"SPX": spx.symbol, "VIX": vix.symbol}
        for ticker in ETFS:
            equity = self.add_equity(
                ticker, Resolution.MINUTE, data_normalization_mode=DataNormalizationMode.RAW
            )
            self.add_option(equity.symbol, Resolution.MINUTE).set_filter(band_filter(ETF_BANDS))
            underlyings[ticker] = equity.symbol
        futures = {}
        for root in FUTURES:
            future = self.add_future(
                root,
                Resolution.MINUTE,
                data_normalization_mode=DataNormalizationMode.RAW,
                data_mapping_mode=DataMappingMode.OPEN_INTEREST,
                contract_depth_offset=0,
            )
            future.set_filter(0, 200)
            self.add_future_option(future.symbol, band_filter(FUTURE_OPTION_BANDS, weeklies=False))
            futures[root] = future

        self._platform = LeanPlatform(self, options, spx, vix.symbol, underlyings, futures)
        # snapshot + journal in the ObjectStore; recovery and reconciliation on every start
        sink = LogSink(self)
        self._system = build_system(self._platform, settings, sink, StateManager(self._platform.store))
        self._broker = self._tastytrade_link()
        self._monitor = self._monitoring(settings, sink)
        self._health_server = None
        if self.live_mode and os.environ.get("TOMKING_HEALTH_PORT"):  # local live mode only
            self._health_server = self._monitor.serve_health(int(os.environ["TOMKING_HEALTH_PORT"]))
        self._started = False
        every_day = self.date_rules.every_day(spx.symbol)
        self.schedule.on(every_day, self.time_rules.every(STEP), self._step)
        self.schedule.on(every_day, self.time_rules.before_market_close(spx.symbol, 0), self._end_of_day)

    def _tastytrade_link(self):
        """Optional DXLink feed, reconciliation and outage guard: live only, off unless switched on
        (docs/TASTYTRADE.md); ``None`` where off or where the SDK is missing (QuantConnect Cloud)."""
        from brokers.live import CONFIG_KEYS, TastytradeLink

        config = {key: Config.get(key) for key in CONFIG_KEYS}
        link = TastytradeLink.create(self.live_mode, config, datetime.now, self._platform.notify)
        if link is not None:
            self._platform.quote_overlay = link
            self._system.executor = link.guard_executor(self._system.executor)
        return link

    def _monitoring(self, settings, sink) -> MonitoringService:
        """Greeks samples, daily metrics in the ObjectStore, health snapshot and, live, the daily
        summary and hedge alerts through one router (apprise URLs in TOMKING_ALERT_URLS for local
        LEAN, else LEAN's notify) - docs/MONITORING.md."""
        platform = self._platform
        channels = build_channels(platform.notify, cloud=False, environ=os.environ)
        router = AlertRouter(platform.now, channels)
        return MonitoringService.from_settings(
            settings, sink, platform.store, platform.now, router=router, live=self.live_mode
        )

    # --- scheduled -------------------------------------------------------------------------------
    def _start(self) -> None:
        if not self._started:
            self._started = True
            self._system.on_start()

    def _step(self) -> None:
        if self.is_warming_up or not self._platform.has_data() or not self._platform.session_is_open():
            return
        self._start()
        for event in self._platform.drain():
            self._system.on_order_event(event)
        if self._broker is not None:
            self._broker.on_step(self._system)
        self._system.on_step()
        system, platform = self._system, self._platform
        self._monitor.on_step(platform.snapshot(), system.book.live(), platform.account)
        if self.live_mode:
            account = platform.account()
            reason = system.pauses.describe()
            self._monitor.update_health(
                HealthInputs(
                    connections={"brokerage": not system.pauses.has("engine", "brokerage_disconnected")},
                    open_groups=len(system.book.live()),
                    breaker_state=f"paused:{reason}" if reason else "armed",
                    net_liquidation=account.net_liquidation,
                    buying_power_used=account.buying_power_used,
                )
            )

    def _end_of_day(self) -> None:
        if self.is_warming_up or not self._started:
            return
        day = self.time.date()
        self._system.on_expiry(day, self._platform.settlement_prices(day))
        self._system.on_end_of_day(day)
        book, platform = self._system.book, self._platform
        self._monitor.on_end_of_day(day, platform.snapshot(), book.live(), book.closed(), platform.account())

    # --- LEAN events -----------------------------------------------------------------------------
    def on_warmup_finished(self) -> None:
        self._start()

    def on_data(self, slice: Slice) -> None:
        self._platform.on_data(slice)

    def on_order_event(self, order_event: OrderEvent) -> None:
        for event in self._platform.on_order_event(order_event):
            self._system.on_order_event(event)

    def on_assignment_order_event(self, assignment_event: OrderEvent) -> None:
        self._platform.on_assignment(assignment_event)

    def on_brokerage_disconnect(self) -> None:
        self._system.on_brokerage_disconnect()
        if self._broker is not None:
            self._broker.on_brokerage_disconnect(self._system)

    def on_brokerage_reconnect(self) -> None:
        self._system.on_brokerage_reconnect()
        if self._broker is not None:  # entries stay paused until the positions are reconciled
            self._broker.on_brokerage_reconnect(self._system)

    def on_end_of_algorithm(self) -> None:
        if self._started:
            self._system.save_state()
        if self._broker is not None:
            self._broker.stop()
        if self._health_server is not None:
            self._health_server.stop()
