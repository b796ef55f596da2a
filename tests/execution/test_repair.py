"""Repair planning: levels to complete or unwind to, the moves, and marketable limits."""

from __future__ import annotations

import pytest

from core.types import Right
from execution.repair import build_order, completion_net, levels, moves_to
from testing.factories import friday, quote, spxw

NOW = friday()
A, B = spxw(4950, Right.PUT, NOW.date()), spxw(4930, Right.PUT, NOW.date())
RATIOS = {A.symbol: 1, B.symbol: -2}  # a 1x2 ratio spread
QUOTES = {A.symbol: quote(A, NOW, 2.00, 2.20, -0.3), B.symbol: quote(B, NOW, 1.00, 1.10, -0.2)}
CONTRACTS = {A.symbol: A, B.symbol: B}


def test_levels_complete_to_the_most_filled_leg_and_unwind_to_the_least():
    # 3 units wanted: the long leg filled 2, the short leg 2 contracts (= 1 unit)
    assert levels(RATIOS, {A.symbol: 2, B.symbol: -2}, 3) == (2, 1)
    assert levels(RATIOS, {A.symbol: 0, B.symbol: -1}, 3) == (1, 0)  # half a unit: up 1, down 0
    assert levels(RATIOS, {A.symbol: 5, B.symbol: 0}, 3) == (3, 0)  # never past the intent


def test_moves_bring_every_leg_to_the_level_and_strays_back_to_flat():
    assert moves_to(RATIOS, {A.symbol: 2, B.symbol: -2}, 2) == {B.symbol: -2}
    assert moves_to(RATIOS, {A.symbol: 2, B.symbol: -2}, 1) == {A.symbol: -1}
    assert moves_to(RATIOS, {A.symbol: 0, B.symbol: 0, "STRAY": 3}, 0) == {"STRAY": -3}


def test_completion_net_prices_the_missing_legs_at_natural():
    # paid 2.20 for one long, completing needs two shorts sold at the bid 1.00
    assert completion_net(2.20, {B.symbol: -2}, QUOTES, 1) == pytest.approx(0.20)


def test_repair_orders_reduce_ratios_cushion_through_natural_and_respect_caps():
    order = build_order({A.symbol: 2, B.symbol: -4}, CONTRACTS, QUOTES, 0.05, 2)
    assert order.quantity == 2 and {leg.ratio for leg in order.legs} == {1, -2}
    assert order.natural == pytest.approx(2.20 - 2.00)
    assert order.limit == pytest.approx(0.30)  # two ticks through natural
    capped = build_order({A.symbol: 2, B.symbol: -4}, CONTRACTS, QUOTES, 0.05, 2, max_limit=0.22)
    assert capped.limit == pytest.approx(0.20)
    sell_only = build_order({A.symbol: -1}, CONTRACTS, {A.symbol: quote(A, NOW, 0.0, 0.05, -0.01)}, 0.05, 2)
    assert sell_only.limit <= 0.0, "never a debit for selling every leg"
