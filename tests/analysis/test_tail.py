"""The tail view: drawdown episodes split from the underwater curve, the return distribution's
VaR / CVaR / skew / kurtosis and the rolling Sharpe / volatility / beta (numpy, checked against
empyrical-reloaded and scipy.stats on the same returns), and the rolling window a short run gets."""

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


@pytest.fixture(scope="module")
def reference():
    empyrical = pytest.importorskip("empyrical", reason="empyrical-reloaded is the reference (dev extra)")
    stats = pytest.importorskip("scipy.stats", reason="scipy.stats is the reference")
    return empyrical, stats


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_distribution_matches_empyrical_and_scipy(seed, reference):
    empyrical, stats = reference
    r = np.random.default_rng(seed).standard_t(3, 250) * 0.01
    dist = tail.distribution(r)
    assert dist is not None
    assert dist.var == pytest.approx(empyrical.value_at_risk(r, tail.VAR_CUTOFF), rel=1e-12)
    assert dist.cvar == pytest.approx(empyrical.conditional_value_at_risk(r, tail.VAR_CUTOFF), rel=1e-12)
    assert dist.skew == pytest.approx(stats.skew(r), rel=1e-10)
    assert dist.excess_kurtosis == pytest.approx(stats.kurtosis(r), rel=1e-10)


def test_rolling_matches_empyrical_with_benchmark_gaps_and_a_flat_stretch(reference):
    import pandas as pd

    empyrical, _ = reference
    n = 120
    days = [date(2025, 1, 1) + timedelta(days=i) for i in range(n)]
    rng = np.random.default_rng(5)
    returns = rng.normal(0.0005, 0.01, n)
    returns[20:85] = 0.001  # a flat stretch: zero dispersion, an infinite Sharpe, not 1e15
    closes = (400 * np.cumprod(1 + rng.normal(0, 0.01, n))).tolist()
    bench = {
        d: c for i, (d, c) in enumerate(zip(days, closes, strict=True)) if i % 7 != 3 and not 50 <= i < 115
    }
    roll = tail.rolling(days, returns, bench)
    assert roll is not None and roll.window == 60
    assert np.isinf(roll.sharpe[25]) and np.isnan(roll.beta[53]), "flat window; no benchmark closes"
    index = pd.DatetimeIndex(days)
    r = pd.Series(returns, index=index)
    b = pd.Series([bench.get(d, np.nan) for d in days], index=index).pct_change(fill_method=None)
    for ours, theirs in (
        (roll.sharpe, empyrical.roll_sharpe_ratio(r, window=roll.window)),
        (roll.volatility, empyrical.roll_annual_volatility(r, window=roll.window)),
        (roll.beta, empyrical.roll_beta(r, b, window=roll.window)),
    ):
        np.testing.assert_allclose(ours, np.asarray(theirs, dtype=float), rtol=1e-10, equal_nan=True)
