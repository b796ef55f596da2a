"""Execution throughput and per-event latency with 200 order groups open at once.

Each group is a 4-leg condor of 2 units that goes through the path faults make common: sent,
acknowledged, half its legs filled, repriced (cancel, confirm), repaired and filled.  Every
transition is saved to an in-memory state store, as it would be to LEAN's ObjectStore.
Targets (one core): p99 per event < 5 ms, on_step with 200 working groups < 20 ms.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from core.ports import Severity
from core.settings import Settings
from core.types import (
    AccountState,
    ComboOrder,
    ExerciseStyle,
    Holding,
    Leg,
    LegFill,
    MarketSnapshot,
    OptionChain,
    OptionContract,
    OptionQuote,
    OrderEvent,
    OrderIntent,
    OrderStatus,
    Purpose,
    Right,
    SecurityKind,
    Settlement,
)
from execution.order_manager import OrderManager
from testing.factories import WeekdayCalendar

GROUPS = 200


class _Chains:
    def __init__(self, quotes: dict[str, OptionQuote]) -> None:
        self.quotes = quotes

    def expiries(self, root: str) -> tuple[date, ...]:
        return ()

    def chain(self, root: str, expiry: date) -> OptionChain | None:
        return None

    def quote(self, contract: OptionContract) -> OptionQuote | None:
        return self.quotes.get(contract.symbol)


class _Store:
    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}

    def save(self, key: str, data: bytes) -> None:
        self.data[key] = data

    def load(self, key: str) -> bytes | None:
        return self.data.get(key)


class _Platform:
    """The ``core.ports.Platform`` port: records orders; the benchmark plays the broker's events itself."""

    is_live = False

    def __init__(self, snap: MarketSnapshot) -> None:
        self.snap, self.store = snap, _Store()
        self.calendar = WeekdayCalendar()
        self.sent: dict[str, ComboOrder] = {}
        self.positions: dict[str, float] = {}

    def now(self) -> datetime:
        return self.snap.time

    def snapshot(self) -> MarketSnapshot:
        return self.snap

    def account(self) -> AccountState:
        holdings = {s: Holding(s, q, 0.0) for s, q in self.positions.items() if q}
        return AccountState(self.snap.time, 1e7, 1e7, 0.0, holdings)

    def margin_required(self, legs: Sequence[Leg], quantity: int, snapshot: MarketSnapshot) -> float:
        return 0.0

    def submit_combo(self, order: ComboOrder) -> None:
        self.sent[order.tag] = order

    def cancel(self, tag: str) -> None:
        pass

    def liquidate(self, symbol: str, quantity: float, tag: str) -> None:
        raise AssertionError("the benchmark holds no stock or futures to flatten")

    def open_order_tags(self) -> list[str]:
        return list(self.sent)

    def known_order_tags(self) -> None:
        return None

    def pending_events(self) -> tuple[OrderEvent, ...]:
        return ()  # the benchmark hands every event to the manager itself

    def consumed(self, event: OrderEvent) -> None:
        pass

    def notify(self, severity: Severity, title: str, message: str) -> None:
        pass

    def log(self, message: str) -> None:
        pass


def _contract(strike: float, right: Right, expiry: date) -> OptionContract:
    return OptionContract(
        "SPXW",
        "SPX",
        right,
        strike,
        expiry,
        100.0,
        SecurityKind.INDEX_OPTION,
        ExerciseStyle.EUROPEAN,
        Settlement.CASH,
    )


def _setup() -> tuple[_Platform, OrderManager, list[OrderIntent]]:
    now = datetime(2025, 3, 7, 10, 30)
    quotes: dict[str, OptionQuote] = {}
    intents = []
    for i in range(GROUPS):
        expiry = now.date() + timedelta(days=i % 40)
        legs = []
        for right, strike, ratio in (
            (Right.PUT, 4800, 1),
            (Right.PUT, 4850, -1),
            (Right.CALL, 5150, -1),
            (Right.CALL, 5200, 1),
        ):
            c = _contract(strike + 5 * (i // 40), right, expiry)
            mid = 1.0 if ratio > 0 else 2.0
            quotes[c.symbol] = OptionQuote(
                c, now, mid - 0.05, mid + 0.05, 10, 10, 100, 1000, 5000.0, 0.2, 0.1, 0.001, -1.0, 0.5
            )
            legs.append(Leg(c, ratio))
        intents.append(
            OrderIntent(
                f"bench-{i:03d}", "bench", Purpose.OPEN, tuple(legs), 2, -2.0, -1.8, 500.0, "bench", now
            )
        )
    snap = MarketSnapshot(now, {}, 20.0, {}, _Chains(quotes))
    platform = _Platform(snap)
    return platform, OrderManager(Settings(), platform, jitter_seed=0), intents


def _fill(platform: _Platform, tag: str, leg_indices: list[int] | None = None) -> OrderEvent:
    order = platform.sent[tag]
    fills = []
    for i, leg in enumerate(order.legs):
        if leg_indices is not None and i not in leg_indices:
            continue
        q = platform.snap.chains.quote(leg.contract)
        assert q is not None, f"the benchmark quoted every leg it built: {leg.contract.symbol}"
        qty = leg.ratio * order.quantity
        fills.append(LegFill(leg.contract, qty, q.ask if qty > 0 else q.bid, abs(qty) * 1.0))
        platform.positions[leg.contract.symbol] = platform.positions.get(leg.contract.symbol, 0.0) + qty
    done = leg_indices is None
    if done:
        platform.sent.pop(tag)
    return OrderEvent(
        tag, OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED, platform.now(), tuple(fills)
    )


def run() -> list[dict]:
    platform, om, intents = _setup()
    latencies: list[float] = []
    began = time.perf_counter()
    for intent in intents:
        t = time.perf_counter()
        om.submit(intent, platform.snap)
        latencies.append(time.perf_counter() - t)

    def deliver(event: OrderEvent) -> None:
        t = time.perf_counter()
        om.on_order_event(event)
        latencies.append(time.perf_counter() - t)

    first_tags = list(platform.sent)
    for tag in first_tags:
        deliver(OrderEvent(tag, OrderStatus.SUBMITTED, platform.now()))
        deliver(_fill(platform, tag, [0, 1]))
    platform.snap = dataclasses.replace(platform.snap, time=platform.snap.time + timedelta(minutes=5))
    step_times = []
    t = time.perf_counter()
    om.on_step(platform.snap)  # 200 ladder timers fire: cancel requests
    step_times.append(time.perf_counter() - t)
    for tag in first_tags:
        platform.sent.pop(tag, None)
        deliver(OrderEvent(tag, OrderStatus.CANCELLED, platform.now()))  # -> repair order sent
    for _ in range(5):  # 200 repair orders working: timers checked, nothing due yet
        t = time.perf_counter()
        om.on_step(platform.snap)
        step_times.append(time.perf_counter() - t)
    for tag in [t for t in platform.sent if t not in first_tags]:
        deliver(OrderEvent(tag, OrderStatus.SUBMITTED, platform.now()))
        deliver(_fill(platform, tag))
    wall = time.perf_counter() - began
    assert all(g.terminal for g in om.groups.values()), "every group should have filled"
    assert om.residual_exposure() == []
    ordered = sorted(latencies)
    p50 = statistics.median(ordered) * 1e3
    p99 = ordered[int(0.99 * (len(ordered) - 1))] * 1e3
    return [
        {"name": "execution: events per second (200 groups)", "value": len(latencies) / wall, "unit": "events/s",
         "target": "> 1,000", "note": f"{len(latencies)} submits/events incl. repair, state saved each transition"},
        {"name": "execution: per-event latency p50", "value": p50, "unit": "ms", "target": "< 1 ms", "note": ""},
        {"name": "execution: per-event latency p99", "value": p99, "unit": "ms", "target": "< 5 ms", "note": ""},
        {"name": "execution: on_step with 200 working groups", "value": max(step_times) * 1e3, "unit": "ms",
         "target": "< 20 ms", "note": "worst of 6 steps (cancel requests, then idle timers)"},
    ]  # fmt: skip
