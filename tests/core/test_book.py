"""Book: deterministic group ids, live/closed views, JSON round trip for the state store."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime

import pytest

from core.book import Book, BookState
from core.types import GroupStatus, Leg, PositionGroup, Right
from persistence.typed import from_plain, to_plain
from testing.factories import spxw


def _group(gid: str, status: GroupStatus) -> PositionGroup:
    expiry = datetime(2025, 3, 7).date()
    legs = (Leg(spxw(4900, Right.PUT, expiry), -1), Leg(spxw(4875, Right.PUT, expiry), 1))
    return PositionGroup(gid, "zero_dte", legs, 2, status, opened_at=datetime(2025, 3, 7, 10, 30),
                         entry_price=-1.25, entry_fees=4.0, notes={"vix": 24.5})  # fmt: skip


def test_ids_are_deterministic_per_strategy_and_day():
    book = Book()
    now = datetime(2025, 3, 7, 10, 30)
    assert [book.new_group_id("zero_dte", now) for _ in range(2)] == [
        "zero_dte-20250307-001",
        "zero_dte-20250307-002",
    ]
    assert book.new_group_id("zero_dte", datetime(2025, 3, 14, 10, 30)) == "zero_dte-20250314-001"


def test_views_and_state_round_trip():
    book = Book()
    book.new_group_id("zero_dte", datetime(2025, 3, 7))
    book.put(_group("zero_dte-20250307-001", GroupStatus.OPEN))
    book.put(_group("zero_dte-20250307-002", GroupStatus.CLOSED))
    book.put(_group("zero_dte-20250307-003", GroupStatus.ABANDONED))
    assert [g.group_id for g in book.live()] == ["zero_dte-20250307-001"]
    assert len(book.opened_on(datetime(2025, 3, 7).date(), "zero_dte")) == 2
    restored = Book()
    restored.restore(from_plain(BookState, json.loads(json.dumps(to_plain(book.state())))))
    assert restored.state() == book.state()
    assert [g.group_id for g in restored.state().groups] == [g.group_id for g in book.state().groups]
    assert restored.get("zero_dte-20250307-001") == book.get("zero_dte-20250307-001")
    assert restored.new_group_id("zero_dte", datetime(2025, 3, 7)) == "zero_dte-20250307-002"


def test_realized_pnl_after_fees():
    closed = _group("g", GroupStatus.CLOSED)
    closed = PositionGroup(
        **{**{f: getattr(closed, f) for f in closed.__slots__}, "exit_price": 0.25, "exit_fees": 0.0}
    )
    # credit 1.25, paid 0.25 to close -> 1.00 x 2 units x 100 = $200, minus $4 fees
    assert closed.realized_pnl() == 196.0


def test_an_opening_fill_is_split_into_its_parts_at_their_own_fill_prices():
    from datetime import date

    from core.book import split_into_parts

    expiry = date(2025, 7, 3)
    legs = (Leg(spxw(5700, Right.PUT, expiry), 1), Leg(spxw(5650, Right.PUT, expiry), -1),
            Leg(spxw(5000, Right.PUT, expiry), -2))  # fmt: skip
    opened = PositionGroup("lt112-20250305-001", "lt112", legs, 1, GroupStatus.OPEN, opened_at=datetime(2025, 3, 5, 10, 5),
                           entry_price=40.0 - 30.0 - 2 * 6.0, entry_fees=4.0, max_loss_per_unit=2000.0,
                           parts=(("spread", (0, 1)), ("naked", (2,))))  # fmt: skip
    spread, naked = split_into_parts(opened, (40.0, 30.0, 6.0))
    assert (spread.group_id, naked.group_id) == ("lt112-20250305-001-spread", "lt112-20250305-001-naked")
    assert spread.entry_price == 10.0 and naked.entry_price == -12.0
    assert spread.entry_fees == 2.0 and naked.entry_fees == 2.0
    assert spread.max_loss_per_unit + naked.max_loss_per_unit == 2000.0
    assert spread.campaign == naked.campaign == "lt112-20250305-001" and not spread.parts
    # Without per-leg prices the fill is shared out by the mids noted at entry.
    noted = dataclasses.replace(opened, notes={"mid_0": 41.0, "mid_1": 31.0, "mid_2": 6.5})
    s2, n2 = split_into_parts(noted, ())
    assert s2.entry_price + n2.entry_price == pytest.approx(opened.entry_price)
    assert split_into_parts(dataclasses.replace(opened, parts=()), ()) == [
        dataclasses.replace(opened, parts=())
    ]


def test_campaign_part_and_parts_survive_the_json_round_trip():
    from core.book import group_from_json, group_to_json

    g = PositionGroup("lt112-20250305-001", "lt112", (Leg(spxw(5000, Right.PUT, datetime(2025, 7, 3).date()), -2),), 1,
                      GroupStatus.OPENING, campaign="c1", part="naked", parts=(("naked", (0,)),))  # fmt: skip
    assert group_from_json(json.loads(json.dumps(group_to_json(g)))) == g


def test_views_follow_every_put_and_remove_and_callers_cannot_change_them():
    book = Book()
    book.put(_group("zero_dte-20250307-001", GroupStatus.OPEN))
    assert [g.group_id for g in book.live("zero_dte")] == ["zero_dte-20250307-001"]
    assert book.closed() == []
    book.put(_group("zero_dte-20250307-001", GroupStatus.CLOSED))  # closed by a later put
    assert book.live("zero_dte") == [] and [g.group_id for g in book.closed()] == ["zero_dte-20250307-001"]
    book.put(_group("zero_dte-20250307-002", GroupStatus.OPENING))
    view = book.live()
    view.clear()  # type: ignore[attr-defined]  # a caller's list, not the book's
    assert [g.group_id for g in book.live()] == ["zero_dte-20250307-002"]
    book.remove("zero_dte-20250307-002")
    assert book.live() == []
