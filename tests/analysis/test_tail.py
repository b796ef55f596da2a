"""The tail view: drawdown episodes split from the underwater curve, the return distribution's
VaR / CVaR / skew from empyrical and scipy, and the rolling window a short run gets."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from analysis import tail

DAYS = [date(2025, 3, 3) + timedelta(days=i) for i in range(8)]


def test_worst_drawdowns_are_distinct_episodes_deepest_first():
    values = [90.0, 95.0, 100.0, 80.0, 85.0, 70.0, 101.0, 99.0]
    worst = tail.worst_drawdowns(DAYS, values, start_value=100.0)
    assert [round(w.depth, 4) for w in worst] == [-0.3, -0.1, round(99 / 101 - 1, 4)]
    deep, first, last = worst
    assert (deep.peak, deep.trough, deep.recovered) == (DAYS[2], DAYS[5], DAYS[6])
    assert (first.peak, first.trough, first.recovered) == (DAYS[0], DAYS[0], DAYS[2])
    assert last.recovered is None and last.sessions == 1
    assert tail.worst_drawdowns(DAYS, [100.0 + i for i in range(8)], 100.0) == []
    assert len(tail.worst_drawdowns(DAYS, values, 100.0, n=2)) == 2


def test_distribution_of_a_book_with_one_bad_day():
    returns = np.array([0.01] * 19 + [-0.10])
    dist = tail.distribution(returns)
    assert dist is not None and dist.sessions == 20
    assert dist.cvar == pytest.approx(-0.10), "the mean of the worst 5% is the one bad day"
    assert dist.var == pytest.approx(-0.10 + 0.95 * 0.11), "5th percentile, linear interpolation"
    assert dist.skew < -3 and dist.excess_kurtosis > 10, "short premium: a fat left tail"
    assert (dist.worst_day, dist.best_day) == (pytest.approx(-0.10), pytest.approx(0.01))
    assert tail.distribution(np.array([0.01, 0.02])) is None


def test_rolling_window_is_a_quarter_or_half_a_short_run():
    assert tail.rolling_window(250) == 63
    assert tail.rolling_window(39) == 19
    assert tail.rolling_window(19) is None
    days = [date(2025, 1, 1) + timedelta(days=i) for i in range(40)]
    rng = np.random.default_rng(3)
    bench = 400 * np.cumprod(1 + rng.normal(0, 0.01, 40))
    returns = 0.5 * np.concatenate([[0.0], bench[1:] / bench[:-1] - 1])
    roll = tail.rolling(days, returns, dict(zip(days, bench.tolist(), strict=True)))
    assert roll is not None and roll.window == 20 and len(roll.days) == len(roll.beta) == 21
    assert roll.beta[-1] == pytest.approx(0.5), "half the benchmark's moves: beta 0.5"
