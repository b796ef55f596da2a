"""The offline engine's main loop: walk the sessions step by step, let the broker fill, let the
system take its step through ``core.loop.EngineLoop`` (the loop LEAN drives too), settle expiries
after each close.

One loop for every run.  A plain backtest keeps the world (the simulated brokerage and the market
clock, ``sim.world``) in memory; a kill-safe run (``--state-dir``) gives it a store and saves it
at every broker action, and the same loop then resumes at the step it stopped: an interrupted
step or event is delivered again and the system, recovered from its journal to its last stable
point and reconciled with the broker, re-derives the same decisions (orders the broker already
has are re-attached, never sent twice).  The market is a pure function of its configuration and
the time, so a resumed run sees exactly the quotes the first run saw.

A plain run can never resume (nothing could reconcile with its in-memory broker), so nothing reads
its journal: it journals nothing and snapshots its state at each end of day only
(``StateManager(recoverable=False)``): the same decisions, less work.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from assembly import build_system
from core.loop import EngineLoop, Listener
from core.ports import StatePart, StateStore, SystemObserver, TradingCalendar
from core.settings import Settings
from core.system import TradingSystem
from core.types import MarketSnapshot
from monitoring.alerts import AlertRouter
from persistence.manager import StateManager
from sim.broker import SimMargin, TastytradeFees
from sim.broker.faults import FaultConfig, make_broker
from sim.crash import CrashPoints, no_crash
from sim.platform import SimPlatform
from sim.recorder import RunLogState, RunRecorder
from sim.world import EquityPoint, World

__all__ = ["EquityPoint", "MarketSource", "RunResult", "run_backtest"]


class MarketSource(Protocol):
    def trading_days(self) -> list[date]: ...

    def step_times(self, day: date) -> list[datetime]: ...

    def snapshot_at(self, t: datetime) -> MarketSnapshot: ...


class Build(Protocol):
    def __call__(
        self,
        platform: SimPlatform,
        settings: Settings,
        sink: RunRecorder,
        state: StateManager | None = ...,
        observers: Sequence[SystemObserver] = ...,
        parts: Sequence[StatePart[Any]] = ...,
        router: AlertRouter | None = ...,
    ) -> TradingSystem: ...


Monitor = Callable[[SimPlatform, RunRecorder], tuple[AlertRouter, SystemObserver]]


@dataclass
class RunResult:
    recorder: RunRecorder
    equity: list[EquityPoint] = field(default_factory=list)
    steps: int = 0
    system: TradingSystem | None = None
    platform: SimPlatform | None = None
    resumed: bool = False  # continued a saved world


def run_backtest(
    settings: Settings,
    market: MarketSource,
    calendar: TradingCalendar,
    store: StateStore,
    recorder: RunRecorder,
    progress: Callable[[Iterable[date]], Iterable[date]] = lambda days: days,
    observers: Sequence[SystemObserver] = (),
    monitor: Monitor | None = None,
    faults: FaultConfig | None = None,
    build: Build = build_system,
    world_store: StateStore | None = None,
    crash: Callable[[str], None] = no_crash,
    identity: Mapping[str, str] | None = None,
    listeners: Sequence[Listener] = (),
) -> RunResult:
    """Run (or, with a ``world_store`` holding a saved world, resume) the backtest.  ``store`` is
    the trading system's state store; ``identity`` ties a saved world to its run; ``monitor``
    builds the alert router and monitoring observer once the platform exists; ``listeners`` hear
    the loop's phases."""
    margin = SimMargin()
    broker = make_broker(settings.starting_cash, TastytradeFees(), margin, faults)
    platform = SimPlatform(calendar, store, broker, margin, crash)
    world = World(world_store, broker, platform, identity or {})
    resumed = world.load()
    state = StateManager(store, recoverable=world_store is not None)  # a plain run cannot resume
    recorder.begin(fresh=not (resumed or state.has_saved_state()))
    router, watchers = None, list(observers)
    if monitor is not None:
        router, observer = monitor(platform, recorder)
        watchers.append(observer)
    system = build(
        platform,
        settings,
        recorder,
        state=state,
        observers=watchers,
        parts=(StatePart("run_log", RunLogState, recorder, lambda: recorder.version),),
        router=router,
    )
    start, end = date.fromisoformat(settings.start_date), date.fromisoformat(settings.end_date)
    days = [d for d in market.trading_days() if start <= d <= end]
    world.check_cursor(len(days), lambda i: market.step_times(days[i]))
    cursor = world.cursor

    def mark(phase: str) -> None:  # saved with the next broker action or consumed event
        if phase not in ("stepping", "stepped"):
            return
        if phase == "stepped":
            crash("step.done")
        cursor.phase = phase

    loop = EngineLoop(system)
    for listener in (mark, *listeners):
        loop.hear(listener)

    first = cursor.day
    for index, day in enumerate(progress(days[first:]), start=first):
        times = market.step_times(day)
        last: MarketSnapshot | None = None
        for i in range(cursor.step, len(times)):
            last = market.snapshot_at(times[i])
            platform.advance(last)
            loop.start()
            broker.account(last)  # marks follow every step, replayed ones included
            if cursor.phase == "start":
                events = broker.process(last)
                cursor.phase = "processed"
                if events:
                    platform.queue(events)
                    world.save()
            # Events are delivered in the order they were produced: the broker's fills before the
            # system's step, the answers to the step's own orders after it.  A step resumed past
            # its first delivery ("stepping", saved with any order the step sent) skips it.
            loop.step(deliver_first=cursor.phase == "processed")
            cursor.step, cursor.phase, cursor.steps = i + 1, "start", cursor.steps + 1
        if not times:
            cursor.day, cursor.step = index + 1, 0
            continue
        if last is None:  # resumed inside the end of the day
            last = market.snapshot_at(times[-1])
            platform.advance(last)
            loop.start()
        if cursor.phase != "settled":
            broker.settle_expiries(day, last)
            cursor.phase = "settled"
            world.save()
        loop.end_of_day(day, {s: q.price for s, q in last.underlyings.items()})
        account = broker.account(last)
        world.equity.append(
            EquityPoint(day, account.net_liquidation, account.cash, account.buying_power_used, last.vix)
        )
        cursor.day, cursor.step, cursor.phase = index + 1, 0, "start"
        world.save()
        if isinstance(crash, CrashPoints):
            crash.day_done(cursor.steps)
    if days and market.step_times(days[-1]):  # resumed after the last day: recover only
        platform.advance(market.snapshot_at(market.step_times(days[-1])[-1]))
        loop.start()
    recorder.close()
    return RunResult(recorder, world.equity, cursor.steps, system, platform, resumed)
