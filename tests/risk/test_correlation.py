"""Correlation groups: symbol mapping, positions counted by campaign, phase and EXTREME caps."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime

import pytest

from core.regime import Regime
from core.settings import Settings
from core.types import GroupStatus, Leg, OrderIntent, PositionGroup, Purpose, Right, SecurityKind
from risk.correlation import check_correlation, count_positions, limits, symbol_group
from testing.factories import spxw

S = Settings()


@pytest.mark.parametrize(
    ("symbol", "group"),
    [("ES", "A1"), ("ESH26", "A1"), ("MES", "A1"), ("EW3", "A1"), ("SPXW", "A2"), ("SPY", "A2"),
     ("IWM", "A2"), ("GC", "B2"), ("MGCZ25", "B2"), ("CLF6", "C1"), ("LO", "C1"), ("ZN", "B1"),
     ("6E", "E"), ("6EH26", "E"), ("HE", "D2"), ("XYZ", "other:XYZ")],
)  # fmt: skip
def test_symbols_map_to_the_rulebook_groups(symbol, group):
    assert symbol_group(symbol) == group


def _on(root: str, underlying: str) -> Leg:
    c = dataclasses.replace(spxw(100.0, Right.PUT, date(2025, 6, 20)), root=root, underlying=underlying,
                            kind=SecurityKind.FUTURE_OPTION)  # fmt: skip
    return Leg(c, -1)


def _group(gid: str, leg: Leg, campaign: str = "") -> PositionGroup:
    return PositionGroup(gid, "s", (leg,), 1, GroupStatus.OPEN, campaign=campaign)


def _intent(leg: Leg, campaign: str = "") -> OrderIntent:
    return OrderIntent(
        "new", "s", Purpose.OPEN, (leg,), 1, 0, 0, 1, "e", datetime(2025, 3, 3), campaign=campaign
    )


def test_caps_by_phase_and_one_lower_in_the_extreme_regime():
    assert limits(1, Regime.NORMAL, S) == (2, 3)
    assert limits(4, Regime.NORMAL, S) == (3, 4)
    assert limits(4, Regime.EXTREME, S) == (2, 3)
    assert limits(1, Regime.EXTREME, S) == (1, 2)


def test_a_group_at_its_cap_blocks_a_new_position_but_not_one_in_another_group():
    gc = _on("GC", "GCM25")
    held = count_positions([_group("a", gc), _group("b", gc)])
    assert check_correlation(_intent(gc), held, 4, Regime.NORMAL, S).approved
    assert check_correlation(_intent(gc), held, 4, Regime.EXTREME, S).code == "correlation_group"
    assert check_correlation(_intent(gc), held, 2, Regime.NORMAL, S).code == "correlation_group"
    assert check_correlation(_intent(_on("CL", "CLM25")), held, 2, Regime.NORMAL, S).approved


def test_campaign_parts_count_once_and_adding_to_a_campaign_adds_no_position():
    es = _on("ES", "ESM25")
    held = count_positions([_group("a-spread", es, "a"), _group("a-naked", es, "a"), _group("b", es)])
    assert held.per_group == {"A1": 2}
    assert check_correlation(_intent(es), held, 2, Regime.NORMAL, S).code == "correlation_group"
    assert check_correlation(_intent(es, campaign="a"), held, 2, Regime.NORMAL, S).approved


def test_equity_index_groups_share_a_combined_cap():
    es, spy = _on("ES", "ESM25"), _on("SPY", "SPY")
    held = count_positions([_group("a", es), _group("b", es), _group("c", spy)])
    assert check_correlation(_intent(spy), held, 3, Regime.NORMAL, S).code == "correlation_equity_index"
    assert check_correlation(_intent(spy), held, 4, Regime.NORMAL, S).approved
    assert check_correlation(_intent(_on("GC", "GCM25")), held, 3, Regime.NORMAL, S).approved
