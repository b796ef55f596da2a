"""Costs used by entries and profit targets: fees, expected slippage, net credit, targets."""

from __future__ import annotations

import pytest

from core.costs import (
    expected_entry_credit,
    expected_slippage_per_unit,
    net_credit_after_costs,
    net_profit_per_unit,
    profit_target_exit_price,
    round_trip_fees_per_unit,
)
from core.types import Leg, Right
from testing.factories import friday, quote, spxw

NOW = friday()
DAY = NOW.date()
SHORT, LONG = spxw(4950, Right.PUT, DAY), spxw(4930, Right.PUT, DAY)
LEGS = (Leg(SHORT, -1), Leg(LONG, 1))
QUOTES = [quote(SHORT, NOW, 2.00, 2.20, -0.2), quote(LONG, NOW, 1.00, 1.10, -0.1)]  # sizes 10 x 10


def test_round_trip_fees_follow_the_tastytrade_schedule():
    assert round_trip_fees_per_unit(LEGS) == pytest.approx(2.0)  # $1 per contract to open, $0 to close


def test_slippage_grows_with_spread_share_and_with_size_beyond_the_displayed_book():
    half_spreads = 0.10 + 0.05
    assert expected_slippage_per_unit(LEGS, QUOTES, 1, 1.0) == pytest.approx(half_spreads)
    assert expected_slippage_per_unit(LEGS, QUOTES, 1, 0.5) == pytest.approx(half_spreads / 2)
    # 20 units against 10 displayed: half the contracts walk the book for another half spread x 0.5
    assert expected_slippage_per_unit(LEGS, QUOTES, 20, 1.0) == pytest.approx(half_spreads * 1.25)


def test_net_credit_after_costs_is_what_an_entry_may_count_on():
    mid_credit = 2.10 - 1.05
    opening = net_credit_after_costs(LEGS, QUOTES, 1, 1.0)
    assert opening == pytest.approx(mid_credit - 0.15 - 0.02)
    assert opening == pytest.approx(expected_entry_credit(LEGS, QUOTES, 1.0))
    assert net_credit_after_costs(LEGS, QUOTES, 1, 1.0, round_trip=True) == pytest.approx(
        mid_credit - 0.30 - 0.02
    )


def test_profit_targets_are_net_of_round_trip_costs():
    entry = -1.00  # a 1.00 credit
    exit_price = profit_target_exit_price(entry, 0.5, LEGS)
    assert exit_price == pytest.approx(0.48)  # 0.50 less $2 of fees on a 100 multiplier
    assert net_profit_per_unit(entry, exit_price, LEGS) == pytest.approx(50.0)
    debit_exit = profit_target_exit_price(2.00, 0.3, LEGS)  # a 2.00 debit sold back for 2.62 credit
    assert debit_exit == pytest.approx(-2.62)
    assert net_profit_per_unit(2.00, debit_exit, LEGS) == pytest.approx(60.0)
