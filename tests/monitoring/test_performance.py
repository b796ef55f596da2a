"""Every portfolio metric against empyrical-reloaded on the same returns, plus the trade statistics
a trader reads next to them (win rate against the expected rate, costs, attribution)."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pytest

from monitoring import performance as pf


@pytest.fixture
def empyrical():
    return pytest.importorskip("empyrical", reason="empyrical-reloaded is the reference (dev extra)")


def _series(seed: int, n: int = 260, drift: float = 0.0004, vol: float = 0.01) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(drift, vol, n)


CASES = [
    pytest.param(_series(1), id="typical"),
    pytest.param(_series(2, drift=-0.001, vol=0.02), id="losing"),
    pytest.param(_series(3, n=30, vol=0.03), id="short"),
    pytest.param(np.concatenate([_series(4, n=50), [-0.2], _series(5, n=50)]), id="crash"),
]


@pytest.mark.parametrize("r", CASES)
def test_return_metrics_match_empyrical(r, empyrical):
    assert pf.sharpe_ratio(r) == pytest.approx(empyrical.sharpe_ratio(r), rel=1e-10)
    assert pf.sortino_ratio(r) == pytest.approx(empyrical.sortino_ratio(r), rel=1e-10)
    assert pf.downside_risk(r) == pytest.approx(empyrical.downside_risk(r), rel=1e-10)
    assert pf.max_drawdown(r) == pytest.approx(empyrical.max_drawdown(r), rel=1e-10)
    assert pf.annual_return(r) == pytest.approx(empyrical.annual_return(r), rel=1e-10)
    assert pf.annual_volatility(r) == pytest.approx(empyrical.annual_volatility(r), rel=1e-10)
    assert pf.calmar_ratio(r) == pytest.approx(empyrical.calmar_ratio(r), rel=1e-10)


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_alpha_beta_match_empyrical(seed, empyrical):
    rng = np.random.default_rng(seed)
    bench = rng.normal(0.0005, 0.011, 252)
    r = 0.0002 + 0.6 * bench + rng.normal(0, 0.004, 252)
    alpha, beta = pf.alpha_beta(r, bench)
    ref_alpha, ref_beta = empyrical.alpha_beta(r, bench)
    assert beta == pytest.approx(ref_beta, rel=1e-10)
    assert alpha == pytest.approx(ref_alpha, rel=1e-10)
    assert beta == pytest.approx(0.6, abs=0.05), "recovers the beta it was built with"


def test_drawdown_series_matches_empyrical(empyrical):
    r = _series(21)
    ours = pf.drawdown_series(r)
    theirs = np.asarray(empyrical.stats.drawdown_series(r))
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-15)


def test_degenerate_inputs_give_nan_not_garbage(empyrical):
    assert math.isnan(pf.sharpe_ratio(np.array([0.01])))
    assert math.isnan(pf.calmar_ratio(np.array([0.01, 0.02])))  # never in drawdown
    assert math.isinf(pf.sharpe_ratio(np.array([0.01, 0.01, 0.01])))
    assert math.isinf(empyrical.sharpe_ratio(np.array([0.01, 0.01, 0.01])))
    assert (
        pf.alpha_beta(np.array([0.01, 0.02]), np.array([0.0, 0.0]))
        == (pytest.approx(math.nan, nan_ok=True),) * 2
    )
    with pytest.raises(ValueError, match="same days"):
        pf.alpha_beta(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="positive and finite"):
        pf.returns_from_values([100.0, 0.0, 90.0])


def test_portfolio_metrics_from_account_values_and_spy_closes(empyrical):
    days = [date(2025, 1, 2) + timedelta(days=i) for i in range(120)]
    rng = np.random.default_rng(5)
    spy = 500 * np.cumprod(1 + rng.normal(0.0004, 0.01, 121))
    values = 100_000 * np.cumprod(1 + 0.5 * (spy[1:] / spy[:-1] - 1) + rng.normal(0, 0.002, 120))
    prices = {days[0] - timedelta(days=1): spy[0], **{d: p for d, p in zip(days, spy[1:], strict=True)}}
    m = pf.portfolio_metrics(days, list(values), 100_000.0, prices)
    returns = np.asarray(values) / np.concatenate([[100_000.0], values[:-1]]) - 1
    assert m.sharpe == pytest.approx(empyrical.sharpe_ratio(returns), rel=1e-10)
    # the first day has no SPY close before it in ``days`` and is dropped from alpha/beta
    ref_alpha, ref_beta = empyrical.alpha_beta(returns[1:], spy[2:] / spy[1:-1] - 1)
    assert m.beta == pytest.approx(ref_beta, rel=1e-10)
    assert m.alpha == pytest.approx(ref_alpha, rel=1e-10)
    assert m.total_return == pytest.approx(values[-1] / 100_000 - 1)


def test_drawdown_episode_dates_and_duration():
    days = [date(2025, 3, d) for d in range(1, 11)]
    values = [100, 110, 105, 99, 104, 111, 108, 108, 108, 108]
    ep = pf.drawdown_episode(days, values)
    assert ep.depth == pytest.approx(99 / 110 - 1)
    assert (ep.peak, ep.trough, ep.recovered) == (days[1], days[3], days[5])
    assert ep.sessions == 4
    assert pf.longest_underwater(values) == 4  # 110 -> 111 took 4 sessions; 108s are 4 too
    flat_top = pf.drawdown_episode(days[:6], [100, 100, 100, 95, 99, 100])
    assert flat_top.peak == days[2] and flat_top.sessions == 3, (
        "the fall starts from the last day at the high"
    )
    open_ended = pf.drawdown_episode(days[:4], values[:4])
    assert open_ended.recovered is None and open_ended.sessions == 2


def _trade(strategy: str, pnl: float, day: int = 1, fees: float = 4.0, slip: float = 10.0):
    return pf.ClosedTrade(f"{strategy}-{day}-{pnl}", strategy, date(2025, 1, day), pnl, fees, slip)


def test_strategy_stats_win_rate_against_expected_costs_and_attribution():
    trades = [_trade("zero_dte", 100.0, d) for d in range(1, 7)] + [
        _trade("zero_dte", -300.0, d) for d in (7, 8, 9, 10)
    ]
    trades += [_trade("lt112", 500.0, 3)]
    stats = pf.strategy_stats(trades, {"zero_dte": 0.88, "lt112": 0.95})
    z = stats["zero_dte"]
    assert (z.trades, z.wins, z.losses) == (10, 6, 4)
    assert z.win_rate == pytest.approx(0.6)
    assert z.underperforming, "60% < 80% of 88% after 10 trades"
    assert not stats["lt112"].underperforming, "one trade is too few to judge"
    assert z.average_win == pytest.approx(100.0) and z.average_loss == pytest.approx(-300.0)
    assert z.profit_factor == pytest.approx(600 / 1200)
    assert z.fees == pytest.approx(40.0) and z.slippage == pytest.approx(100.0)
    assert z.gross_pnl == pytest.approx(-600 + 140)
    assert z.pnl_share == pytest.approx(-600 / 1100)
    assert stats["lt112"].pnl_share == pytest.approx(500 / 1100)
    assert stats["portfolio"].total_pnl == pytest.approx(-100.0)
    assert stats["portfolio"].trades == 11


def test_a_scratch_trade_is_neither_a_win_nor_a_loss():
    """Three wins, one loss and a trade closed at exactly 0.00 after fees: 3 of 4 decided trades
    won (75%), not 3 of 5 (60%, the old count that called the scratch a loss)."""
    trades = [_trade("ipmcc", 100.0, d) for d in (1, 2, 3)] + [_trade("ipmcc", -200.0, 4)]
    trades += [_trade("ipmcc", 0.0, 5), _trade("ipmcc", -0.004, 6)]  # under half a cent: 0.00 too
    s = pf.strategy_stats(trades)["ipmcc"]
    assert (s.trades, s.wins, s.losses, s.scratches) == (6, 3, 1, 2)
    assert s.win_rate == pytest.approx(0.75)
    assert s.average_loss == pytest.approx(-200.0) and s.largest_loss == pytest.approx(-200.0)
    assert s.profit_factor == pytest.approx(300 / 200)
    one_cent = pf.strategy_stats([_trade("ipmcc", -0.01, 1)])["ipmcc"]
    assert (one_cent.losses, one_cent.scratches) == (1, 0), "a cent lost is a loss"
    only = pf.strategy_stats([_trade("ipmcc", 0.0, 1)])["ipmcc"]
    assert math.isnan(only.win_rate), "no decided trade: no win rate"


def test_daily_pnl_correlation_matches_numpy():
    days = [date(2025, 1, d) for d in range(1, 21)]
    rng = np.random.default_rng(3)
    a = rng.normal(0, 1, 20)
    b = 0.5 * a + rng.normal(0, 1, 20)
    daily = {"a": dict(zip(days, a, strict=True)), "b": dict(zip(days, b, strict=True)), "flat": {}}
    names, corr = pf.daily_pnl_correlation(daily, days)
    assert names == ["a", "b", "flat"]
    assert corr[0, 1] == pytest.approx(np.corrcoef(a, b)[0, 1])
    assert corr[2, 2] == 1.0 and math.isnan(corr[0, 2])


def test_an_ipmcc_campaign_and_an_lt112_unit_are_one_trade_each_once_nothing_of_them_is_held():
    """Rulebook counting: a campaign whose weeklies won (+120, +80) and whose long call lost (-500)
    is one losing trade of -300, not two wins and a loss; a unit whose spread lost (-50) and whose
    naked puts won (+400) is one win; a campaign with its long call still held is no trade yet,
    though its closed weekly's +90 is realised."""
    from monitoring.open_positions import OpenPosition

    def part(strategy: str, campaign: str, gid: str, pnl: float) -> pf.ClosedTrade:
        return pf.ClosedTrade(gid, strategy, date(2025, 1, 9), pnl, 1.0, 0.0, campaign)

    closed = [part("ipmcc", "ipmcc-1", g, p) for g, p in (("w1", 120.0), ("w2", 80.0), ("lc1", -500.0))]
    closed += [part("lt112", "lt112-1", "sp", -50.0), part("lt112", "lt112-1", "np", 400.0)]
    closed += [part("ipmcc", "ipmcc-2", "w3", 90.0)]
    held = [OpenPosition("lc2", "ipmcc", "ipmcc-2", "long_call", None, 1, 100, "+1xSPY", 80.0, 1.0, 80.0)]
    stats = pf.strategy_stats(closed, None, held)
    ipmcc, lt112 = stats["ipmcc"], stats["lt112"]
    assert (ipmcc.trades, ipmcc.wins, ipmcc.losses) == (1, 0, 1)
    assert ipmcc.largest_loss == pytest.approx(-300.0) and ipmcc.realized_pnl == pytest.approx(-210.0)
    assert (lt112.trades, lt112.wins, lt112.win_rate) == (1, 1, 1.0)
    assert stats["portfolio"].trades == 2
