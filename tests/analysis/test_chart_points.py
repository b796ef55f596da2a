"""Thinning a long chart series: fewer points, the same extremes, ends and gaps."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import pytest

from analysis.chart_points import thin


def _intraday_samples(n: int) -> list[datetime]:
    """Samples every 30 minutes of a session, sessions on consecutive days (nights are gaps in x)."""
    start, out = datetime(2025, 1, 2, 9, 30), []
    for i in range(n):
        day, slot = divmod(i, 14)
        out.append(start + timedelta(days=day, minutes=30 * slot))
    return out


def test_a_long_curve_keeps_its_worst_drawdown_its_peak_and_its_ends():
    times = _intraday_samples(10_000)
    rng = np.random.default_rng(11)
    values = (200_000 + np.cumsum(rng.normal(0, 300, len(times)))).tolist()
    values[6_123] = min(values) - 25_000.0  # a one-sample crash
    values[2_222] = max(values) + 10_000.0
    xs, ys = thin(times, values, buckets=500)
    assert len(xs) <= 4 * 500 < len(times) / 4
    assert min(ys) == values[6_123] and xs[ys.index(min(ys))] == times[6_123], "the drawdown is still drawn"
    assert max(ys) == values[2_222] and xs[ys.index(max(ys))] == times[2_222]
    assert (xs[0], ys[0], xs[-1], ys[-1]) == (times[0], values[0], times[-1], values[-1]), (
        "axis limits unchanged"
    )
    assert xs == sorted(xs), "still in time order"
    kept = dict(zip(times, values, strict=True))
    assert all(kept[x] == y for x, y in zip(xs, ys, strict=True)), "only real samples, none invented"


def test_every_slice_keeps_its_range_so_the_envelope_is_the_same():
    xs = list(range(4_000))
    ys = [math.sin(i / 7.0) * (1 + i % 13) for i in xs]
    tx, ty = thin(xs, ys, buckets=100)
    for b in range(100):
        part = ys[b * 40 : (b + 1) * 40]
        mine = [y for x, y in zip(tx, ty, strict=True) if b * 40 <= x < (b + 1) * 40]
        assert (min(mine), max(mine)) == (min(part), max(part)), b


def test_a_gap_still_breaks_the_line_and_short_series_are_left_alone():
    xs = list(range(3_000))
    ys: list[float | None] = [float(i % 50) for i in xs]
    ys[1_500:1_600] = [None] * 100
    tx, ty = thin(xs, ys, buckets=100)
    assert any(math.isnan(y) for y in ty) and len(tx) < 1_000
    gap = [x for x, y in zip(tx, ty, strict=True) if math.isnan(y)]
    assert all(1_500 <= x < 1_600 for x in gap)
    short = [1.0, None, 3.0]
    assert thin([1, 2, 3], short, buckets=100)[0] == [1, 2, 3]
    assert math.isnan(thin([1, 2, 3], short, buckets=100)[1][1])
    with pytest.raises(ValueError, match="2 x values but 3 y values"):
        thin([1, 2], short)
