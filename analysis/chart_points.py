"""Thin a long series to what a chart can show, keeping its extremes.

Why: a year of intraday Greeks samples is several thousand points per line, many more than the
chart has pixel columns, and the SVG writes one element per marker.  Keeping, in each of
``BUCKETS`` equal slices of the x range, the slice's first, lowest, highest and last point (the
M4 reduction) draws the same line, the worst drawdown and the largest delta included, with a
fraction of the elements; the axis limits do not move.  A slice with a gap (NaN) keeps one NaN
so the line still breaks there.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, TypeVar

import numpy as np

BUCKETS = 600  # about one per SVG point across the plot area of a 10-inch-wide chart

X = TypeVar("X")


def thin(xs: Sequence[X], ys: Sequence[float | None], buckets: int = BUCKETS) -> tuple[list[X], list[float]]:
    """``xs`` ascending (numbers, dates or datetimes); None in ``ys`` is a gap (NaN).  Unchanged
    when there are no more than four points per bucket."""
    y = np.array([np.nan if v is None else v for v in ys], dtype=float)
    if len(xs) != len(y):
        raise ValueError(f"{len(xs)} x values but {len(y)} y values")
    if len(y) <= 4 * buckets:
        return list(xs), y.tolist()
    x = _positions(xs)
    span = x[-1] - x[0]
    slot = np.zeros(len(x), dtype=np.int64) if span <= 0 else ((x - x[0]) / span * buckets).astype(np.int64)
    slot = np.minimum(slot, buckets - 1)
    first = np.unique(slot, return_index=True)[1]
    last = len(slot) - 1 - np.unique(slot[::-1], return_index=True)[1]
    keep = [first, last]
    finite = np.flatnonzero(~np.isnan(y))
    if finite.size:
        order = finite[np.lexsort((y[finite], slot[finite]))]  # by slot, then by value
        starts = np.flatnonzero(np.r_[True, slot[order][1:] != slot[order][:-1]])
        ends = np.r_[starts[1:], order.size] - 1
        keep += [order[starts], order[ends]]
    gaps = np.flatnonzero(np.isnan(y))
    if gaps.size:
        keep.append(gaps[np.unique(slot[gaps], return_index=True)[1]])
    chosen = np.unique(np.concatenate(keep))
    return [xs[i] for i in chosen], y[chosen].tolist()


def _positions(xs: Sequence[Any]) -> np.ndarray:
    if isinstance(xs[0], date):  # datetime is a date too
        return np.array(xs, dtype="datetime64[us]").astype(np.int64).astype(float)
    return np.asarray(xs, dtype=float)
