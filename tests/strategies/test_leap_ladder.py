"""LEAP put ladder rules at their boundaries (STRATEGY_RULES.md §5)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest

from core.settings import Settings
from core.types import GroupStatus, PositionGroup, Right
from strategies.common import group_mark
from strategies.leap_ladder import LeapPutLadder
from testing.chains import bsm_chain, market
from testing.factories import FakeContext, account

S = Settings()
MONDAY = datetime(2025, 3, 3, 10, 0)  # first week of March
SPOT = {"SPY": 580.0, "QQQ": 500.0, "IWM": 220.0}


def propose(now=MONDAY, nlv=80_000.0, vix=18.0, ctx=None, dte=365, margin=1_000.0, settings=S):
    ctx = ctx or FakeContext(account(nlv, now=now), margin_per_unit=margin)
    chains = [bsm_chain(u, now.date() + timedelta(days=dte), now, p, vol=0.2) for u, p in SPOT.items()]
    return LeapPutLadder(settings).propose(market(now, chains, vix=vix), ctx)


def test_monday_sells_one_365_dte_put_at_the_week_delta():
    (intent,) = propose()
    (leg,) = intent.legs
    assert leg.ratio == -1 and leg.contract.right is Right.PUT and leg.contract.root == "SPY"
    assert intent.notes["dte"] == 365 and intent.quantity == 1
    assert abs(intent.notes["delta_0"]) == pytest.approx(0.12, abs=0.01)


@pytest.mark.parametrize(("day", "delta"), [(3, 0.12), (10, 0.13), (17, 0.14), (24, 0.12), (31, 0.12)])
def test_delta_rotates_by_week_of_month(day, delta):
    (intent,) = propose(MONDAY.replace(day=day))
    assert intent.notes["target_delta"] == delta


@pytest.mark.parametrize(("vix", "quantity"), [(14.99, 0), (15.0, 1), (20.0, 1), (20.01, 2)])
def test_vix_below_15_skips_and_above_20_doubles(vix, quantity):
    intents = propose(vix=vix, margin=500.0)  # LOW regime at VIX 15 caps BP at 60%
    assert sum(i.quantity for i in intents) == quantity


class RootMargin(FakeContext):
    """Margin per put by underlying (SPY's is what keeps it out of a small account)."""

    def __init__(self, *args, by_root, **kw) -> None:
        super().__init__(*args, **kw)
        self.by_root = by_root

    def margin_required(self, legs, quantity, snapshot) -> float:
        return self.by_root[legs[0].contract.root] * quantity


def test_one_rung_a_week_spy_first_and_qqq_iwm_only_when_spy_does_not_fit():
    assert propose(nlv=75_999) == []
    assert [i.legs[0].contract.root for i in propose(nlv=80_000)] == ["SPY"]
    assert [i.legs[0].contract.root for i in propose(nlv=95_000)] == ["SPY"], "phase 4: still SPY first"

    def roots(nlv, by_root):
        ctx = RootMargin(account(nlv, now=MONDAY), by_root=by_root)
        return [i.legs[0].contract.root for i in propose(ctx=ctx)], ctx.skip_codes()

    big_spy = {"SPY": 3_000.0, "QQQ": 2_900.0, "IWM": 1_000.0}  # 3% of $95k = $2,850
    assert roots(95_000, big_spy) == (["IWM"], [])
    assert roots(95_000, {**big_spy, "IWM": 2_900.0}) == ([], ["no_rung"])
    assert roots(80_000, big_spy) == ([], ["no_rung"]), "phase 3 has SPY only"


def test_rung_margin_3_percent_of_nlv_and_ladder_25_percent_rounded_down():
    # $80k: a rung's margin <= $2,400, the ladder's <= $20,000.
    assert propose(margin=2_400.0)
    assert propose(margin=2_401.0) == []
    assert sum(i.quantity for i in propose(vix=25.0, margin=1_200.0)) == 2
    assert sum(i.quantity for i in propose(vix=25.0, margin=1_201.0)) == 1, "a doubled rung rounds down"

    def held(n, margin=2_000.0):
        return FakeContext(
            account(80_000, now=MONDAY), margin_per_unit=margin, groups=[_rung(i) for i in range(n)]
        )

    (ninth,) = propose(ctx=held(9))  # 9 x 2,000 + 2,000 = 20,000: exactly the ladder's 25%
    assert ninth.notes["ladder_margin"] == 20_000.0, "the audited figure: the ladder with this rung"
    assert propose(ctx=held(10)) == []  # ten rungs
    assert propose(ctx=held(9, margin=2_001.0)) == []  # over the 25% total


def test_a_skipped_week_says_why():
    ctx = FakeContext(account(80_000, now=MONDAY))
    assert propose(vix=14.0, ctx=ctx) == []
    assert ctx.skip_codes() == ["vix_below_min"]


def _rung(n=0, now=MONDAY, entry=None):
    (intent,) = propose(now)
    return PositionGroup(f"leap_ladder-20250203-{n:03d}", "leap_ladder", intent.legs, 1, GroupStatus.OPEN,
                         opened_at=now, entry_price=intent.reference_price if entry is None else entry,
                         entry_fees=1.0)  # fmt: skip


def manage(group, now, spot):
    snap = market(now, [bsm_chain("SPY", group.legs[0].contract.expiry, now, spot, vol=0.2)])
    return LeapPutLadder(S).manage(snap, group, FakeContext(account(now=now), groups=[group]))


def test_profit_stop_and_roll_at_150_dte():
    rung = _rung()
    later = MONDAY + timedelta(days=30)
    assert manage(rung, later, 580.0) is None
    assert manage(rung, later, 640.0).reason == "profit_target"
    assert manage(rung, later, 470.0).reason == "stop_loss"
    at = MONDAY + timedelta(days=365 - 150)
    snap = market(at, [bsm_chain("SPY", rung.legs[0].contract.expiry, at, 580.0, vol=0.2)])
    flat = dataclasses.replace(rung, entry_price=group_mark(rung, snap) - 0.01)
    assert manage(flat, at, 580.0).reason == "roll"
    assert manage(flat, at - timedelta(days=1), 580.0) is None


def test_rolled_rung_is_replaced_the_same_day_in_its_campaign():
    now = MONDAY + timedelta(days=3)  # Thursday
    rolled = dataclasses.replace(_rung(), status=GroupStatus.CLOSED, closed_at=now, exit_reason="roll")
    (intent,) = propose(now, ctx=FakeContext(account(now=now), margin_per_unit=1_000.0, closed=[rolled]))
    assert intent.campaign == rolled.campaign_id and intent.notes["roll_entry"] == 1.0
