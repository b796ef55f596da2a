"""Property tests: on random markets and accounts no strategy proposes a leg outside its delta or
DTE window, or a size above its cap (STRATEGY_RULES.md §1-5)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.regime import Regime, account_phase, max_bp_fraction, vix_regime
from core.settings import Settings
from core.types import Right
from strategies.ipmcc import Ipmcc
from strategies.leap_ladder import LeapPutLadder
from strategies.lt112 import Lt112
from strategies.strangle import FuturesStrangle
from strategies.zero_dte import ZeroDteIronCondor
from testing.chains import bsm_chain, market
from testing.factories import FakeContext, account

pytestmark = pytest.mark.slow  # hypothesis: hundreds of generated markets per strategy

S = Settings()
TOL = 0.05  # discrete strikes: the nearest listed delta is within this of the target on these chains

markets = st.fixed_dictionaries(
    {
        "vix": st.floats(9.0, 60.0),
        "vol": st.floats(0.08, 0.9),
        "skew": st.floats(0.0, 1.5),
        "nlv": st.floats(20_000, 2_000_000),
        "bp_used": st.floats(0.0, 0.9),
        "margin": st.floats(100.0, 60_000.0),
        "dtes": st.lists(st.integers(0, 800), min_size=1, max_size=6, unique=True),
        "minute": st.integers(0, 120),
    }
)
PROPS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _ctx(m, now):
    nlv = m["nlv"]
    return FakeContext(account(nlv, bp_used=m["bp_used"] * nlv, now=now), margin_per_unit=m["margin"])


def _snap(now, m, roots_spots, step_by_root=None):
    chains = []
    for root, spot in roots_spots.items():
        for dte in m["dtes"]:
            step = (step_by_root or {}).get(root)
            chains.append(bsm_chain(root, now.date() + timedelta(days=dte), now, spot, vol=m["vol"], skew=m["skew"],
                                    width_sd=3.0, step=step))  # fmt: skip
    return market(now, chains, vix=m["vix"])


def _within(delta, target, lo=None, hi=None):
    lo = target - TOL if lo is None else lo
    hi = target + TOL if hi is None else hi
    return lo - 1e-9 <= abs(delta) <= hi + 1e-9


@PROPS
@given(markets)
def test_lt112_legs_and_size(m):
    now = datetime(2025, 3, 5, 10, 0) + timedelta(minutes=m["minute"])
    ctx = _ctx(m, now)
    intents = Lt112(S).propose(_snap(now, m, {"ES": 5800.0, "SPX": 5800.0}, {"ES": 25.0, "SPX": 25.0}), ctx)
    phase = account_phase(m["nlv"], S)
    for intent in intents:
        assert phase >= S.lt112_min_phase and intent.quantity == 1
        widened = intent.notes.get("dte_tolerance", 0.0)  # pick_expiry: nearest within the tolerance
        assert S.lt112_min_dte - widened <= intent.notes["dte"] <= S.lt112_max_dte + widened
        long, short, naked = intent.legs
        assert _within(intent.notes["delta_0"], S.lt112_long_delta)
        assert naked.contract.strike < short.contract.strike < long.contract.strike
        assert intent.max_loss_per_unit <= S.lt112_stop_nlv_fraction * m["nlv"] + 1e-6


@PROPS
@given(markets)
def test_strangle_legs_and_size(m):
    now = datetime(2025, 3, 4, 10, 0) + timedelta(minutes=m["minute"])
    snap = _snap(now, m, {"ES": 5800.0, "CL": 70.0, "GC": 2900.0}, {"ES": 25.0, "CL": 1.0, "GC": 10.0})
    intents = FuturesStrangle(S).propose(snap, _ctx(m, now))
    assert account_phase(m["nlv"], S) >= S.strangle_min_phase or not intents
    for intent in intents:
        widened = intent.notes.get("dte_tolerance", 0.0)  # pick_expiry: nearest within the tolerance
        assert (
            intent.quantity == 1
            and S.strangle_min_dte - widened <= intent.notes["dte"] <= S.strangle_max_dte + widened
        )
        assert _within(intent.notes["delta_0"], 0, *S.strangle_put_delta_range)
        if len(intent.legs) == 2:
            assert vix_regime(m["vix"], S) is not Regime.EXTREME
            assert _within(intent.notes["delta_1"], 0, *S.strangle_call_delta_range)
        cap = max_bp_fraction(m["nlv"], m["vix"], S) * m["nlv"] - m["bp_used"] * m["nlv"]
        assert m["margin"] <= cap


@PROPS
@given(markets)
def test_ipmcc_legs_and_size(m):
    now = datetime(2025, 3, 7, 10, 0) + timedelta(minutes=m["minute"])
    snap = _snap(now, m, {"SPY": 580.0, "QQQ": 500.0, "IWM": 220.0}, {"SPY": 5.0, "QQQ": 5.0, "IWM": 2.0})
    for intent in Ipmcc(S).propose(snap, _ctx(m, now)):
        (leg,) = intent.legs
        assert leg.contract.right is Right.CALL and leg.ratio == 1
        assert intent.notes["dte"] >= S.ipmcc_long_min_dte
        lo, hi = S.ipmcc_long_delta_range
        assert lo <= intent.notes["delta_0"] <= hi
        assert intent.notes["cost"] <= min(S.ipmcc_nlv_share, S.risk_max_position_risk) * m["nlv"] + 1e-6


@PROPS
@given(markets)
def test_leap_ladder_legs_and_size(m):
    now = datetime(2025, 3, 3, 10, 0) + timedelta(minutes=m["minute"])
    snap = _snap(now, m, {"SPY": 580.0, "QQQ": 500.0, "IWM": 220.0}, {"SPY": 5.0, "QQQ": 5.0, "IWM": 2.0})
    total = 0.0
    intents = LeapPutLadder(S).propose(snap, _ctx(m, now))
    assert len(intents) <= 1, "one rung a week"
    for intent in intents:
        (leg,) = intent.legs
        assert leg.ratio == -1 and leg.contract.right is Right.PUT
        assert S.leap_min_dte <= intent.notes["dte"] <= S.leap_max_dte
        assert _within(intent.notes["delta_0"], intent.notes["target_delta"])
        assert m["vix"] >= S.leap_skip_below_vix and intent.quantity <= (
            2 if m["vix"] > S.leap_double_above_vix else 1
        )
        total += m["margin"] * intent.quantity
        assert m["margin"] * intent.quantity <= S.leap_rung_margin_nlv * m["nlv"] + 1e-6
        assert leg.contract.root == "SPY" or m["margin"] > S.leap_rung_margin_nlv * m["nlv"], "SPY first"
    assert total <= S.leap_ladder_margin_nlv * m["nlv"] + 1e-6


@PROPS
@given(markets)
def test_zero_dte_legs_and_size(m):
    now = datetime(2025, 3, 7, 10, 30) + timedelta(minutes=m["minute"])
    m = {**m, "dtes": [0]}
    snap = _snap(now, m, {"SPXW": 5800.0}, {"SPXW": 5.0})
    snap = dataclasses.replace(snap, underlyings={"SPX": snap.underlyings["SPX"]}, day_open={"SPX": 5800.0})
    for intent in ZeroDteIronCondor(S).propose(snap, _ctx(m, now)):
        assert intent.notes["dte"] == 0 and m["vix"] > S.zero_dte_min_vix
        shorts = [i for i, leg in enumerate(intent.legs) if leg.ratio < 0]
        assert all(_within(intent.notes[f"delta_{i}"], S.zero_dte_short_delta) for i in shorts)
        cap = 1 if account_phase(m["nlv"], S) == 1 else S.zero_dte_max_condors
        assert 1 <= intent.quantity <= cap
        assert intent.max_loss_per_unit * intent.quantity <= S.risk_max_position_risk * m["nlv"] + 1e-6
