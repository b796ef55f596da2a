"""Stateful property test: random order groups meet a random broker (acks, fills of some legs or
some units, rejections of both kinds, cancels asked for or not, silent drops, duplicate events,
market moves, time, and restarts of the process from its saved state) and execution must keep
its promises at every step and at the end.  The broker refuses any tag it has seen before, so a
restart that re-sent an order under an old tag would fail the test.

Invariants checked after every step:
- no leg of any group is filled beyond its intent (nor past flat in the other direction);
- a group never has two orders working at the broker at once (cancel-then-replace);
- the executor's fills reconcile with the broker's positions and fees, symbol by symbol;
- a group still unhedged after its repair deadline has raised its critical alert.
At the end the broker turns cooperative: every group must reach a terminal state, be either
flat or hold whole balanced units, and the orchestrator must have been told exactly once.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from core.settings import Settings
from core.types import Leg, OrderEvent, OrderIntent, Purpose, Right, UpdateKind
from execution.group import GroupState, parse_tag
from execution.order_manager import OrderManager
from testing.execution_fakes import ManualBroker, restarted
from testing.factories import friday, snapshot, spxw, zero_dte_chain

pytestmark = pytest.mark.slow  # hypothesis state machine: hundreds of broker histories

S = Settings()
STRUCTURES = {
    "condor": [(Right.PUT, 4900, 1), (Right.PUT, 4920, -1), (Right.CALL, 5080, -1), (Right.CALL, 5100, 1)],
    "vertical": [(Right.PUT, 4950, -1), (Right.PUT, 4930, 1)],
    "ratio": [(Right.PUT, 4960, 1), (Right.PUT, 4940, -2)],
    "strangle": [(Right.PUT, 4900, -1), (Right.CALL, 5100, -1)],
}
ACTIONS = ["ack", "fill", "fill_legs", "fill_units", "reject_transient", "reject_permanent",
           "confirm_cancel", "broker_cancel", "drop", "duplicate"]  # fmt: skip


class ExecutionMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        now = friday()
        self.scale = 1.0
        self.broker = ManualBroker(snapshot(now, [zero_dte_chain(now)]))
        self.om = OrderManager(S, self.broker, jitter_seed=0)
        self.updates: dict[str, list] = defaultdict(list)
        self.events: list[OrderEvent] = []
        self.n = 0
        self.event_ids = 0
        self.restarts = 0

    def groups(self) -> dict:
        """Every group ever: the current manager's, else the last copy an earlier manager held."""
        return dict(self.om.groups)

    # --- helpers -----------------------------------------------------------------------------------
    def _quote(self, contract):
        return self.broker.snap.chains.quote(contract)

    def _intent(self, legs: tuple[Leg, ...], quantity: int, purpose: Purpose, group_id: str) -> OrderIntent:
        quotes = [self._quote(leg.contract) for leg in legs]
        mid = sum(leg.ratio * q.mid for leg, q in zip(legs, quotes, strict=True))
        natural = sum(
            leg.ratio * (q.ask if leg.ratio > 0 else q.bid) for leg, q in zip(legs, quotes, strict=True)
        )
        return OrderIntent(
            group_id, "prop", purpose, legs, quantity, mid, natural, 500.0, "test", self.broker.now()
        )

    def _feed(self, event: OrderEvent | None) -> None:
        if event is None:
            return
        self.event_ids += 1
        event = OrderEvent(
            event.tag, event.status, event.time, event.fills, event.message, f"e{self.event_ids}"
        )
        self.events.append(event)
        for u in self.om.on_order_event(event):
            self.updates[f"{u.group_id}|{u.purpose.value}"].append(u)

    def _step(self, minutes: float) -> None:
        self.broker.advance(minutes)
        for u in self.om.on_step(self.broker.snap):
            self.updates[f"{u.group_id}|{u.purpose.value}"].append(u)

    def _group_fills(self) -> dict[str, Counter]:
        out: dict[str, Counter] = defaultdict(Counter)
        for tag, filled in self.broker.filled.items():
            parsed = parse_tag(tag)
            assert parsed is not None
            out[f"{parsed[0]}|{parsed[1].value}"].update(filled)
        return out

    # --- rules -------------------------------------------------------------------------------------
    @precondition(lambda self: sum(not g.terminal for g in self.groups().values()) < 4)
    @rule(name=st.sampled_from(sorted(STRUCTURES)), quantity=st.integers(1, 4))
    def new_group(self, name: str, quantity: int) -> None:
        self.n += 1
        expiry = self.broker.now().date()
        legs = tuple(Leg(spxw(k, right, expiry), ratio) for right, k, ratio in STRUCTURES[name])
        self.om.submit(self._intent(legs, quantity, Purpose.OPEN, f"g{self.n:03d}"), self.broker.snap)

    @precondition(lambda self: any(
        g.state is GroupState.FILLED and g.purpose is Purpose.OPEN and f"{g.group_id}|close" not in self.groups()
        for g in self.groups().values()
    ))  # fmt: skip
    @rule(data=st.data())
    def close_group(self, data) -> None:
        everyone = self.groups()
        candidates = sorted(
            g.key for g in everyone.values()
            if g.state is GroupState.FILLED and g.purpose is Purpose.OPEN
            and f"{g.group_id}|close" not in everyone
        )  # fmt: skip
        group = everyone[data.draw(st.sampled_from(candidates))]
        legs = tuple(Leg(leg.contract, -leg.ratio) for leg in group.intent.legs)
        intent = self._intent(legs, group.reported_units, Purpose.CLOSE, group.group_id)
        self.om.submit(intent, self.broker.snap)

    @precondition(lambda self: bool(self.broker.working) or bool(self.events))
    @rule(data=st.data(), action=st.sampled_from(ACTIONS))
    def broker_acts(self, data, action: str) -> None:
        if action == "duplicate":
            if self.events:
                event = data.draw(st.sampled_from(self.events[-10:]))
                for u in self.om.on_order_event(event):
                    self.updates[f"{u.group_id}|{u.purpose.value}"].append(u)
            return
        pool = sorted(self.broker.working)
        if action == "confirm_cancel":
            pool = [t for t in pool if t in self.broker.cancels]
        if not pool:
            return
        tag = data.draw(st.sampled_from(pool))
        b = self.broker
        if action == "ack":
            self._feed(b.ack(tag))
        elif action == "fill":
            self._feed(b.fill(tag))
        elif action == "fill_legs":
            n = len(b.orders[tag].legs)
            legs = data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True))
            self._feed(b.fill(tag, legs=legs))
        elif action == "fill_units":
            self._feed(b.fill(tag, units=data.draw(st.integers(1, 3))))
        elif action == "reject_transient":
            self._feed(b.reject(tag, "broker busy, try again"))
        elif action == "reject_permanent":
            self._feed(b.reject(tag, "insufficient buying power"))
        elif action in ("confirm_cancel", "broker_cancel"):
            self._feed(b.confirm_cancel(tag))
        elif action == "drop":
            b.drop(tag)

    @precondition(lambda self: self.restarts < 3)
    @rule()
    def restart(self) -> None:
        """The process dies; a new manager continues from its saved state, on the same broker."""
        self.restarts += 1
        self.om = restarted(self.om, self.broker, jitter_seed=self.restarts)

    @rule(minutes=st.sampled_from([0.5, 1, 2, 5, 10]))
    def time_passes(self, minutes: float) -> None:
        self._step(minutes)

    @rule(scale=st.sampled_from([0.4, 0.8, 1.0, 1.25, 2.5]))
    def market_moves(self, scale: float) -> None:
        self.scale = scale
        self.broker.snap = snapshot(self.broker.now(), [zero_dte_chain(self.broker.now(), scale=scale)])

    # --- invariants --------------------------------------------------------------------------------
    @invariant()
    def no_leg_filled_beyond_intent(self) -> None:
        fills = self._group_fills()
        for key, group in self.groups().items():
            for symbol, target in group.target().items():
                got = fills[key][symbol]
                lo, hi = sorted((0, target))
                assert lo <= got <= hi, f"{key} {symbol}: filled {got} outside 0..{target}"

    @invariant()
    def one_working_order_per_group(self) -> None:
        per_group = Counter(tag.rsplit("|", 1)[0] for tag in self.broker.working)
        assert all(n == 1 for n in per_group.values()), per_group

    @invariant()
    def fills_and_fees_reconcile_with_the_broker(self) -> None:
        seen: Counter = Counter()
        fees = 0.0
        for group in self.groups().values():
            for f in group.fills:
                seen[f.symbol] += f.quantity
                fees += f.fee
        for symbol in set(seen) | set(self.broker.positions):
            assert seen[symbol] == self.broker.positions[symbol], symbol
        assert abs(fees - self.broker.fees) < 1e-9

    @invariant()
    def unhedged_past_the_deadline_has_alerted(self) -> None:
        for group in self.groups().values():
            started = group.repair_started
            if started is None or group.balanced_units() is not None:
                continue
            if self.broker.now() - started > self.om.policy.repair_deadline + timedelta(minutes=10):
                assert group.deadline_alerted, f"{group.key} unhedged since {started} without an alert"

    def teardown(self) -> None:
        b = self.broker
        for _ in range(300):
            self._step(0)  # a restarted manager loads its state on its first call
            if all(g.terminal for g in self.groups().values()):
                break
            for tag in sorted(b.working):
                if tag in b.working:
                    self._feed(b.fill(tag))
            self._step(1)
        stuck = [g.key for g in self.groups().values() if not g.terminal]
        assert not stuck, f"groups not terminal with a cooperative broker: {stuck}"
        fills = self._group_fills()
        for key, group in self.groups().items():
            units = group.balanced_units()
            assert units is not None, f"{key} ends with unhedged legs {group.filled()}"
            (update,) = self.updates[key]
            if group.state is GroupState.FILLED:
                assert update.kind is UpdateKind.FILLED and update.quantity == units == group.reported_units
                held = {s: q for s, q in fills[key].items() if q}
                assert held == {s: q for s, q in group.target(units).items() if q}
            else:
                assert units == 0 and update.kind in (UpdateKind.ABANDONED, UpdateKind.UNWOUND)
                assert all(q == 0 for q in fills[key].values())


ExecutionMachine.TestCase.settings = settings(
    max_examples=120,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    derandomize=True,
)
test_execution_state_machine = ExecutionMachine.TestCase
