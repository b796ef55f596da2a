"""The one composition root: builds a TradingSystem from settings for any engine.

``main.py`` (LEAN) and ``sim`` (offline) both call ``build_system`` so the same strategies, risk
gate, execution, persistence and monitoring run in both; only the Platform differs.
``build_monitoring`` wires monitoring once for both: the alert router every layer's alerts pass
and the observer that samples, exports and keeps the health snapshot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from core.pauses import Pauses
from core.portfolio_greeks import BetaTable
from core.ports import EventSink, Platform, StatePart, StateStore, Strategy, SystemObserver
from core.quote_screen import LastGood, QuoteScreen
from core.settings import Settings
from core.system import TradingSystem
from execution.order_manager import OrderManager
from execution.state import ExecutionState
from monitoring.alerts import AlertRouter, AppriseChannel, PlatformChannel, alert_urls
from monitoring.observer import RoutedPlatform, SystemMonitor
from monitoring.redact import Redactor, secrets_from_environment
from monitoring.service import MonitoringService, OrderActivity
from persistence.manager import StateManager
from risk.events import RiskLog
from risk.gate import EntryGate
from risk.monitors import RiskMonitors
from risk.portfolio import PortfolioCache
from risk.state import RiskState
from strategies.ipmcc import Ipmcc
from strategies.leap_ladder import LeapPutLadder
from strategies.lt112 import Lt112
from strategies.strangle import FuturesStrangle
from strategies.zero_dte import ZeroDteIronCondor


def build_strategies(settings: Settings) -> list[Strategy]:
    strategies: list[Strategy] = []
    if settings.zero_dte_enabled:
        strategies.append(ZeroDteIronCondor(settings))
    if settings.lt112_enabled:
        strategies.append(Lt112(settings))
    if settings.strangle_enabled:
        strategies.append(FuturesStrangle(settings))
    if settings.ipmcc_enabled:
        strategies.append(Ipmcc(settings))
    if settings.leap_enabled:
        strategies.append(LeapPutLadder(settings))
    return strategies


def build_system(
    platform: Platform,
    settings: Settings,
    sink: EventSink,
    state: StateManager | None = None,
    observers: Sequence[SystemObserver] = (),
    parts: Sequence[StatePart[Any]] = (),
    router: AlertRouter | None = None,
) -> TradingSystem:
    """The system on ``platform``.  Its state lives in ``state`` (default: the platform's store);
    ``parts`` are further stateful components an engine adds (the sim's run log); with a
    ``router`` every layer's alerts pass it."""
    state = state if state is not None else StateManager(platform.store)
    if router is not None:
        platform = RoutedPlatform(platform, router)
    pauses = Pauses()  # raised by persistence, the engine link and the Tastytrade link; read by the gate
    risk_state, risk_log = RiskState(), RiskLog(sink)  # shared by the gate and the monitors
    portfolio = PortfolioCache(BetaTable.from_settings(settings))  # one view of the open portfolio per step
    screen = QuoteScreen(settings)  # one memory of last good quotes for marks, entries and orders
    orders = state.guard(platform)  # execution and risk: every order journaled before it is sent
    executor = OrderManager(settings, orders, sink=sink, screen=screen)
    monitors = RiskMonitors(settings, orders, risk_state, risk_log, portfolio, screen)
    gate = EntryGate(
        settings, platform.calendar, platform.is_live, risk_state, risk_log, portfolio, pauses, screen
    )
    return TradingSystem(
        platform=platform,
        settings=settings,
        strategies=build_strategies(settings),
        gate=gate,
        executor=executor,
        sink=state.audit(sink),
        state=state,
        monitors=monitors,
        pauses=pauses,
        screen=screen,
        parts=(
            StatePart("execution", ExecutionState, executor, lambda: executor.version),
            StatePart("risk", RiskState, monitors),
            StatePart("quotes", LastGood, screen),
            *parts,
        ),
        observers=observers,
    )


def build_monitoring(
    platform: Platform,
    settings: Settings,
    sink: EventSink,
    environ: Mapping[str, str],
    live: bool,
    connection: str = "brokerage",
    health_interval: timedelta = timedelta(minutes=1),
    store: StateStore | None = None,
    send: bool = True,
    backtest: bool = False,
    orders: OrderActivity | None = None,
) -> tuple[AlertRouter, SystemMonitor]:
    """The alert router (the engine's own notifications, plus, when ``send``, the apprise URLs in
    ``TOMKING_ALERT_URLS``, labelled ``[BACKTEST ...]`` for a ``backtest``; secrets from the
    environment redacted) and the monitoring observer, which keeps its metrics and health snapshot
    in ``store`` (default: the platform's) and reports in its health snapshot the orders ``orders``
    saw submitted."""
    urls = alert_urls(environ) if send else []
    apprise = [AppriseChannel(urls, backtest=backtest)] if urls else []
    channels = [PlatformChannel(platform.notify), *apprise]
    router = AlertRouter(platform.now, channels, Redactor(secrets_from_environment(environ)))
    service = MonitoringService.from_settings(
        settings, sink, store or platform.store, platform.now, router=router, live=live,
        health_interval=health_interval,
    )  # fmt: skip
    if orders is not None:
        service.orders = orders
    return router, SystemMonitor(service, live, connection)
