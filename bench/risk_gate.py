"""Pre-trade gate decision time with 200 open positions (target p99 < 1 ms on one core).

The portfolio: 200 four-leg condors spread over five strategies and three correlation groups
(SPXW, /ES and /GC options), margin from the sim's CBOE/SPAN-style model, Greeks from the quotes.
Groups share 60 campaigns (as LT112 parts and IPMCC legs do); limits are set wide so every decision
runs every rule to the end (the slowest path).

Each of 360 five-minute steps (a week) has new quotes: the portfolio view (Greeks of all 800 legs) is built first, as
the risk monitors do at the start of every step, then 5 entries are decided against it (correlation
counts, the strategy's buying power, the trade's Greeks on top).  The strategy's buying power is
re-priced with the margin model when its positions change or every 15 minutes of market time.
Times are thread CPU time (the machine running the benchmark may be shared); wall p99 is noted.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from core.portfolio_greeks import BetaTable
from core.settings import Settings
from core.types import (
    AccountState,
    ExerciseStyle,
    GroupStatus,
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
from risk.gate import EntryGate
from risk.portfolio import PortfolioCache
from risk.state import RiskState
from sim.broker.margin import SimMargin
from testing.factories import WeekdayCalendar

POSITIONS = 200
DECISIONS_PER_STEP = 5
NOW = datetime(2025, 3, 3, 10, 0)
EXPIRY = date(2025, 3, 21)
STRATEGIES = ("zero_dte", "lt112", "strangle", "ipmcc", "leap_ladder")


class _Chains:
    def __init__(self, chains: list[OptionChain]) -> None:
        self._chains = {(c.root, c.expiry): c for c in chains}
        self._quotes = {q.contract: q for c in chains for q in c.quotes}

    def expiries(self, root: str) -> tuple[date, ...]:
        return tuple(sorted(e for r, e in self._chains if r == root))

    def chain(self, root: str, expiry: date) -> OptionChain | None:
        return self._chains.get((root, expiry))

    def quote(self, contract: OptionContract) -> OptionQuote | None:
        return self._quotes.get(contract)


class _Context:
    """The ``core.ports.StrategyContext`` port over a fixed book."""

    def __init__(self, account: AccountState, groups: list[PositionGroup], margin: SimMargin) -> None:
        self.account, self._groups, self._margin = account, groups, margin
        self.calendar = WeekdayCalendar()

    def open_groups(self, strategy: str | None = None) -> list[PositionGroup]:
        return self._groups if strategy is None else [g for g in self._groups if g.strategy == strategy]

    def groups_opened_on(self, day: date, strategy: str) -> list[PositionGroup]:
        return []

    def closed_groups(self, strategy: str) -> list[PositionGroup]:
        return []

    def new_group_id(self, strategy: str) -> str:
        return f"{strategy}-new"

    def margin_required(self, legs: Sequence[Leg], quantity: int, snapshot: MarketSnapshot) -> float:
        return self._margin.margin_required(legs, quantity, snapshot)

    def skip(self, strategy: str, code: str, message: str) -> None:
        raise AssertionError(f"the benchmark's entry was skipped: {strategy} {code} {message}")


def _base_chain(now: datetime, spot: float = 5000.0) -> OptionChain:
    """A 0DTE SPXW chain: strikes every 5 points, deltas and prices falling away from the money."""
    quotes = []
    for k in range(4850, 5155, 5):
        call_delta = max(0.005, min(0.995, 0.5 - 0.42 * (k - spot) / 100.0))
        for right, delta in ((Right.CALL, call_delta), (Right.PUT, call_delta - 1.0)):
            mid = max(0.10, 12.0 * abs(delta) ** 1.5)
            half = max(0.025, 0.04 * mid)
            contract = OptionContract("SPXW", "SPX", right, float(k), EXPIRY, 100.0, SecurityKind.INDEX_OPTION,
                                      ExerciseStyle.EUROPEAN, Settlement.CASH)  # fmt: skip
            quotes.append(OptionQuote(contract, now, round(mid - half, 2), round(mid + half, 2), 10, 10, 500, 1000,
                                      spot, 0.25, delta, 0.001, -1.0, 0.5))  # fmt: skip
    return OptionChain("SPXW", EXPIRY, "SPX", spot, tuple(quotes))


def _chains(now: datetime) -> list[OptionChain]:
    base = _base_chain(now)
    out = [base]
    for root, underlying, kind, mult in (("ES", "ESM25", SecurityKind.FUTURE_OPTION, 50.0),
                                         ("GC", "GCM25", SecurityKind.FUTURE_OPTION, 100.0)):  # fmt: skip
        quotes = tuple(
            dataclasses.replace(q, contract=dataclasses.replace(q.contract, root=root, underlying=underlying,
                                                                kind=kind, multiplier=mult))
            for q in base.quotes
        )  # fmt: skip
        out.append(dataclasses.replace(base, root=root, underlying=underlying, quotes=quotes))
    return out


def _condor(chain: OptionChain, offset: int) -> tuple[Leg, ...]:
    puts = [q for q in chain.quotes if q.contract.right is Right.PUT]
    calls = [q for q in chain.quotes if q.contract.right is Right.CALL]
    i = 10 + offset % 10
    return (
        Leg(puts[i].contract, -1), Leg(puts[i - 4].contract, 1),
        Leg(calls[-i].contract, -1), Leg(calls[-i + 4].contract, 1),
    )  # fmt: skip


def _snapshot(now: datetime, chains: list[OptionChain]) -> MarketSnapshot:
    underlyings = {"SPX": UnderlyingQuote("SPX", SecurityKind.INDEX, now, 5000.0, 5000.0, 5000.0)}
    return MarketSnapshot(now, underlyings, 24.0, {"SPX": 5000.0}, _Chains(chains))


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1e3, ordered[int(0.99 * (len(ordered) - 1))] * 1e3


def run() -> list[dict]:
    wide = Settings().with_overrides(
        risk_correlation_max_per_group=(100,) * 5, risk_equity_index_combined_max=(100,) * 5,
        risk_strategy_bp_default_share=1.0, risk_strategy_bp_shares=("zero_dte:1.0",),
        risk_max_delta_nlv=10.0, risk_max_gamma_nlv=10.0, risk_max_short_vega_nlv=10.0, risk_max_theta_nlv=10.0,
    )  # fmt: skip
    chains = _chains(NOW)
    groups = [
        PositionGroup(
            f"g{i}",
            STRATEGIES[i % 5],
            _condor(chains[i % 3], i),
            1 + i % 3,
            GroupStatus.OPEN,
            campaign=f"c{i % 60}",
        )
        for i in range(POSITIONS)
    ]
    account = AccountState(NOW, 50_000_000.0, 50_000_000.0, 1_000_000.0, {})
    context = _Context(account, groups, SimMargin())
    intent = OrderIntent("zero_dte-new", "zero_dte", Purpose.OPEN, _condor(chains[0], 3), 2, -1.0, -1.2, 800.0,
                         "entry", NOW)  # fmt: skip
    portfolio = PortfolioCache(
        BetaTable.from_settings(wide)
    )  # shared with the gate, as the monitors share it
    gate = EntryGate(wide, WeekdayCalendar(), False, RiskState(), portfolio=portfolio)
    snap = _snapshot(NOW, chains)
    first = gate.evaluate(intent, snap, context)
    assert first.approved, f"the bench must run every rule, got {first}"
    times = [datetime(2025, 3, day, 10) + timedelta(minutes=5 * k) for day in range(3, 8) for k in range(72)]
    steps = [_snapshot(t, _chains(t)) for t in times]
    decisions: list[float] = []
    builds: list[float] = []
    wall: list[float] = []
    for fresh in steps:
        # What the monitors do at the start of each step: build the portfolio view (Greeks).
        t = _clock()
        portfolio.view(context.open_groups(), fresh).greeks()
        builds.append(_clock() - t)
        for _ in range(DECISIONS_PER_STEP):
            t, w = _clock(), time.perf_counter()
            decision = gate.evaluate(intent, fresh, context)
            decisions.append(_clock() - t)
            wall.append(time.perf_counter() - w)
            assert decision.approved, decision
    d50, d99 = _percentiles(decisions)
    b50, b99 = _percentiles(builds)
    _, w99 = _percentiles(wall)
    note = f"{POSITIONS} open condors, 5 strategies, SimMargin, every rule run; thread CPU time"
    return [
        {"name": "risk gate: decision p50 (200 positions)", "value": d50, "unit": "ms", "target": None, "note": note},
        {"name": "risk gate: decision p99 (200 positions)", "value": d99, "unit": "ms", "target": "< 1 ms",
         "note": f"wall-clock p99 {w99:.3f} ms on this (shared) machine"},
        {"name": "risk gate: portfolio view per step p50", "value": b50, "unit": "ms", "target": None,
         "note": "Greeks of 800 legs, once per step, shared by monitors and gate"},
        {"name": "risk gate: portfolio view per step p99", "value": b99, "unit": "ms", "target": None, "note": ""},
    ]  # fmt: skip


def _clock() -> float:
    """CPU time of this thread: what the decision costs, not how often other processes preempt it."""
    return time.thread_time()
