"""Futures strangle rules at their boundaries (STRATEGY_RULES.md §3)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest

from core.settings import Settings
from core.types import GroupStatus, PositionGroup, Right
from strategies.common import exit_mark, profit_points
from strategies.strangle import FuturesStrangle
from testing.chains import bsm_chain, market
from testing.factories import FakeContext, account

S = Settings()
TUESDAY = datetime(2025, 3, 4, 10, 0)
SPOTS = {"ES": 5800.0, "MES": 5800.0, "CL": 70.0, "GC": 2900.0}


def chains(now, dte=90, roots=("ES", "CL", "GC")):
    return [bsm_chain(r, now.date() + timedelta(days=dte), now, SPOTS[r], vol=0.25) for r in roots]


def propose(now=TUESDAY, nlv=100_000.0, vix=18.0, ctx=None, dte=90, roots=("ES", "CL", "GC"), settings=S):
    ctx = ctx or FakeContext(account(nlv, now=now))
    return FuturesStrangle(settings).propose(market(now, chains(now, dte, roots), vix=vix), ctx)


def test_tuesday_sells_a_6_delta_strangle_on_each_underlying():
    intents = propose()
    assert sorted(i.legs[0].contract.root for i in intents) == ["CL", "ES", "GC"]
    for intent in intents:
        put, call = intent.legs
        assert (put.contract.right, call.contract.right) == (Right.PUT, Right.CALL)
        assert put.ratio == call.ratio == -1 and intent.quantity == 1
        assert 0.05 <= abs(intent.notes["delta_0"]) <= 0.07
        assert 0.05 <= abs(intent.notes["delta_1"]) <= 0.06
        assert intent.max_loss_per_unit == pytest.approx(
            2.5 * intent.notes["credit_after_costs"] * put.contract.multiplier
        )


def test_only_from_phase_2():
    assert propose(nlv=50_999) == []
    assert propose(nlv=51_000)


@pytest.mark.parametrize(("dte", "ok"), [(79, False), (80, True), (100, True), (101, False)])
def test_dte_window_edges_with_a_strict_window(dte, ok):
    strict = dataclasses.replace(S, expiry_tolerance_days=0)
    assert bool(propose(dte=dte, roots=("ES",), settings=strict)) is ok


@pytest.mark.parametrize(("dte", "ok"), [(34, True), (140, True), (33, False), (147, False)])
def test_a_quarterly_es_expiry_outside_the_window_is_taken_within_the_tolerance(dte, ok):
    assert bool(propose(dte=dte, roots=("ES",))) is ok  # 80-100 widened by 46 days


def test_not_on_other_weekdays_or_outside_the_window():
    assert propose(datetime(2025, 3, 5, 10, 0)) == []
    assert propose(TUESDAY.replace(hour=9, minute=55)) == []


@pytest.mark.parametrize(("vix", "put_only"), [(29.99, False), (30.0, True)])
def test_extreme_regime_sells_the_put_only(vix, put_only):
    (intent,) = propose(vix=vix, roots=("ES",))
    assert (len(intent.legs) == 1) is put_only


def _open(root="ES", dte=90, now=TUESDAY, n=1, entry=None):
    (intent,) = propose(now=now, dte=dte, roots=(root,))
    g = PositionGroup(f"strangle-20250304-{n:03d}", "strangle", intent.legs, 1, GroupStatus.OPEN, opened_at=now,
                      entry_price=intent.reference_price if entry is None else entry, entry_fees=5.0)  # fmt: skip
    return g


def test_one_strangle_per_expiry_cycle_and_at_most_three_per_underlying():
    held = _open()
    ctx = FakeContext(account(now=TUESDAY), groups=[held])
    assert propose(ctx=ctx, roots=("ES",)) == []  # same cycle already open
    later = TUESDAY + timedelta(days=35)
    others = [dataclasses.replace(held, group_id=f"strangle-20250101-{i:03d}",
                                  legs=tuple(dataclasses.replace(leg, contract=dataclasses.replace(
                                      leg.contract, expiry=leg.contract.expiry - timedelta(days=31 * (i + 1))))
                                      for leg in held.legs)) for i in range(3)]  # fmt: skip
    assert propose(later, ctx=FakeContext(account(now=later), groups=others[:2]), roots=("ES",))
    assert propose(later, ctx=FakeContext(account(now=later), groups=others), roots=("ES",)) == []


def test_micro_options_when_a_full_size_strangle_breaks_the_bp_cap():
    ctx = FakeContext(account(60_000, now=TUESDAY), margin_per_unit=40_000.0)  # phase 2 cap: 65% of 60k = 39k

    class MarginBySize(FakeContext):
        def margin_required(self, legs, quantity, snapshot):
            return (40_000.0 if legs[0].contract.root == "ES" else 4_000.0) * quantity

    ctx = MarginBySize(account(60_000, now=TUESDAY))
    (intent,) = propose(nlv=60_000, ctx=ctx, roots=("ES", "MES"))
    assert {leg.contract.root for leg in intent.legs} == {"MES"}


def manage(group, now, spot):
    snap = market(
        now, [bsm_chain(group.legs[0].contract.root, group.legs[0].contract.expiry, now, spot, vol=0.25)]
    )
    return FuturesStrangle(S).manage(snap, group, FakeContext(account(now=now), groups=[group]))


def _at_mark(days_later=10, spot=5800.0):
    g = _open()
    now = TUESDAY + timedelta(days=days_later)
    snap = market(now, [bsm_chain("ES", g.legs[0].contract.expiry, now, spot, vol=0.25)])
    return dataclasses.replace(g, entry_price=exit_mark(g, snap)), now


def test_profit_target_stop_and_21_dte_roll_or_exit():
    g, now = _at_mark()
    assert manage(g, now, 5800.0) is None
    later = now + timedelta(days=30)
    assert manage(g, later, 5800.0).reason == "profit_target"  # decay over a month
    crash = manage(g, now + timedelta(days=1), 4900.0)
    assert crash.reason == "stop_loss" and -crash.notes["profit"] >= 2.5 * g.credit
    at_21 = TUESDAY + timedelta(days=90 - 21)
    snap = market(at_21, [bsm_chain("ES", g.legs[0].contract.expiry, at_21, 5800.0, vol=0.25)])
    mark = exit_mark(g, snap)  # roll vs exit judged on the expected exit fill
    fees = g.entry_fees / 50.0
    small_gain = dataclasses.replace(g, entry_price=mark - fees - 0.001)
    small_loss = dataclasses.replace(g, entry_price=mark - fees + 0.02)
    assert manage(small_gain, at_21, 5800.0).reason == "roll"
    assert manage(small_loss, at_21, 5800.0).reason == "dte_exit"
    assert manage(small_gain, at_21 - timedelta(days=1), 5800.0) is None  # 22 DTE: nothing yet


def test_roll_opens_the_next_cycle_the_same_day_in_the_same_campaign():
    now = TUESDAY + timedelta(days=2)  # a Thursday: no regular entry
    rolled = dataclasses.replace(_open(), status=GroupStatus.CLOSED, closed_at=now - timedelta(minutes=5),
                                 exit_reason="roll", campaign="strangle-20241203-001")  # fmt: skip
    ctx = FakeContext(account(now=now), closed=[rolled])
    (intent,) = propose(now, ctx=ctx, roots=("ES",))
    assert intent.campaign == "strangle-20241203-001" and intent.notes["roll_entry"] == 1.0
    assert (
        propose(now + timedelta(days=1), ctx=FakeContext(account(now=now), closed=[rolled]), roots=("ES",))
        == []
    )


@pytest.mark.parametrize(("limit_vs_loss", "stops"), [(-1.0, True), (+1.0, False)])
def test_stop_never_lets_the_loss_past_the_max_risk_of_the_entry_nlv(limit_vs_loss, stops):
    """Limits are limits: the entry was approved on 250% of its expected credit within 5% of NLV; a
    fill for more credit widens the 250% stop, so the stop also fires when the loss reaches 5% of the
    NLV the entry was approved at ($1 below the loss: stopped; $1 above it: held)."""
    g, now = _at_mark()
    later, spot = now + timedelta(days=1), 5500.0
    snap = market(later, [bsm_chain("ES", g.legs[0].contract.expiry, later, spot, vol=0.25)])
    mark = exit_mark(g, snap)
    assert mark is not None
    loss = -profit_points(g, mark) * g.multiplier * g.quantity
    assert 0 < loss < 2.5 * g.credit * g.multiplier, "a loss short of the 250% stop"
    nlv = (loss + limit_vs_loss) / S.risk_max_position_risk
    intent = manage(dataclasses.replace(g, notes={**g.notes, "nlv": nlv}), later, spot)
    assert (intent is not None and intent.reason == "stop_loss") is stops
    if stops:
        assert intent.notes["loss_usd"] == pytest.approx(loss)
    assert manage(g, later, spot) is None, "without its entry NLV only the 250% stop applies"


def test_one_strangle_object_sees_a_roll_closed_since_its_last_step_and_forgets_it_the_next_day():
    """Today's rolls are remembered between steps (``RolledToday``): a roll closed after the last
    step must still be answered, and yesterday's roll is not today's."""
    now = TUESDAY + timedelta(days=2)  # a Thursday: no regular entry
    strangle = FuturesStrangle(S)
    snap = market(now, chains(now, 90, ("ES",)), vix=18.0)
    ctx = FakeContext(account(now=now))
    assert strangle.propose(snap, ctx) == []
    ctx.closed.append(dataclasses.replace(_open(), status=GroupStatus.CLOSED, closed_at=now, exit_reason="roll",
                                          campaign="strangle-20241203-001"))  # fmt: skip
    (intent,) = strangle.propose(snap, ctx)
    assert intent.campaign == "strangle-20241203-001"
    tomorrow = now + timedelta(days=1)
    snap = market(
        tomorrow, [bsm_chain("ES", TUESDAY.date() + timedelta(days=90), tomorrow, 5800.0, vol=0.25)]
    )
    assert strangle.propose(snap, FakeContext(account(now=tomorrow), closed=ctx.closed)) == []
