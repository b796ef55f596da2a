"""Positions held at a close, marked as the account values them: the open half of a strategy's P&L
(realised + open).  Hand-made positions with known marks; the CSV the reports read back."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest

from core.types import GroupStatus, Leg, OptionChain, PositionGroup, Right
from monitoring import open_positions as op
from monitoring.performance import ClosedTrade, strategy_stats
from testing.factories import quote, snapshot, spxw

NOW = datetime(2025, 3, 7, 16, 0)
EXP = NOW.date() + timedelta(days=40)
PUT, CALL = spxw(4900, Right.PUT, EXP), spxw(5100, Right.CALL, EXP)


def _snap(put=(9.0, 10.0), call: tuple[float, float] | None = (3.9, 4.1)):
    quotes = [quote(PUT, NOW, put[0], put[1], -0.2)]
    if call is not None:
        quotes.append(quote(CALL, NOW, call[0], call[1], 0.15))
    return snapshot(NOW, [OptionChain("SPXW", EXP, "SPX", 5000.0, tuple(quotes))])


def _strangle(group_id="strangle-20250303-001", status=GroupStatus.OPEN, qty=2) -> PositionGroup:
    """Sold for 20.00 a unit (two units, $4 of fees): cost basis -20 x 2 x 100 + 4 = -3,996."""
    return PositionGroup(
        group_id, "strangle", (Leg(PUT, -1), Leg(CALL, -1)), qty, status,
        opened_at=NOW - timedelta(days=4), entry_price=-20.0, entry_fees=4.0,
    )  # fmt: skip


def test_a_held_group_is_marked_at_its_legs_mids():
    [p] = op.mark_positions([_strangle()], _snap())
    assert p.mark == pytest.approx(-(9.5 + 4.0)), "net mid per unit, credit structures negative"
    assert p.cost_basis == pytest.approx(-3_996.0)
    assert p.market_value == pytest.approx(-2_700.0)
    assert p.unrealized_pnl == pytest.approx(1_296.0), (
        "closing at the mark keeps 13.00 of the 20.00, less fees"
    )
    assert p.legs == f"-1x{PUT.symbol.replace(' ', '')} -1x{CALL.symbol.replace(' ', '')}", "as trades.csv"


def test_only_open_and_closing_groups_are_held():
    groups = [
        _strangle("a"),
        _strangle("b", GroupStatus.CLOSING),
        _strangle("c", GroupStatus.OPENING),
        _strangle("d", GroupStatus.CLOSED),
        _strangle("e", GroupStatus.ABANDONED),
    ]
    assert [p.group_id for p in op.mark_positions(groups, _snap())] == ["a", "b"]


def test_a_position_with_an_unquoted_leg_is_listed_unmarked_not_guessed():
    [p] = op.mark_positions([_strangle()], _snap(call=None))
    assert p.mark is None and p.market_value is None and p.unrealized_pnl is None
    assert p.cost_basis == pytest.approx(-3_996.0), "what was paid is still known"


def test_the_csv_round_trips_to_the_cent(tmp_path):
    held = op.mark_positions([_strangle(), _strangle("x", qty=1)], _snap(put=(9.13, 9.17)))
    unmarked = op.mark_positions([_strangle("y")], _snap(call=None))
    path = tmp_path / op.OPEN_POSITIONS
    op.write_csv(path, held + unmarked)
    back = op.read_csv(path)
    assert [p.group_id for p in back] == ["strangle-20250303-001", "x", "y"]
    for a, b in zip(held + unmarked, back, strict=True):
        assert b.unrealized_pnl == (
            None if a.unrealized_pnl is None else pytest.approx(a.unrealized_pnl, abs=1e-6)
        )
    op.write_csv(path, [])
    assert op.read_csv(path) == [], "flat at the end: just the header"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("group_id,", "group,", 1), "expected the columns"),
        (lambda t: t.replace(",2,100,", ",0,100,", 1), "csv:2: bad open position row"),
        (lambda t: t.replace(",-13.5,", ",nan,", 1), "csv:2: bad open position row"),
    ],
)
def test_a_malformed_file_is_refused_with_file_and_line(tmp_path, edit, message):
    path = tmp_path / op.OPEN_POSITIONS
    op.write_csv(path, op.mark_positions([_strangle()], _snap()))
    path.write_text(edit(path.read_text()))
    with pytest.raises(ValueError, match=message):
        op.read_csv(path)


def test_strategy_pnl_is_realised_plus_open_with_the_campaign_inside():
    """An IPMCC campaign: a weekly closed for +60, the long call held (+900 at its mark) and the
    current weekly held (-25): the strategy made +935, not the +60 its closed trades show."""
    closed = [ClosedTrade("ipmcc-w1", "ipmcc", NOW.date(), 60.0, 1.0)]
    long_call = op.OpenPosition(
        "ipmcc-1", "ipmcc", "ipmcc-1", "long_call", NOW, 1, 100, "+1xSPY", 80.0, 1.0, 89.01
    )
    weekly = dataclasses.replace(
        long_call, group_id="ipmcc-w2", part="short_call", entry_price=-1.0, mark=-1.24
    )
    unmarked = dataclasses.replace(long_call, group_id="ipmcc-2", mark=None)
    rung = op.OpenPosition("leap-1", "leap_ladder", "leap-1", "", NOW, 1, 100, "-1xSPY", -7.0, 1.0, -7.5)
    stats = strategy_stats(closed, {"ipmcc": 0.75}, [long_call, weekly, unmarked, rung])
    ipmcc = stats["ipmcc"]
    assert ipmcc.realized_pnl == pytest.approx(60.0)
    assert ipmcc.open_pnl == pytest.approx(900.0 - 25.0), "(89.01 - 80) x 100 - 1, (1.00 - 1.24) x 100 - 1"
    assert ipmcc.total_pnl == pytest.approx(935.0)
    assert (ipmcc.open_positions, ipmcc.unmarked) == (3, 1), "the unmarked call is counted, not valued"
    assert stats["leap_ladder"].trades == 0 and stats["leap_ladder"].total_pnl == pytest.approx(-51.0)
    assert stats["portfolio"].total_pnl == pytest.approx(935.0 - 51.0)
    assert ipmcc.expectancy == pytest.approx(60.0), "per closed trade: open positions are not trades"
