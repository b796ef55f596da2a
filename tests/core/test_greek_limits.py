"""The rulebook's Greeks limits on the one model: the gate's "never further beyond" rule, limit
usage, and hedges that size the delta trade and name the positions that cause a breach."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from core.greek_limits import Limits, check_greeks, check_limits, hedge_suggestions
from core.portfolio_greeks import BetaTable, Greeks, GroupGreeks, PortfolioGreeks, portfolio_greeks
from core.settings import Settings
from core.types import GroupStatus, Leg, PositionGroup, Right
from testing.factories import snapshot
from tests.core.test_portfolio_greeks import Quotes, _q

S = Settings()
NOW = datetime(2025, 3, 7, 11)
LIMITS = Limits.for_nlv(100_000, S)  # delta 1,500, gamma 1,000, short vega 1,000, theta 0..500
SNAP = snapshot(NOW, [], spot=5000.0)


def test_a_trade_that_reduces_a_breach_passes_one_that_adds_to_it_is_blocked():
    before = Greeks(bw_delta_1pct=2_000, theta_day=100)
    assert check_greeks(before, Greeks(bw_delta_1pct=-300), LIMITS).approved, "a hedge"
    assert check_greeks(before, Greeks(bw_delta_1pct=100), LIMITS).code == "greeks_delta"
    ok = Greeks(theta_day=100)
    assert check_greeks(ok, Greeks(theta_day=-150), LIMITS).code == "greeks_theta_negative"
    assert check_greeks(ok, Greeks(theta_day=450), LIMITS).code == "greeks_theta"
    assert check_greeks(ok, Greeks(vega_1pt=-1_001), LIMITS).code == "greeks_short_vega"
    assert check_greeks(ok, Greeks(gamma_1pct=-1_001), LIMITS).code == "greeks_gamma"
    within = Greeks(bw_delta_1pct=1_499, gamma_1pct=-999, vega_1pt=-999, theta_day=399)
    assert check_greeks(ok, within, LIMITS).approved


def test_delta_is_judged_beta_weighted_not_raw():
    """A QQQ-like 1.15 beta: $1,400 raw delta is $1,610 SPX-weighted, past the $1,500 limit."""
    trade = Greeks(delta_1pct=1_400, bw_delta_1pct=1_610, theta_day=10)
    assert check_greeks(Greeks(), trade, LIMITS).code == "greeks_delta"


def _portfolio(*groups: tuple[str, Greeks]) -> PortfolioGreeks:
    return PortfolioGreeks(tuple(GroupGreeks(gid, "s", g, False) for gid, g in groups))


def test_limit_usage_states():
    pg = _portfolio(("a", Greeks(bw_delta_1pct=500, gamma_1pct=-1_750, vega_1pt=-1_100, theta_day=420)))
    checks = {c.name: c for c in check_limits(pg, LIMITS, SNAP)}
    assert checks["delta"].state == "ok" and checks["delta"].usage == pytest.approx(500 / 1500)
    assert checks["gamma"].state == "breach" and checks["gamma"].usage == pytest.approx(1.75)
    assert checks["short_vega"].state == "breach"
    assert checks["theta"].state == "near" and "a" in checks["theta"].suggestion
    assert checks["delta"].suggestion == ""
    negative = check_limits(_portfolio(("a", Greeks(theta_day=-3))), LIMITS, SNAP)
    assert next(c for c in negative if c.name == "theta").state == "breach", "theta must be >= 0"


def test_delta_hedge_sizes_the_least_trade_inside_the_limit_and_the_flattening_one():
    # one /MES is 5 x 5000 x 1% = $250 per 1%; a SPY share (SPX/10) $5 per 1%
    (text,) = hedge_suggestions(Greeks(bw_delta_1pct=2_500, theta_day=10), LIMITS, _portfolio(), SNAP)
    assert "sell 4 /MES or 200 SPY shares to bring it inside" in text, text  # $1,000 beyond
    assert "10 /MES or 500 SPY shares flatten it" in text, text
    near = check_limits(_portfolio(("a", Greeks(bw_delta_1pct=-1_300, theta_day=10))), LIMITS, SNAP)
    assert "buy 5 /MES or 260 SPY shares flatten it" in next(c for c in near if c.name == "delta").suggestion


def test_negative_theta_names_the_long_premium_not_the_short():
    """monitoring's old ranking always named the most positive theta: for theta < 0 that advised
    reducing the very positions that keep theta up."""
    pg = _portfolio(("short_premium", Greeks(theta_day=300)), ("long_leap", Greeks(theta_day=-320)))
    (text,) = hedge_suggestions(pg.judged(), LIMITS, pg, SNAP)
    assert text.endswith("largest: long_leap"), text


def test_a_hedge_on_the_other_side_is_not_named_a_cause():
    pg = _portfolio(("short", Greeks(gamma_1pct=-1_800, theta_day=10)), ("long", Greeks(gamma_1pct=300)))
    (text,) = hedge_suggestions(pg.judged(), LIMITS, pg, SNAP)
    assert "largest: short" in text and "long" not in text.split("largest:")[1]


def test_an_intraday_position_is_not_named_for_theta_or_vega():
    today = NOW.date()
    zero, held = _q(5000, Right.PUT, -0.3, expiry=today), _q(4900, Right.PUT, -0.2, theta=-1.0)
    groups = [
        PositionGroup("zero", "zero_dte", (Leg(zero.contract, -5),), 1, GroupStatus.OPEN, opened_at=NOW),
        PositionGroup("long", "leap", (Leg(held.contract, 1),), 1, GroupStatus.OPEN, opened_at=NOW - timedelta(days=9)),
    ]  # fmt: skip
    pg = portfolio_greeks(groups, Quotes([zero, held]), BetaTable(), today)
    assert pg.total.theta_day > 0 > pg.judged().theta_day, "the condor's decay ends today"
    theta = next(c for c in check_limits(pg, LIMITS, SNAP) if c.name == "theta")
    assert theta.state == "breach" and theta.suggestion.endswith("largest: long"), theta
