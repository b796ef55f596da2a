"""The one composition root: builds a TradingSystem from settings for any engine.

``main.py`` (LEAN) and ``sim`` (offline) both call ``build_system`` so the same strategies, risk
gate and execution run in both; only the Platform differs.
"""

from __future__ import annotations

from core.ports import EventSink, Platform, Strategy
from core.settings import Settings
from core.system import TradingSystem
from execution.order_manager import OrderManager
from risk.gate import EntryGate
from strategies.zero_dte import ZeroDteIronCondor


def build_strategies(settings: Settings) -> list[Strategy]:
    strategies: list[Strategy] = []
    if settings.zero_dte_enabled:
        strategies.append(ZeroDteIronCondor(settings))
    return strategies


def build_system(platform: Platform, settings: Settings, sink: EventSink) -> TradingSystem:
    return TradingSystem(
        platform=platform,
        settings=settings,
        strategies=build_strategies(settings),
        gate=EntryGate(settings, platform.calendar),
        executor=OrderManager(settings, platform),
        sink=sink,
    )
