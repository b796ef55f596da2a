"""The entry gate: each rule blocks with its own reason code; exits are never gated."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from core.settings import Settings
from core.types import OptionChain, Purpose
from risk.gate import EntryGate
from strategies.zero_dte import ZeroDteIronCondor
from testing.factories import FakeContext, WeekdayCalendar, account, friday, snapshot, zero_dte_chain

S = Settings()


def _intent_and_snapshot(chain: OptionChain | None = None, vix: float = 24.0):
    now = friday()
    good = zero_dte_chain(now)
    (intent,) = ZeroDteIronCondor(S).propose(snapshot(now, [good], vix=vix), FakeContext(account(now=now)))
    return intent, snapshot(now, [chain or good], vix=vix)


def _evaluate(intent, snap, ctx=None, calendar=None):
    ctx = ctx or FakeContext(account(now=snap.time))
    return EntryGate(S, calendar or WeekdayCalendar()).evaluate(intent, snap, ctx)


def _with_quote(chain: OptionChain, strike: float, **changes) -> OptionChain:
    quotes = tuple(
        dataclasses.replace(q, **changes) if q.contract.strike == strike else q for q in chain.quotes
    )
    return dataclasses.replace(chain, quotes=quotes)


def test_a_clean_entry_is_approved():
    intent, snap = _intent_and_snapshot()
    assert _evaluate(intent, snap).approved


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"bid": 3.0, "ask": 2.9}, "dq_crossed"),
        ({"bid": 2.0, "ask": 2.0}, "dq_crossed"),
        ({"bid": 0.1, "ask": 2.0}, "dq_wide"),
        ({"bid": float("nan")}, "dq_non_positive"),
        ({"delta": 1.5}, "dq_greeks"),
        ({"volume": 9, "open_interest": 99}, "dq_illiquid"),
    ],
)
def test_a_bad_quote_on_any_leg_blocks_the_entry(changes, code):
    intent, _ = _intent_and_snapshot()
    short_put = intent.legs[0].contract.strike
    chain = _with_quote(zero_dte_chain(friday()), short_put, **changes)
    decision = _evaluate(intent, snapshot(friday(), [chain]))
    assert not decision.approved and decision.code == code, decision


def test_a_stale_quote_blocks_in_backtest():
    intent, _ = _intent_and_snapshot()
    old = friday() - timedelta(minutes=5)
    chain = _with_quote(zero_dte_chain(friday()), intent.legs[0].contract.strike, time=old)
    assert _evaluate(intent, snapshot(friday(), [chain])).code == "dq_stale"


def test_illiquid_needs_both_low_volume_and_low_open_interest():
    intent, _ = _intent_and_snapshot()
    chain = _with_quote(zero_dte_chain(friday()), intent.legs[0].contract.strike, volume=0, open_interest=100)
    assert _evaluate(intent, snapshot(friday(), [chain])).approved


def test_calendar_blocks_holidays_and_after_the_early_close():
    intent, snap = _intent_and_snapshot()
    assert (
        _evaluate(intent, snap, calendar=WeekdayCalendar(holidays=[snap.time.date()])).code
        == "calendar_closed"
    )
    late = dataclasses.replace(snap, time=snap.time.replace(hour=13, minute=0))
    early = WeekdayCalendar(early_closes=[snap.time.date()])
    assert _evaluate(intent, late, calendar=early).code == "calendar_after_close"


def test_buying_power_cap_by_phase_and_regime():
    intent, snap = _intent_and_snapshot()
    # phase 4, VIX 24 (ELEVATED) -> cap 80% of $100k; 2 units x $2,000 margin on top of $77k used -> blocked.
    ctx = FakeContext(account(bp_used=77_000))
    decision = _evaluate(intent, snap, ctx)
    assert decision.code == "bp_cap" and "exceeds cap $80,000" in decision.message
    assert _evaluate(intent, snap, FakeContext(account(bp_used=75_000))).approved


def test_max_risk_per_position():
    intent, snap = _intent_and_snapshot()
    too_big = dataclasses.replace(intent, quantity=3)  # 3 x ~$2,375 > 5% of $100k
    assert _evaluate(too_big, snap).code == "max_position_risk"


def test_phase_zero_blocks_entries():
    intent, snap = _intent_and_snapshot()
    assert _evaluate(intent, snap, FakeContext(account(nlv=30_000))).code == "phase_0"


def test_exits_are_never_gated():
    intent, snap = _intent_and_snapshot()
    exit_intent = dataclasses.replace(intent, purpose=Purpose.CLOSE)
    assert _evaluate(exit_intent, snap, calendar=WeekdayCalendar(holidays=[snap.time.date()])).approved
