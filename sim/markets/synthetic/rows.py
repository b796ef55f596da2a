"""Quotes built from columns: all at once for a batch of open legs, or row by row as read for a chain.

A chain is priced whole (one vectorised call) but its readers mostly look at a few rows: the
strategies' delta and strike look-ups scan ``contracts`` and ``deltas`` and build only the row they
return, so a chain of 800 strikes usually costs a handful of ``OptionQuote`` objects.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import fields
from typing import overload

import numpy as np

from core.types import OptionContract, OptionQuote, QuoteTable

# The slots' own setters, in field order: building quotes a column at a time through them makes the
# same objects as ``OptionQuote(*row)`` at under half the cost of the frozen dataclass's __init__
# (which sets each field through object.__setattr__); chains are thousands of quotes a step.
_FIELD_SETTERS = tuple(getattr(OptionQuote, f.name).__set__ for f in fields(OptionQuote))
_INDEX = {f.name: i for i, f in enumerate(fields(OptionQuote))}
_DELTA = _INDEX["delta"]
_NUMERIC = frozenset(_INDEX) - {"contract", "time"}


def quotes_from_columns(columns: Sequence[Iterable]) -> tuple[OptionQuote, ...]:
    """OptionQuotes from one iterable per field, in field order (the first column sets the count).
    Valid because ``OptionQuote`` has no ``__post_init__`` to run (a test checks it)."""
    if len(columns) != len(_FIELD_SETTERS):
        raise ValueError(f"{len(columns)} columns for {len(_FIELD_SETTERS)} OptionQuote fields")
    first = list(columns[0])
    quotes = [object.__new__(OptionQuote) for _ in first]
    for setter, column in zip(_FIELD_SETTERS, (first, *columns[1:]), strict=True):
        deque(map(setter, quotes, column), maxlen=0)  # run the setters, keep nothing
    return tuple(quotes)


Column = Sequence | np.ndarray


def _pick(column: Column, indices: list[int]) -> list:
    """``column``'s values at ``indices`` as Python objects: a numpy column converts only those
    (``tolist`` gives the same floats and ints whether of the whole array or of some elements)."""
    if isinstance(column, np.ndarray):
        return column[indices].tolist()
    return [column[i] for i in indices]


class ChainRows(QuoteTable):
    """A chain's quotes as columns (lists or numpy arrays in ``OptionQuote`` field order, the first
    the contracts); each row is built the first time it is read and kept, so it is always the same
    object.  A numpy column (``pricing.price_arrays``) becomes a list only when read whole: converting
    every column of every chain cost half as much as pricing them, and most rows are never read."""

    def __init__(self, columns: Sequence[Column]) -> None:
        if len(columns) != len(_FIELD_SETTERS):
            raise ValueError(f"{len(columns)} columns for {len(_FIELD_SETTERS)} OptionQuote fields")
        self._columns: list[Column] = list(columns)
        self.contracts: Sequence[OptionContract] = self._whole(0)
        self.deltas: Sequence[float] = self._whole(_DELTA)  # the delta look-ups scan it
        self._built: list[OptionQuote | None] = [None] * len(self.contracts)

    @property
    def built(self) -> int:
        """Rows built so far (what laziness saved is visible here)."""
        return sum(q is not None for q in self._built)

    def rows(self, indices: Sequence[int]) -> tuple[OptionQuote, ...]:
        built = self._built
        missing = [i for i in indices if built[i] is None]
        if missing:
            if len(missing) < len(built):
                columns = [_pick(column, missing) for column in self._columns]
            else:
                columns = [self._whole(j) for j in range(len(self._columns))]
            for i, q in zip(missing, quotes_from_columns(columns), strict=True):
                built[i] = q
        return tuple(built[i] for i in indices)  # type: ignore[misc]  # every index was built above

    def values(self, name: str) -> Sequence[float]:
        if name not in _NUMERIC:
            raise ValueError(f"{name!r} is not a numeric OptionQuote field ({', '.join(sorted(_NUMERIC))})")
        return self._whole(_INDEX[name])

    def _whole(self, j: int) -> Sequence:
        """Column ``j`` as a list, converted once (the values stay the same Python objects)."""
        column = self._columns[j] = _listed(self._columns[j])
        return column

    def __len__(self) -> int:
        return len(self._built)

    @overload
    def __getitem__(self, index: int) -> OptionQuote: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[OptionQuote, ...]: ...
    def __getitem__(self, index: int | slice) -> OptionQuote | tuple[OptionQuote, ...]:
        picked = range(len(self._built))[index]  # IndexError / negative indices as a tuple has them
        return self.rows(picked) if isinstance(picked, range) else self.rows([picked])[0]

    def __iter__(self) -> Iterator[OptionQuote]:
        return iter(self.rows(range(len(self._built))))

    def __eq__(self, other: object) -> bool:
        """Equal to any sequence of the same quotes (a chain compares alike however it was built)."""
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(other) == len(self) and tuple(self) == tuple(other)

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return repr(tuple(self))


def _listed(column: Column) -> Sequence:
    return column.tolist() if isinstance(column, np.ndarray) else column
