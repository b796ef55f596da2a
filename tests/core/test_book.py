"""Book: deterministic group ids, live/closed views, JSON round trip for the state store."""

from __future__ import annotations

import json
from datetime import datetime

from core.book import Book
from core.types import GroupStatus, Leg, PositionGroup, Right
from tests.factories import spxw


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


def test_views_and_json_round_trip():
    book = Book()
    book.new_group_id("zero_dte", datetime(2025, 3, 7))
    book.put(_group("zero_dte-20250307-001", GroupStatus.OPEN))
    book.put(_group("zero_dte-20250307-002", GroupStatus.CLOSED))
    book.put(_group("zero_dte-20250307-003", GroupStatus.ABANDONED))
    assert [g.group_id for g in book.live()] == ["zero_dte-20250307-001"]
    assert len(book.opened_on(datetime(2025, 3, 7).date(), "zero_dte")) == 2
    restored = Book.from_json(json.loads(json.dumps(book.to_json())))
    assert restored.to_json() == book.to_json()
    assert restored.get("zero_dte-20250307-001") == book.get("zero_dte-20250307-001")
    assert restored.new_group_id("zero_dte", datetime(2025, 3, 7)) == "zero_dte-20250307-002"


def test_realized_pnl_after_fees():
    closed = _group("g", GroupStatus.CLOSED)
    closed = PositionGroup(
        **{**{f: getattr(closed, f) for f in closed.__slots__}, "exit_price": 0.25, "exit_fees": 0.0}
    )
    # credit 1.25, paid 0.25 to close -> 1.00 x 2 units x 100 = $200, minus $4 fees
    assert closed.realized_pnl() == 196.0
