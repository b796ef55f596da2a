"""Connects the offline engine's loop to ``monitoring``: each step and each close, the sampler
sees the market, the book and the account (Greeks over time, closes, volatility context)."""

from __future__ import annotations

from datetime import date
from typing import Protocol

from core.system import TradingSystem
from monitoring.sampler import MonitoringSampler
from sim.platform import SimPlatform


class StepMonitor(Protocol):
    def on_step(self, platform: SimPlatform, system: TradingSystem) -> None: ...

    def on_end_of_day(self, day: date, platform: SimPlatform, system: TradingSystem) -> None: ...


class SimMonitor:
    def __init__(self, sampler: MonitoringSampler) -> None:
        self.sampler = sampler

    def on_step(self, platform: SimPlatform, system: TradingSystem) -> None:
        groups = system.book.live()
        if self.sampler.due(platform.now(), groups):  # the account is costly to value: only when due
            self.sampler.on_step(platform.snapshot(), groups, platform.account())

    def on_end_of_day(self, day: date, platform: SimPlatform, system: TradingSystem) -> None:
        self.sampler.on_end_of_day(day, platform.snapshot(), system.book.live(), platform.account())
