"""IPMCC campaign rules (STRATEGY_RULES.md §4)."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta

import pytest

from core.settings import Settings
from core.types import GroupStatus, Leg, PositionGroup, Right
from strategies.common import StepMarks, exit_mark, fee_points
from strategies.ipmcc import LONG, SHORT, Ipmcc, extrinsic
from testing.chains import bsm_chain, market
from testing.factories import FakeContext, account

S = Settings()
FRIDAY = datetime(2025, 3, 7, 10, 0)
SPOT = 220.0


def chains(now, spot=SPOT, long_dte=365, short_dte=7, underlying="IWM"):
    return [
        bsm_chain(underlying, now.date() + timedelta(days=long_dte), now, spot, vol=0.18, skew=0.0),
        bsm_chain(underlying, now.date() + timedelta(days=short_dte), now, spot, vol=0.18, skew=0.0),
    ]


def propose(now=FRIDAY, nlv=100_000.0, vix=18.0, ctx=None, long_dte=365, short_dte=7, **overrides):
    ctx = ctx or FakeContext(account(nlv, now=now))
    settings = dataclasses.replace(S, ipmcc_underlyings=("IWM",), **overrides)
    return Ipmcc(settings).propose(
        market(now, chains(now, long_dte=long_dte, short_dte=short_dte), vix=vix), ctx
    )


def test_friday_buys_an_80_delta_leap_call_within_the_size_caps():
    (intent,) = propose()
    (leg,) = intent.legs
    assert leg.ratio == 1 and leg.contract.right is Right.CALL and intent.part == LONG
    assert 0.75 <= intent.notes["delta_0"] <= 0.85
    assert intent.notes["extrinsic"] < 0.05 * SPOT
    assert intent.notes["cost"] <= min(S.ipmcc_nlv_share, S.risk_max_position_risk) * 100_000


@pytest.mark.parametrize(("dte", "ok"), [(279, False), (280, True)])
def test_long_call_needs_at_least_280_dte(dte, ok):
    assert bool(propose(long_dte=dte)) is ok


def test_only_from_phase_3_and_on_fridays():
    assert propose(nlv=75_999) == []
    assert propose(nlv=76_000)
    assert propose(datetime(2025, 3, 6, 10, 0)) == []


def _long(now=FRIDAY, entry=None):
    (intent,) = propose(now)
    return PositionGroup("ipmcc-20250307-001", "ipmcc", intent.legs, intent.quantity, GroupStatus.OPEN,
                         opened_at=now, entry_price=entry if entry is not None else intent.reference_price,
                         entry_fees=1.0, part=LONG)  # fmt: skip


def test_weekly_short_call_sold_at_or_above_the_campaign_break_even():
    long = _long()
    now = FRIDAY + timedelta(minutes=5)
    intents = propose(now, ctx=FakeContext(account(now=now), groups=[long]))
    (short,) = intents
    assert short.part == SHORT and short.campaign == long.campaign_id and short.legs[0].ratio == -1
    assert short.quantity == long.quantity and short.notes["dte"] == 7
    assert short.notes["break_even"] == pytest.approx(long.legs[0].contract.strike + long.entry_price)
    assert short.legs[0].contract.strike >= short.notes["break_even"]
    assert short.max_loss_per_unit > 0


def _weekly_strikes(now):
    expiry = now.date() + timedelta(days=7)
    return sorted({q.contract.strike for q in chains(now)[1].side(Right.CALL) if q.contract.expiry == expiry})


@pytest.mark.parametrize(("above", "kept"), [(0.0, 0.0), (0.01, 0.0), (0.01, 0.02)])
def test_break_even_boundary_a_strike_exactly_at_it_is_sold_one_cent_short_of_it_is_not(above, kept):
    """break-even = long strike + price paid - weekly credits kept: the strike at it is sold, else
    the next one up; credits kept lower it."""
    now = FRIDAY + timedelta(minutes=5)
    strikes = [k for k in _weekly_strikes(now) if k > SPOT * 1.03]  # above the ~30Δ strike
    target = strikes[0]
    long = _long()
    long = dataclasses.replace(long, entry_price=target - long.legs[0].contract.strike + above)
    closed = []
    if kept:  # a closed weekly that kept 2 cents a share
        weekly = dataclasses.replace(_short(long), status=GroupStatus.CLOSED, group_id="ipmcc-20250228-002",
                                     entry_price=-0.5, exit_price=0.48 - 0.0, entry_fees=0.0, exit_fees=0.0)  # fmt: skip
        weekly = dataclasses.replace(weekly, quantity=long.quantity)
        closed = [weekly]
    ctx = FakeContext(account(now=now), groups=[long], closed=closed)
    (short,) = propose(now, ctx=ctx)
    expected = target if above <= kept else strikes[1]
    assert short.notes["break_even"] == pytest.approx(target + above - kept)
    assert short.legs[0].contract.strike == expected


def test_no_weekly_when_no_strike_clears_the_break_even_and_the_skip_says_why():
    now = FRIDAY + timedelta(minutes=5)
    long = _long()
    long = dataclasses.replace(long, entry_price=10 * SPOT)  # break-even beyond every listed strike
    ctx = FakeContext(account(now=now), groups=[long])
    assert propose(now, ctx=ctx, ipmcc_campaign_stop=1.0) == []  # (a -99% campaign not yet stopped)
    assert ctx.skip_codes() == ["below_break_even"]


def test_no_short_in_the_extreme_regime_or_while_one_is_open():
    long = _long()
    now = FRIDAY + timedelta(minutes=5)
    assert propose(now, vix=31.0, ctx=FakeContext(account(now=now), groups=[long])) == []
    short = dataclasses.replace(_short(long), status=GroupStatus.OPENING, opened_at=None)
    assert propose(now, ctx=FakeContext(account(now=now), groups=[long, short])) == []


def _manage(group, others, now, spot=SPOT, nlv=100_000.0):
    snap = market(now, [bsm_chain("IWM", leg.contract.expiry, now, spot, vol=0.18, skew=0.0, width_sd=15)
                        for g in (group, *others) for leg in g.legs])  # fmt: skip
    return Ipmcc(S).manage(snap, group, FakeContext(account(nlv, now=now), groups=[group, *others]))


def _short(long, now=FRIDAY):
    (intent,) = propose(now + timedelta(minutes=5), ctx=FakeContext(account(now=now), groups=[long]))
    return PositionGroup("ipmcc-20250307-002", "ipmcc", intent.legs, 1, GroupStatus.OPEN, opened_at=now,
                         entry_price=intent.reference_price, entry_fees=1.0, campaign=long.campaign_id, part=SHORT)  # fmt: skip


def test_weekly_short_takes_half_its_credit_or_rolls_on_expiry_day():
    long = _long()
    short = _short(long)
    assert _manage(short, [long], FRIDAY + timedelta(days=1)) is None
    assert _manage(short, [long], FRIDAY + timedelta(days=3), spot=SPOT * 0.975).reason == "profit_target"
    expiry_day = datetime.combine(short.legs[0].contract.expiry, datetime.min.time()).replace(
        hour=9, minute=35
    )
    in_the_money = short.legs[0].contract.strike * 1.01
    assert _manage(short, [long], expiry_day, spot=in_the_money).reason == "roll"


def test_profit_target_caps_the_exit_at_the_price_that_keeps_half_the_credit():
    long = _long()
    short = _short(long)
    out = _manage(short, [long], FRIDAY + timedelta(days=3), spot=SPOT * 0.975)
    assert out.reason == "profit_target"
    fees = (short.entry_fees / short.quantity + 0.0) / short.multiplier
    assert out.notes["worst_price"] <= short.credit * (1 - S.ipmcc_short_profit_target) - fees + 1e-9


def test_long_call_stop_at_20_percent_closes_the_short_first_then_the_long():
    long = _long()
    short = _short(long)
    later = FRIDAY + timedelta(days=2)
    crash = SPOT * 0.85
    assert _manage(short, [long], later, spot=crash).reason in ("campaign_exit", "profit_target")
    assert _manage(long, [short], later, spot=crash) is None  # never leaves the short uncovered
    out = _manage(long, [], later, spot=crash)
    assert out.reason == "stop_loss"


@pytest.mark.parametrize(("dte_left", "reason"), [(120, None), (119, "roll")])
def test_long_call_rolls_below_120_dte(dte_left, reason):
    long = _long()
    expiry: date = long.legs[0].contract.expiry
    now = datetime.combine(expiry - timedelta(days=dte_left), FRIDAY.time())
    out = _manage(long, [], now, spot=SPOT * 1.1)
    assert (None if out is None else out.reason) == reason


def test_long_call_closes_instead_of_rolling_when_the_phase_no_longer_allows_ipmcc():
    long = _long()
    now = datetime.combine(long.legs[0].contract.expiry - timedelta(days=100), FRIDAY.time())
    assert _manage(long, [], now, spot=SPOT * 1.1, nlv=60_000).reason == "dte_exit"


def test_rolled_long_call_is_replaced_in_its_campaign():
    long = _long()
    now = FRIDAY + timedelta(days=3, hours=2)  # Monday
    rolled = dataclasses.replace(long, status=GroupStatus.CLOSED, closed_at=now, exit_reason="roll")
    (intent,) = propose(now, ctx=FakeContext(account(now=now), closed=[rolled]))
    assert intent.campaign == rolled.campaign_id and intent.part == LONG and intent.notes["roll_entry"] == 1.0


def test_extrinsic_is_time_value_only():
    chain = bsm_chain("IWM", FRIDAY.date() + timedelta(days=365), FRIDAY, SPOT)
    q = chain.nearest_delta(Right.CALL, 0.8)
    assert extrinsic(q) == pytest.approx(q.mid - (SPOT - q.contract.strike))


@pytest.mark.parametrize(("beyond", "stops"), [(-0.01, False), (0.01, True)])
def test_campaign_stop_at_20_percent_of_the_long_call_s_cost_counts_the_weeklies(beyond, stops):
    """The long alone is a cent short of -20%: a closed weekly that lost ``beyond`` + 1 cent a
    share more than it was expected to decides it."""
    long = _long()
    now = FRIDAY + timedelta(days=14)
    snap = market(now, [bsm_chain("IWM", long.legs[0].contract.expiry, now, SPOT, vol=0.18, skew=0.0,
                                  width_sd=15)])  # fmt: skip
    mark = exit_mark(long, snap)
    # long P&L = mark - entry - fees = -0.2 x entry + 1 cent  =>  entry = (mark - fees - 0.01) / 0.8
    fees = fee_points(long)
    entry = (mark - fees - 0.01) / (1 - S.ipmcc_campaign_stop)
    long = dataclasses.replace(long, entry_price=entry)
    loss = (0.01 + beyond) if beyond > 0 else 0.0
    weekly = PositionGroup("ipmcc-20250307-002", "ipmcc", (Leg(long.legs[0].contract, -1),), long.quantity,
                           GroupStatus.CLOSED, entry_price=-1.0, exit_price=1.0 + loss, campaign=long.campaign_id,
                           part=SHORT)  # fmt: skip
    ctx = FakeContext(account(now=now), groups=[long], closed=[weekly])
    out = Ipmcc(S).manage(snap, long, ctx)
    assert (out is not None and out.reason == "stop_loss") is stops


def test_one_strategy_object_marks_each_step_afresh_and_a_changed_group_anew():
    """Marks are kept for the step only (``StepMarks``): the same Ipmcc managing the same short on
    the next step's market sees that market, and a replaced group is marked on its own legs."""
    long = _long()
    short = _short(long)
    ipmcc, marks = Ipmcc(S), StepMarks()

    def step(now, spot):
        snap = market(now, [bsm_chain("IWM", leg.contract.expiry, now, spot, vol=0.18, skew=0.0, width_sd=15)
                            for g in (short, long) for leg in g.legs])  # fmt: skip
        return snap, FakeContext(account(100_000.0, now=now), groups=[short, long])

    calm, ctx = step(FRIDAY + timedelta(days=1), SPOT)
    assert ipmcc.manage(calm, short, ctx) is None
    assert marks(short, calm) == exit_mark(short, calm) and marks(long, calm) == exit_mark(long, calm)
    fallen, ctx = step(FRIDAY + timedelta(days=3), SPOT * 0.975)
    assert ipmcc.manage(fallen, short, ctx).reason == "profit_target"
    assert marks(short, fallen) == exit_mark(short, fallen) != exit_mark(short, calm)
    doubled = dataclasses.replace(short, legs=(Leg(short.legs[0].contract, -2),))
    assert marks(doubled, fallen) == pytest.approx(2 * marks(short, fallen))


def test_a_campaign_s_realised_pnl_counts_a_part_closed_since_it_was_last_asked_for():
    long = _long()
    closed = dataclasses.replace(_short(long), status=GroupStatus.CLOSED, exit_price=-0.5, closed_at=FRIDAY)
    marks = StepMarks()
    assert marks.realised([], long.campaign_id) == 0
    assert marks.realised([closed], long.campaign_id) == closed.realized_pnl() != 0
    assert marks.realised([closed], "another-campaign") == 0
    # Kept across steps until the closed groups change, even with as many of them (a restore).
    restored = dataclasses.replace(closed, exit_price=-0.25)
    assert marks.realised([restored], long.campaign_id) == restored.realized_pnl() != closed.realized_pnl()
