"""sim.markets.synthetic.rows builds its quotes column by column through the slots' setters: the
quotes must be exactly what ``OptionQuote(...)`` builds, and stay frozen."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import date, datetime
from itertools import repeat

import pytest

from core.types import OptionQuote, Right
from sim.markets.synthetic.rows import quotes_from_columns
from testing.factories import spxw

T = datetime(2025, 3, 7, 10, 0)


def _rows() -> list[tuple]:
    out = []
    for i, strike in enumerate((4800.0, 4900.0, 5000.0)):
        c = spxw(strike, Right.PUT if i % 2 else Right.CALL, date(2025, 4, 17))
        out.append((c, T, 1.0 + i, 1.5 + i, 10 + i, 12 + i, 100 * i, 1000 + i, 5000.25, 0.2 + i / 100,
                    -0.3 + i / 10, 0.001 * i, -0.5 - i, 1.25 + i))  # fmt: skip
    return out


def test_column_built_quotes_equal_the_dataclass_constructor_field_for_field():
    rows = _rows()
    columns: list[Iterable] = [list(col) for col in zip(*rows, strict=True)]
    columns[1] = repeat(T)  # a constant column may be an endless iterable (the step's time)
    built = quotes_from_columns(columns)
    assert built == tuple(OptionQuote(*row) for row in rows)
    assert [dataclasses.astuple(q) for q in built] == [dataclasses.astuple(OptionQuote(*r)) for r in rows]
    with pytest.raises(dataclasses.FrozenInstanceError):
        built[0].bid = 0.0  # type: ignore[misc]


def test_the_shortcut_holds_only_while_quotes_have_no_post_init_and_the_columns_match_the_fields():
    # a __post_init__ (a validation) would be skipped by the column builder: it must be revisited then
    assert not hasattr(OptionQuote, "__post_init__")
    with pytest.raises(ValueError, match="13 columns for 14 OptionQuote fields"):
        quotes_from_columns([[]] * 13)
