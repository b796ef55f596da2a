"""The one composition root: builds a TradingSystem from settings for any engine.

``main.py`` (LEAN) and ``sim`` (offline) both call ``build_system`` so the same strategies, risk
gate and execution run in both; only the Platform differs.
"""

from __future__ import annotations

from core.ports import EventSink, Platform, Strategy
from core.quote_screen import QuoteScreen
from core.settings import Settings
from core.system import TradingSystem
from execution.order_manager import OrderManager
from persistence.manager import StateManager
from risk.events import RiskLog
from risk.gate import EntryGate
from risk.monitors import RiskMonitors
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
    platform: Platform, settings: Settings, sink: EventSink, state: StateManager | None = None
) -> TradingSystem:
    risk_state, risk_log = RiskState(), RiskLog(sink)  # shared by the gate and the monitors
    screen = QuoteScreen(settings)  # one memory of last good quotes for marks, entries and orders
    # execution and risk get a platform whose orders are journaled before sent and whose store is
    # part of the atomic saved state
    orders = platform if state is None else state.guard(platform)
    system = TradingSystem(
        platform=platform,
        settings=settings,
        strategies=build_strategies(settings),
        gate=EntryGate(settings, platform.calendar, platform.is_live, risk_state, risk_log, screen),
        executor=OrderManager(settings, orders, sink=sink, screen=screen),
        sink=sink if state is None else state.audit(sink),
        monitors=RiskMonitors(settings, orders, risk_state, risk_log, screen),
        state=state,
        screen=screen,
    )
    if state is not None:  # components with state of their own (Persistable) join the snapshot
        state.register_if_persistable(system.gate, system.executor, *system.strategies.values())
    return system
