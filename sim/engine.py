"""The offline engine's main loop: walk the sessions step by step, let the broker fill, let the
system decide, deliver order events, settle expiries after each close."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from assembly import build_system
from core.ports import StateStore, TradingCalendar
from core.settings import Settings
from core.system import TradingSystem
from core.types import MarketSnapshot
from sim.broker import SimMargin, TastytradeFees
from sim.broker.faults import FaultConfig, make_broker
from sim.monitoring_hooks import StepMonitor
from sim.platform import SimPlatform
from sim.recorder import RunRecorder


class MarketSource(Protocol):
    def trading_days(self) -> list[date]: ...

    def step_times(self, day: date) -> list[datetime]: ...

    def snapshot_at(self, t: datetime) -> MarketSnapshot: ...


@dataclass(frozen=True)
class EquityPoint:
    day: date
    net_liquidation: float
    cash: float
    buying_power_used: float
    vix: float | None = None  # at the close: the buying-power cap of the day depends on it


@dataclass
class RunResult:
    recorder: RunRecorder
    equity: list[EquityPoint] = field(default_factory=list)
    steps: int = 0
    system: TradingSystem | None = None
    platform: SimPlatform | None = None


def run_backtest(
    settings: Settings,
    market: MarketSource,
    calendar: TradingCalendar,
    store: StateStore,
    recorder: RunRecorder,
    progress: Callable[[Iterable[date]], Iterable[date]] = lambda days: days,
    monitor: StepMonitor | None = None,
    faults: FaultConfig | None = None,
    build: Callable[[SimPlatform, Settings, RunRecorder], TradingSystem] = build_system,
) -> RunResult:
    margin = SimMargin()
    broker = make_broker(settings.starting_cash, TastytradeFees(), margin, faults)
    platform = SimPlatform(calendar, store, broker, margin)
    system = build(platform, settings, recorder)  # scenarios swap in their own strategies
    result = RunResult(recorder, system=system, platform=platform)
    start, end = date.fromisoformat(settings.start_date), date.fromisoformat(settings.end_date)
    days = [d for d in market.trading_days() if start <= d <= end]
    started = False
    for day in progress(days):
        last: MarketSnapshot | None = None
        for t in market.step_times(day):
            last = market.snapshot_at(t)
            platform.advance(last)
            if not started:
                system.on_start()
                started = True
            _deliver(system, platform, broker.process(last))
            system.on_step()
            _deliver(system, platform, [])
            if monitor is not None:
                monitor.on_step(platform, system)
            result.steps += 1
        if last is None:
            continue
        broker.settle_expiries(day, last)
        prices = {symbol: quote.price for symbol, quote in last.underlyings.items()}
        system.on_expiry(day, prices)
        system.on_end_of_day(day)
        if monitor is not None:
            monitor.on_end_of_day(day, platform, system)
        account = broker.account(last)
        result.equity.append(
            EquityPoint(day, account.net_liquidation, account.cash, account.buying_power_used, last.vix)
        )
    recorder.close()
    return result


def _deliver(system: TradingSystem, platform: SimPlatform, events: list) -> None:
    """Hand events to the system until none are pending (handling one may cause another)."""
    platform.queue(events)
    for _ in range(1000):
        pending = platform.drain()
        if not pending:
            return
        for event in pending:
            system.on_order_event(event)
    raise RuntimeError("order events kept generating new events: a feedback loop in execution")
