"""The gate's portfolio rules: breaker, halts, pauses, reduced size, EXTREME regime, budgets,
correlation, Greeks after the trade, stuck quotes, and a risk event for every block."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta

from core.settings import Settings
from core.types import GroupStatus, Leg, OptionChain, PositionGroup, Purpose, Right
from risk.breaker import Trip
from risk.events import Action, RiskLog
from risk.gate import EntryGate
from risk.state import RiskState
from risk.strategy_guard import StrategyHealth
from strategies.zero_dte import ZeroDteIronCondor
from testing.factories import FakeContext, WeekdayCalendar, account, friday, snapshot, spxw, zero_dte_chain

S = Settings()
# The rules below are judged alone: the stress limit has its own tests (test_gate_stress.py).
NO_STRESS = S.with_overrides(risk_max_stress_nlv=10.0)


class Sink:
    def __init__(self) -> None:
        self.events: list[tuple[str, datetime, dict]] = []

    def record(self, kind, time, payload) -> None:
        self.events.append((kind, time, dict(payload)))


def _setup(settings: Settings = S, vix: float = 24.0, now: datetime | None = None, overnight: bool = False):
    """A 0DTE condor intent; ``overnight``: the same condor expiring a week later (held overnight,
    so under the correlation caps and every Greeks limit)."""
    now = now or friday()
    chain = zero_dte_chain(now)
    (intent,) = ZeroDteIronCondor(S).propose(snapshot(now, [chain], vix=24.0), FakeContext(account(now=now)))
    if overnight:
        chain, intent = (
            _a_week_later(chain),
            dataclasses.replace(
                intent,
                legs=tuple(dataclasses.replace(leg, contract=_later(leg.contract)) for leg in intent.legs),
            ),
        )
    state, sink = RiskState(), Sink()
    gate = EntryGate(settings, WeekdayCalendar(), False, state, RiskLog(sink))
    return gate, intent, snapshot(now, [chain], vix=vix), state, sink


def _later(contract):
    return dataclasses.replace(contract, expiry=contract.expiry + timedelta(days=7))


def _a_week_later(chain: OptionChain) -> OptionChain:
    quotes = tuple(dataclasses.replace(q, contract=_later(q.contract)) for q in chain.quotes)
    return OptionChain(
        chain.root, chain.expiry + timedelta(days=7), chain.underlying, chain.underlying_price, quotes
    )


class CountingContext(FakeContext):
    """Margin $500 per contract, so a strategy's aggregated legs cost what its groups do."""

    def margin_required(self, legs, quantity, snapshot) -> float:
        return 500.0 * quantity * sum(abs(leg.ratio) for leg in legs)


def _held(legs, strategy: str, gid: str, quantity: int = 1, status=GroupStatus.OPEN) -> PositionGroup:
    return PositionGroup(gid, strategy, tuple(legs), quantity, status)


def test_a_tripped_breaker_blocks_entries_and_records_a_risk_event_with_values():
    gate, intent, snap, state, sink = _setup()
    state.breaker.observe(snap.time - timedelta(hours=1), 100_000, S)
    state.breaker.observe(snap.time, 94_000, S)
    decision = gate.evaluate(intent, snap, FakeContext(account(nlv=94_000, now=snap.time)))
    assert decision.code == "breaker_loss_daily"
    kind, when, payload = sink.events[-1]
    assert (kind, when, payload["action"], payload["rule"]) == (
        "risk_event",
        snap.time,
        "block_entry",
        decision.code,
    )
    assert payload["values"]["nlv"] == 94_000 and payload["strategy"] == "zero_dte"


def test_exits_pass_whatever_is_tripped():
    gate, intent, snap, state, _ = _setup()
    state.breaker.trips["loss_daily"] = Trip("loss_daily", snap.time.date().isoformat(), "x", 0.05, 0.05)
    state.jumps.halted_until = snap.time + timedelta(hours=1)
    closing = dataclasses.replace(intent, purpose=Purpose.CLOSE)
    assert gate.evaluate(closing, snap, FakeContext(account(now=snap.time))).approved


def test_jump_halt_and_strategy_pause_block_with_their_own_codes():
    gate, intent, snap, state, _ = _setup()
    state.jumps.halted_until, state.jumps.reason = snap.time + timedelta(minutes=1), "SPX -6%"
    assert gate.evaluate(intent, snap, FakeContext(account(now=snap.time))).code == "dq_underlying_jump"
    state.jumps.halted_until = None
    for _ in range(3):
        state.guard.on_trade_closed("zero_dte", -10, snap.time - timedelta(days=1), S, WeekdayCalendar())
    assert gate.evaluate(intent, snap, FakeContext(account(now=snap.time))).code == "strategy_paused"


def test_reduced_size_approves_fewer_units_and_says_so():
    gate, intent, snap, state, sink = _setup()
    state.guard.health.setdefault("zero_dte", StrategyHealth())
    state.guard.health["zero_dte"].underperforming = True
    big = dataclasses.replace(intent, quantity=2)
    decision = gate.evaluate(big, snap, FakeContext(account(now=snap.time)))
    assert decision.approved and decision.quantity == 1 and decision.code == "reduced_size"
    assert sink.events[-1][2]["action"] == Action.RESIZE_ENTRY.value
    one = dataclasses.replace(intent, quantity=1)
    assert gate.evaluate(one, snap, FakeContext(account(now=snap.time))).quantity is None, (
        "never below one unit"
    )


def test_extreme_regime_allows_put_side_selling_only():
    gate, intent, snap, _, _ = _setup(vix=35.0)
    ctx = FakeContext(account(now=snap.time))
    assert gate.evaluate(intent, snap, ctx).code == "regime_extreme_calls"
    puts_only = dataclasses.replace(
        intent, legs=tuple(leg for leg in intent.legs if not leg.contract.is_call)
    )
    assert gate.evaluate(puts_only, snap, ctx).code != "regime_extreme_calls"
    unknown = dataclasses.replace(snap, vix=None)
    assert gate.evaluate(puts_only, unknown, ctx).code == "dq_vix_invalid", "unknown VIX: no entry at all"


def test_strategy_budget_counts_the_strategy_s_open_positions():
    wide = S.with_overrides(
        risk_correlation_max_per_group=(20,) * 5,
        risk_equity_index_combined_max=(20,) * 5,
        risk_max_theta_nlv=1.0,
        risk_max_stress_nlv=10.0,
    )
    gate, intent, snap, _, _ = _setup(wide)
    held = [_held(intent.legs, "zero_dte", f"z{i}") for i in range(8)]  # 8 x $2,000 margin
    ctx = CountingContext(account(now=snap.time), groups=held)
    # budget 25% x 80% x $100k = $20,000; 8 held units + 2 new = $20,000 -> fits; 9 held -> not
    assert gate.evaluate(intent, snap, ctx).approved
    ctx = CountingContext(account(now=snap.time), groups=[*held, _held(intent.legs, "zero_dte", "z9")])
    decision = gate.evaluate(intent, snap, ctx)
    assert decision.code == "strategy_budget" and "$22,000" in decision.message
    others = [_held(intent.legs, "lt112", f"l{i}") for i in range(9)]
    assert gate.evaluate(intent, snap, CountingContext(account(now=snap.time), groups=others)).approved


def test_correlation_caps_by_phase_and_regime_and_the_combined_equity_index_cap():
    gate, intent, snap, _, _ = _setup(NO_STRESS, overnight=True)
    intent = dataclasses.replace(intent, quantity=1)
    leg = intent.legs[0]
    two = [_held([leg], "lt112", "a"), _held([leg], "lt112", "b")]
    ctx = lambda groups, nlv=100_000: FakeContext(account(nlv=nlv, now=snap.time), groups=groups)  # noqa: E731
    assert gate.evaluate(intent, snap, ctx(two)).approved, "phase 4: 3 per group"
    assert gate.evaluate(intent, snap, ctx(two, nlv=80_000)).code == "correlation_group", "phase 3: 2"
    es = dataclasses.replace(leg.contract, root="ES", underlying="ESM25")
    futures = [_held([Leg(es, -1)], "strangle", f"f{i}") for i in range(2)]
    decision = gate.evaluate(intent, snap, ctx([*two, *futures]))
    assert decision.code == "correlation_equity_index", "A1 2 + A2 2 = 4 already: a fifth breaks the cap"
    campaign = dataclasses.replace(intent, campaign="a") if hasattr(intent, "campaign") else intent
    grouped = [dataclasses.replace(g, campaign="a") if hasattr(g, "campaign") else g for g in two]
    adding = gate.evaluate(campaign, snap, ctx([*grouped, *futures]))
    assert not adding.code.startswith("correlation"), "adding to an open campaign adds no position"


def test_greeks_are_checked_on_the_portfolio_after_the_trade_and_hedges_pass():
    gate, intent, snap, _, _ = _setup(NO_STRESS, overnight=True)
    short_put = next(leg for leg in intent.legs if leg.ratio < 0 and not leg.contract.is_call)
    big_delta = [_held([Leg(short_put.contract, -1)], "lt112", "d", quantity=1)]
    ctx = FakeContext(account(now=snap.time), groups=big_delta)
    assert gate.evaluate(intent, snap, ctx).approved
    heavy = [_held([Leg(short_put.contract, -1)], "lt112", "d", quantity=9)]  # ~+$1,450 of delta
    decision = gate.evaluate(dataclasses.replace(intent, legs=(short_put,), quantity=1), snap,
                             FakeContext(account(now=snap.time), groups=heavy))  # fmt: skip
    assert decision.code == "greeks_delta", decision
    hedge = dataclasses.replace(intent, legs=(Leg(short_put.contract, 1),), quantity=1, max_loss_per_unit=100)
    assert (
        gate.evaluate(hedge, snap, FakeContext(account(now=snap.time), groups=heavy)).code != "greeks_delta"
    )


def test_greeks_of_an_unquoted_open_leg_fail_closed():
    gate, intent, snap, _, _ = _setup()
    orphan = spxw(9000.0, Right.CALL, date(2025, 3, 7))
    ctx = FakeContext(account(now=snap.time), groups=[_held([Leg(orphan, -1)], "lt112", "x")])
    assert gate.evaluate(intent, snap, ctx).code == "greeks_unknown"


def test_a_stuck_quote_blocks_once_the_underlying_has_moved():
    gate, intent, snap, _, _ = _setup()
    ctx = FakeContext(account(now=snap.time))
    assert gate.evaluate(intent, snap, ctx).approved
    later = snap.time + timedelta(minutes=10)
    moved = zero_dte_chain(snap.time, spot=5000.0)
    quotes = tuple(dataclasses.replace(q, time=later, underlying_price=5020.0) for q in moved.quotes)
    stuck = snapshot(later, [OptionChain("SPXW", moved.expiry, "SPX", 5020.0, quotes)], spot=5020.0)
    assert gate.evaluate(intent, stuck, FakeContext(account(now=later))).code == "dq_stuck"
    calm = tuple(dataclasses.replace(q, time=later) for q in moved.quotes)
    calm_snap = snapshot(later, [OptionChain("SPXW", moved.expiry, "SPX", 5000.0, calm)])
    gate2, *_ = _setup()
    gate2.evaluate(intent, snap, ctx)
    assert gate2.evaluate(intent, calm_snap, FakeContext(account(now=later))).approved, "no move: not stuck"


def test_every_block_carries_a_reason_code_and_message():
    gate, intent, snap, _, sink = _setup()
    bad = dataclasses.replace(intent, max_loss_per_unit=float("nan"))
    decision = gate.evaluate(bad, snap, FakeContext(account(now=snap.time)))
    assert decision.code == "max_position_risk" and "not a positive number" in decision.message
    assert all(p["message"] and p["rule"] for _, _, p in sink.events)
