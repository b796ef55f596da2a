"""The one closing intent (strategy and risk exits) and the snapshot's quotes(legs)."""

from __future__ import annotations

from core.closing import close_intent
from core.types import GroupStatus, Leg, PositionGroup, Purpose, Right
from testing.factories import friday, snapshot, spxw, zero_dte_chain

NOW = friday(14, 50)
SNAP = snapshot(NOW, [zero_dte_chain(NOW)])
SHORT_PUT = Leg(spxw(4950, Right.PUT, NOW.date()), -1)
LONG_PUT = Leg(spxw(4900, Right.PUT, NOW.date()), 1)
SPREAD = PositionGroup("zero_dte-20250307-001", "zero_dte", (SHORT_PUT, LONG_PUT), 3, GroupStatus.OPEN)


def test_quotes_are_in_leg_order_and_none_when_any_leg_is_unquoted():
    quotes = SNAP.quotes(SPREAD.legs)
    assert quotes is not None
    assert [q.contract for q in quotes] == [SHORT_PUT.contract, LONG_PUT.contract]
    missing = Leg(spxw(4951, Right.PUT, NOW.date()), 1)  # no 4951 strike in the chain
    assert SNAP.quotes((SHORT_PUT, missing)) is None
    assert SNAP.quotes(()) == ()


def test_strategy_exit_reverses_every_leg_and_starts_at_the_mid():
    intent = close_intent(SPREAD, SNAP, "profit_target", {"profit": 1.5})
    assert intent is not None
    assert intent.purpose is Purpose.CLOSE and intent.quantity == 3
    assert [leg.ratio for leg in intent.legs] == [1, -1]
    quotes = SNAP.quotes(SPREAD.legs)
    assert quotes is not None
    short_q, long_q = quotes
    mid = (short_q.bid + short_q.ask) / 2 - (long_q.bid + long_q.ask) / 2
    natural = short_q.ask - long_q.bid  # buy back the short at ask, sell the long at bid
    assert abs(intent.reference_price - mid) < 1e-9
    assert abs(intent.natural_price - natural) < 1e-9
    assert intent.notes == {"minute": 14 * 60 + 50, "profit": 1.5}


def test_risk_exit_is_urgent_and_priced_at_natural():
    intent = close_intent(SPREAD, SNAP, "expiry_itm", urgent=True)
    assert intent is not None
    assert [leg.ratio for leg in intent.legs] == [1, -1] and intent.quantity == 3
    assert intent.reference_price == intent.natural_price
    assert intent.notes["minute"] == 14 * 60 + 50  # risk exits carry the signal minute too


def test_no_intent_when_a_leg_has_no_quote():
    unquoted = PositionGroup("g", "s", (Leg(spxw(4951, Right.PUT, NOW.date()), -1),), 1, GroupStatus.OPEN)
    assert close_intent(unquoted, SNAP, "stop_loss") is None
