"""The portfolio stress limit: the gate blocks an entry that takes the worst case past its share of
NLV (a trade that lowers a loss already beyond it passes), and the monitors' check alerts when the
market takes the open portfolio there."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from core.portfolio_greeks import BetaTable
from core.settings import Settings
from core.stress import Scenarios, positions_of, stress_loss
from core.types import GroupStatus, Leg, PositionGroup
from risk.events import Action
from risk.gate import EntryGate
from risk.portfolio import PortfolioCache
from risk.state import RiskState
from risk.stress_watch import stress_breach
from strategies.zero_dte import ZeroDteIronCondor
from testing.factories import FakeContext, WeekdayCalendar, account, friday, snapshot, zero_dte_chain

S = Settings()


def _intent():
    now = friday()
    snap = snapshot(now, [zero_dte_chain(now)])
    (intent,) = ZeroDteIronCondor(S).propose(snap, FakeContext(account(now=now)))
    return intent, snap


def _loss(groups, snap) -> float:
    return stress_loss(positions_of(groups, snap.chains), snap.time, Scenarios.from_settings(S)).loss


@pytest.mark.parametrize(("share_delta", "approved"), [(0.0, True), (-1e-6, False)])
def test_an_entry_is_blocked_one_dollar_beyond_the_stress_limit(share_delta, approved):
    intent, snap = _intent()
    after = _loss([(intent.legs, intent.quantity)], snap)
    settings = S.with_overrides(risk_max_stress_nlv=after / 100_000 + share_delta)
    decision = EntryGate(settings, WeekdayCalendar(), False, RiskState()).evaluate(
        intent, snap, FakeContext(account(now=snap.time))
    )
    assert decision.approved is approved, decision
    if approved:
        assert decision.notes["gate_stress_after"] == pytest.approx(after)
    else:
        assert decision.code == "stress_limit" and "exceeds" in decision.message


def test_a_trade_that_lowers_a_stress_loss_already_beyond_the_limit_passes():
    intent, snap = _intent()
    held = PositionGroup("h", "lt112", intent.legs, 5, GroupStatus.OPEN)
    settings = S.with_overrides(risk_max_stress_nlv=0.01, risk_max_position_risk=1.0)
    hedge = dataclasses.replace(intent, legs=tuple(Leg(leg.contract, -leg.ratio) for leg in intent.legs),
                                quantity=1, max_loss_per_unit=100.0, reference_price=-intent.reference_price)  # fmt: skip
    gate = EntryGate(settings, WeekdayCalendar(), False, RiskState())
    ctx = FakeContext(account(now=snap.time), groups=[held])
    assert gate.evaluate(intent, snap, ctx).code == "stress_limit"
    assert gate.evaluate(hedge, snap, ctx).code != "stress_limit"


def test_the_monitors_alert_when_the_open_portfolio_is_beyond_the_limit():
    intent, snap = _intent()
    held = [PositionGroup("h", "zero_dte", intent.legs, intent.quantity, GroupStatus.OPEN)]
    loss = _loss([(intent.legs, intent.quantity)], snap)
    view = PortfolioCache(BetaTable.from_settings(S)).view(held, snap)
    within = S.with_overrides(risk_max_stress_nlv=loss / 100_000)
    assert stress_breach(view, 100_000, within) is None
    beyond = S.with_overrides(risk_max_stress_nlv=loss / 100_000 - 1e-6)
    event = stress_breach(view, 100_000, beyond)
    assert event is not None and event.rule == "stress_limit" and event.action is Action.ALERT
    assert event.values["stress_loss"] == pytest.approx(loss)


def test_one_view_per_step_and_groups_its_figures_are_rebuilt_when_the_book_or_the_step_changes():
    """The monitors and the gate share one ``PortfolioView`` per step (stress, Greeks and the
    correlation counts computed once); another set of groups or the next step is a new view."""
    intent, snap = _intent()
    yesterday = snap.time - timedelta(days=1)  # held overnight: inside the correlation counts
    one = [PositionGroup("a", "lt112", intent.legs, 1, GroupStatus.OPEN, opened_at=yesterday)]
    two = [*one, PositionGroup("b", "strangle", intent.legs, 1, GroupStatus.OPEN, opened_at=yesterday)]
    cache = PortfolioCache(BetaTable.from_settings(S))
    view = cache.view(one, snap)
    assert cache.view(one, snap) is view and view.stress(Scenarios()) is view.stress(Scenarios())
    assert view.correlation.per_group == {"A2": 1}
    grown = cache.view(two, snap)
    assert grown is not view and grown.correlation.per_group == {"A2": 2}
    assert grown.stress(Scenarios()).loss == pytest.approx(2 * view.stress(Scenarios()).loss)
    later = cache.view(two, dataclasses.replace(snap, time=snap.time.replace(minute=35)))
    assert later is not grown
