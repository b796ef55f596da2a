"""Connects the offline engine's loop to ``monitoring``: each step and each close, the sampler
sees the market, the book and the account (Greeks over time, closes, volatility context), and
after each close the metrics to date are exported to the run's state store."""

from __future__ import annotations

from datetime import date
from typing import Protocol

from core.system import TradingSystem
from monitoring.export import DailyMetricsExporter
from monitoring.performance import expected_win_rates
from monitoring.sampler import MonitoringSampler
from sim.platform import SimPlatform


class StepMonitor(Protocol):
    def on_step(self, platform: SimPlatform, system: TradingSystem) -> None: ...

    def on_end_of_day(self, day: date, platform: SimPlatform, system: TradingSystem) -> None: ...


class SimMonitor:
    def __init__(self, sampler: MonitoringSampler, export_metrics: bool = True) -> None:
        self.sampler = sampler
        self._export = export_metrics
        self.exporter: DailyMetricsExporter | None = None

    def on_step(self, platform: SimPlatform, system: TradingSystem) -> None:
        groups = system.book.live()
        if self.sampler.due(platform.now(), groups):  # the account is costly to value: only when due
            self.sampler.on_step(platform.snapshot(), groups, platform.account())

    def on_end_of_day(self, day: date, platform: SimPlatform, system: TradingSystem) -> None:
        snapshot, account = platform.snapshot(), platform.account()
        self.sampler.on_end_of_day(day, snapshot, system.book.live(), account)
        if not self._export:
            return
        if self.exporter is None:
            settings = system.settings
            self.exporter = DailyMetricsExporter(
                platform.store, settings.starting_cash, expected_win_rates(settings)
            )
        self.exporter.on_close(day, account.net_liquidation, snapshot.price("SPY"), system.book.closed())
