"""Scripted markets and probe strategies for risk scenarios run through the real engine loop.

Why: the risk rules are about rare days (an 8% gap, an early assignment, a broken chain, a half
day).  A synthetic market would need luck to produce them; a ``ScenarioMarket`` produces exactly
the path a scenario needs: SPX (and SPY = SPX / 10) follow a function of time, VIX is fixed or a
function, and SPXW (daily, cash-settled) and SPY (weekly, American, share-settled) option chains
are priced with Black-Scholes at VIX-level volatility each step.  ``quote_hook`` can damage quotes
(stale, crossed) and ``steps_until`` can keep stepping past an early close, as a data feed with bars
after the close would.  ``Probe`` is a minimal configurable strategy; ``run_scenario`` runs the
normal ``sim.engine.run_backtest`` with them and a ``Script`` of engine-side actions (an early
assignment) and keeps every recorded event for assertions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import numpy as np

from assembly import build_system
from core.closing import close_intent
from core.costs import net_mid, net_natural
from core.option_math import bs_greeks
from core.ports import StatePart, StateStore, Strategy, StrategyContext, SystemObserver, TradingCalendar
from core.settings import Settings
from core.system import TradingSystem
from core.types import (
    ExerciseStyle,
    Leg,
    MarketSnapshot,
    OptionChain,
    OptionContract,
    OptionQuote,
    OrderIntent,
    PositionGroup,
    Purpose,
    Right,
    SecurityKind,
    Settlement,
    UnderlyingQuote,
)
from monitoring.alerts import AlertRouter
from persistence.manager import StateManager
from sim.engine import RunResult, run_backtest
from sim.platform import SimPlatform
from sim.recorder import RunRecorder
from sim.store import MemoryStore
from strategies.common import group_mark

_TICK = 0.05


@dataclass(frozen=True)
class _RootSpec:
    underlying: str
    kind: SecurityKind
    style: ExerciseStyle
    settlement: Settlement
    strike_step: float


ROOTS = {
    "SPXW": _RootSpec("SPX", SecurityKind.INDEX_OPTION, ExerciseStyle.EUROPEAN, Settlement.CASH, 5.0),
    "SPY": _RootSpec("SPY", SecurityKind.EQUITY_OPTION, ExerciseStyle.AMERICAN, Settlement.SHARES, 1.0),
}


class ScenarioMarket:
    """A ``sim.engine.MarketSource`` whose SPX path, VIX and quote damage the scenario dictates."""

    def __init__(
        self,
        calendar: TradingCalendar,
        days: Sequence[date],
        spx: Callable[[datetime], float],
        vix: float | Callable[[datetime], float] = 25.0,
        step_minutes: int = 5,
        quote_hook: Callable[[OptionQuote], OptionQuote] | None = None,
        steps_until: time | None = None,
        rate: float = 0.04,
        decay_minutes: int = 15,
    ) -> None:
        self.calendar = calendar
        self.days = [d for d in days if calendar.is_trading_day(d)]
        self.spx, self.vix = spx, vix
        self.step = timedelta(minutes=step_minutes)
        self.quote_hook, self.steps_until, self.rate = quote_hook, steps_until, rate
        self.decay_minutes = decay_minutes

    def trading_days(self) -> list[date]:
        return list(self.days)

    def step_times(self, day: date) -> list[datetime]:
        start, close = self.calendar.session_open(day), self.calendar.session_close(day)
        if start is None or close is None:
            return []
        end = datetime.combine(day, self.steps_until) if self.steps_until else close
        times, t = [], start + self.step
        while t <= end:
            times.append(t)
            t += self.step
        return times

    def snapshot_at(self, t: datetime) -> MarketSnapshot:
        spx = self.spx(t)
        vix = self.vix(t) if callable(self.vix) else self.vix
        open_time = self.calendar.session_open(t.date()) or t
        underlyings = {
            "SPX": UnderlyingQuote("SPX", SecurityKind.INDEX, t, spx, spx, spx),
            "SPY": UnderlyingQuote("SPY", SecurityKind.EQUITY, t, spx / 10, spx / 10 - 0.01, spx / 10 + 0.01),
            "VIX": UnderlyingQuote("VIX", SecurityKind.INDEX, t, vix, vix, vix),
        }
        day_open = {"SPX": self.spx(open_time), "SPY": self.spx(open_time) / 10}
        return MarketSnapshot(t, underlyings, vix, day_open, _Chains(self, t, underlyings, vix))


class _Chains:
    def __init__(
        self, market: ScenarioMarket, t: datetime, underlyings: Mapping[str, UnderlyingQuote], vix: float
    ) -> None:
        self.m, self.t, self.u, self.vol = market, t, underlyings, vix / 100.0
        self._built: dict[tuple[str, date], tuple[OptionChain, dict[tuple[Right, float], OptionQuote]]] = {}

    def expiries(self, root: str) -> tuple[date, ...]:
        if root not in ROOTS:
            return ()
        today = self.t.date()
        days = [today + timedelta(days=i) for i in range(0, 120)]
        if root == "SPY":
            days = [d for d in days if d.weekday() == 4]
        return tuple(d for d in days if self.m.calendar.is_trading_day(d))

    def chain(self, root: str, expiry: date) -> OptionChain | None:
        built = self._build(root, expiry)
        return None if built is None else built[0]

    def quote(self, contract: OptionContract) -> OptionQuote | None:
        built = self._build(contract.root, contract.expiry)
        if built is None:
            return None
        q = built[1].get((contract.right, contract.strike))
        return q if q is not None and q.contract == contract else None

    def _build(
        self, root: str, expiry: date
    ) -> tuple[OptionChain, dict[tuple[Right, float], OptionQuote]] | None:
        key = (root, expiry)
        if key in self._built:
            return self._built[key]
        spec = ROOTS.get(root)
        if spec is None or expiry < self.t.date() or expiry not in self.expiries(root):
            return None
        spot = self.u[spec.underlying].price
        lo = math.floor(spot * 0.85 / spec.strike_step) * spec.strike_step
        strikes = np.arange(lo, spot * 1.15, spec.strike_step)
        # Time to expiry moves in whole ``decay_minutes``: a limit at the natural price set one step
        # earlier can still fill on a quiet market, as it would on a real one.
        priced_at = self.t - timedelta(minutes=self.t.minute % self.m.decay_minutes, seconds=self.t.second)
        years = max((datetime.combine(expiry, time(16, 0)) - priced_at).total_seconds(), 60.0) / (
            365.0 * 86400
        )
        quotes: list[OptionQuote] = []
        for right in (Right.PUT, Right.CALL):
            g = bs_greeks(spot, strikes, years, self.m.rate, 0.0, self.vol, right is Right.CALL)
            for i, k in enumerate(strikes.tolist()):
                contract = OptionContract(
                    root,
                    spec.underlying,
                    right,
                    float(k),
                    expiry,
                    100.0,
                    spec.kind,
                    spec.style,
                    spec.settlement,
                )
                mid = max(float(g.price[i]), 0.0)
                half = max(_TICK / 2, 0.03 * mid)
                bid = max(0.0, math.floor((mid - half) / _TICK) * _TICK)
                ask = max(_TICK, math.ceil((mid + half) / _TICK) * _TICK)
                q = OptionQuote(
                    contract, self.t, round(bid, 2), round(ask, 2), 10, 10, 1000, 5000, spot, self.vol,
                    float(g.delta[i]), float(g.gamma[i]), float(g.theta[i]), float(g.vega[i]),
                )  # fmt: skip
                quotes.append(self.m.quote_hook(q) if self.m.quote_hook else q)
        quotes.sort(key=lambda q: (q.contract.strike, q.contract.right.value))
        chain = OptionChain(root, expiry, spec.underlying, spot, tuple(quotes))
        self._built[key] = (chain, {(q.contract.right, q.contract.strike): q for q in quotes})
        return self._built[key]


@dataclass
class Probe:
    """A minimal strategy: opens one structure (legs by |delta|) while it holds fewer than
    ``max_open`` groups, inside its entry window; closes on a stop or at a time of day."""

    name: str
    legs: tuple[tuple[Right, float, int], ...] = ((Right.PUT, 0.30, -1),)
    root: str = "SPY"
    quantity: int = 1
    min_dte: int = 7
    max_loss_per_unit: float = 1000.0
    window: tuple[time, time] = (time(9, 35), time(15, 55))
    max_open: int = 1
    stop: float | None = None  # close when the loss reaches this multiple of the credit
    close_at: time | None = None
    proposals: list[datetime] = field(default_factory=list)

    def propose(self, snapshot: MarketSnapshot, context: StrategyContext) -> Sequence[OrderIntent]:
        now = snapshot.time
        if (
            not self.window[0] <= now.time() <= self.window[1]
            or len(context.open_groups(self.name)) >= self.max_open
        ):
            return []
        expiry = next(
            (e for e in snapshot.chains.expiries(self.root) if (e - now.date()).days >= self.min_dte), None
        )
        chain = None if expiry is None else snapshot.chains.chain(self.root, expiry)
        if chain is None:
            return []
        legs, quotes = [], []
        for right, delta, ratio in self.legs:
            q = chain.nearest_delta(right, delta)
            if q is None:
                return []
            legs.append(Leg(q.contract, ratio))
            quotes.append(q)
        self.proposals.append(now)
        return [
            OrderIntent(
                group_id=context.new_group_id(self.name), strategy=self.name, purpose=Purpose.OPEN,
                legs=tuple(legs), quantity=self.quantity, reference_price=net_mid(legs, quotes),
                natural_price=net_natural(legs, quotes), max_loss_per_unit=self.max_loss_per_unit,
                reason="entry", created=now,
            )
        ]  # fmt: skip

    def manage(
        self, snapshot: MarketSnapshot, group: PositionGroup, context: StrategyContext
    ) -> OrderIntent | None:
        if self.close_at is not None and snapshot.time.time() >= self.close_at:
            return close_intent(group, snapshot, "time_exit")
        mark = group_mark(group, snapshot)
        losing = (
            mark is not None
            and group.credit > 0
            and -(group.credit + mark) >= (self.stop or 0) * group.credit
        )
        if self.stop is not None and losing:
            return close_intent(group, snapshot, "stop_loss")
        return None


@dataclass
class Script:
    """Engine-side actions at given times (a ``SystemObserver``): each runs once, after the
    system's step at or past its time."""

    actions: list[tuple[datetime, Callable[[SimPlatform, TradingSystem], None]]] = field(default_factory=list)
    platform: SimPlatform | None = None

    def after_step(self, system: TradingSystem) -> None:
        assert self.platform is not None
        now = self.platform.now()
        due = [a for a in self.actions if a[0] <= now]
        self.actions = [a for a in self.actions if a[0] > now]
        for _, action in due:
            action(self.platform, system)

    def after_end_of_day(self, day: date, system: TradingSystem) -> None:
        return None


class ScenarioRecorder(RunRecorder):
    """A run recorder that also keeps every event in memory, for assertions."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[str, datetime, dict[str, Any]]] = []

    def record(self, kind: str, time: datetime, payload: Mapping[str, Any]) -> None:
        super().record(kind, time, payload)
        self.events.append((kind, time, dict(payload)))

    def of(self, kind: str, **match: Any) -> list[tuple[datetime, dict[str, Any]]]:
        return [
            (t, p) for k, t, p in self.events if k == kind and all(p.get(a) == b for a, b in match.items())
        ]


@dataclass
class ScenarioResult:
    run: RunResult
    recorder: ScenarioRecorder

    @property
    def system(self) -> TradingSystem:
        assert self.run.system is not None
        return self.run.system

    @property
    def platform(self) -> SimPlatform:
        assert self.run.platform is not None
        return self.run.platform


def run_scenario(
    settings: Settings,
    market: ScenarioMarket,
    strategies: Iterable[Strategy],
    script: Script | None = None,
    store: StateStore | None = None,
) -> ScenarioResult:
    """Run ``market`` through the normal engine loop with ``strategies`` instead of the configured ones.
    With a ``store`` to inspect, the run is kill-safe (its world saved in memory beside it), so it
    journals as one does; without, it is a plain run."""
    chosen = list(strategies)

    script = script or Script()

    def build(  # sim.engine.Build: assembly's system with the scenario's strategies
        platform: SimPlatform,
        settings: Settings,
        sink: RunRecorder,
        state: StateManager | None = None,
        observers: Sequence[SystemObserver] = (),
        parts: Sequence[StatePart[Any]] = (),
        router: AlertRouter | None = None,
    ) -> TradingSystem:
        script.platform = platform
        system = build_system(platform, settings, sink, state, observers, parts, router)
        system.strategies = {st.name: st for st in chosen}
        return system

    days = market.trading_days()
    run_settings = settings.with_overrides(start_date=days[0].isoformat(), end_date=days[-1].isoformat())
    recorder = ScenarioRecorder()
    run = run_backtest(
        run_settings,
        market,
        market.calendar,
        store or MemoryStore(),
        recorder,
        observers=[script],
        build=build,
        world_store=MemoryStore() if store is not None else None,
    )
    return ScenarioResult(run, recorder)
