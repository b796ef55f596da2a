"""The sim broker values the account every step from caches keyed on the book's version (the held
option legs, their margin plan, the holdings) and remembers margin plans per set of legs: every
change of the legs must show in the next valuation, and a remembered plan must carry no prices."""

from __future__ import annotations

from core.types import ComboOrder, Leg, SecurityKind
from sim.broker import SimMargin
from sim.broker.assignment import assign_early
from tests.sim.test_broker import CLOSE, CONDOR, EXP, SP, T0, T1, T2, P, broker, condor_quotes, q, snap, spy


def _fresh_requirement(b, s) -> float:  # type: ignore[no-untyped-def]
    """What a model with no memory charges for the broker's holdings at ``s``."""
    legs = [Leg(h.contract, round(h.quantity)) for h in b.holdings().values() if h.contract is not None]
    return SimMargin().margin_required(legs, 1, s) if legs else 0.0


def _spread_quotes(t, short_bid: float = 3.00):  # type: ignore[no-untyped-def]
    return [q(SHORT, short_bid, short_bid + 0.10, t), q(LONG, 1.00, 1.10, t)]


SHORT, LONG = spy(480, P), spy(470, P)
SPREAD = (Leg(SHORT, -1), Leg(LONG, 1))


def test_buying_power_follows_fills_an_assignment_and_a_restore():
    b = broker(1_000_000.0)
    before = b.state()
    b.submit(ComboOrder("ps|open|0", SPREAD, 2, -1.50, T0), T0)
    s0 = snap(T0, _spread_quotes(T0), SPY=500.0)
    b.process(s0)
    assert b.account(s0).buying_power_used == _fresh_requirement(b, s0) == 2 * 10 * 100
    # Sell one long wing: one short put is naked now (the plan is no longer the spread's).
    b.submit(ComboOrder("wing|close|0", (Leg(LONG, -1),), 1, -0.50, T1), T1)
    s1 = snap(T1, _spread_quotes(T1, short_bid=3.50), SPY=495.0)
    b.process(s1)
    assert b.book.quantity(LONG.symbol) == 1 and b.book.quantity(SHORT.symbol) == -2
    after_close = b.account(s1).buying_power_used
    assert after_close == _fresh_requirement(b, s1) and after_close > 2 * 10 * 100
    # An early assignment of one short put, valued at the same snapshot (same step, new version).
    assign_early(b, SHORT.symbol, 1)
    assert b.account(s1).buying_power_used == _fresh_requirement(b, s1) != after_close
    # The restore of the empty account: nothing is charged any more.
    b.restore(before)
    s2 = snap(T2, _spread_quotes(T2), SPY=500.0)
    assert b.account(s2).buying_power_used == 0.0 and b.account(s2).holdings == {}


def test_settled_expiries_leave_the_plan_and_the_holdings():
    b = broker()
    put = spy(480, P)
    s = snap(CLOSE, [q(put, 2.00, 2.10, CLOSE)], SPY=470.0)
    b.submit(ComboOrder("spy|open|0", (Leg(put, -1),), 1, -2.00, CLOSE), CLOSE)
    b.process(s)
    assert b.account(s).buying_power_used == _fresh_requirement(b, s) > 0
    b.settle_expiries(EXP, s)  # assigned: 100 shares, no option left
    account = b.account(s)
    assert account.buying_power_used == 0.0 and set(account.holdings) == {"SPY"}


def test_a_remembered_plan_is_priced_afresh_at_every_snapshot():
    memory = SimMargin()
    first, moved = snap(T0, condor_quotes(T0)), snap(T1, condor_quotes(T1, short_put_bid=6.00), SPX=4890.0)
    naked = (Leg(SP, -1),)
    assert memory.margin_required(naked, 1, first) == SimMargin().margin_required(naked, 1, first)
    at_moved = memory.margin_required(naked, 1, moved)  # the same legs again: the plan is reused
    assert at_moved == SimMargin().margin_required(naked, 1, moved)
    assert at_moved != memory.margin_required(naked, 1, first), "the price move must show"
    # Other legs or another quantity are other plans, never the remembered one.
    assert memory.margin_required(naked, 3, moved) == SimMargin().margin_required(naked, 3, moved)
    assert memory.margin_required(CONDOR, 1, moved) == SimMargin().margin_required(CONDOR, 1, moved)


def test_holdings_are_rebuilt_after_each_change_and_each_copy_is_the_callers():
    b = broker()
    b.book.trade("SPY", SecurityKind.EQUITY, 1.0, 10, 50.0)
    first = b.holdings()
    first.clear()  # the caller's copy: the book's holdings are unchanged
    assert b.holdings()["SPY"].quantity == 10
    b.book.trade("SPY", SecurityKind.EQUITY, 1.0, 5, 52.0)
    assert b.holdings()["SPY"].quantity == 15
    b.book.reduce("SPY", -15)
    assert b.holdings() == {}
