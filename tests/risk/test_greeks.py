"""Portfolio Greeks in dollars, the limits, and the "never worse than before" rule for hedges."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime

import pytest

from core.settings import Settings
from core.types import Right
from risk.greeks import Betas, Greeks, GreeksUnknown, Limits, check_greeks, hedge_suggestions, leg_greeks
from testing.factories import quote, snapshot, spxw

S = Settings()
NOW = datetime(2025, 3, 7, 11)


def test_units_per_leg():
    q = dataclasses.replace(quote(spxw(5000.0, Right.PUT, date(2025, 3, 21)), NOW, 40.0, 41.0, -0.5),
                            gamma=0.002, theta=-3.0, vega=4.0)  # fmt: skip
    g = leg_greeks(q, -2, 1.0)  # short 2 puts, SPX 5000, x100
    assert g.delta == pytest.approx(0.5 * 2 * 100 * 50)  # +$5,000 per 1% move
    assert g.gamma == pytest.approx(-0.002 * 2 * 100 * 50 * 50)  # -$1,000 of delta per 1% move
    assert g.vega == pytest.approx(-800.0)
    assert g.theta == pytest.approx(600.0)
    assert leg_greeks(q, -2, 1.2).delta == pytest.approx(6000.0), "beta-weighted"


def test_theta_of_a_leg_never_exceeds_its_time_value():
    q = dataclasses.replace(quote(spxw(5100.0, Right.CALL, NOW.date()), NOW, 0.9, 1.1, 0.1), theta=-25.0)
    assert leg_greeks(q, -1, 1.0).theta == pytest.approx(100.0), "1.00 of extrinsic x 100, not 2,500"


def test_unusable_greeks_fail_closed():
    q = dataclasses.replace(
        quote(spxw(5000.0, Right.PUT, NOW.date()), NOW, 1.0, 1.1, -0.5), gamma=float("nan")
    )
    with pytest.raises(GreeksUnknown, match="not usable"):
        leg_greeks(q, 1, 1.0)


def test_a_trade_that_reduces_a_breach_passes_one_that_adds_to_it_is_blocked():
    limits = Limits.for_nlv(100_000, S)  # delta 1,500, gamma 1,000, short vega 1,000, theta 0..500
    before = Greeks(delta=2_000, gamma=0, vega=0, theta=100)
    assert check_greeks(before, Greeks(delta=-300), limits).approved, "a hedge"
    assert check_greeks(before, Greeks(delta=100), limits).code == "greeks_delta"
    assert check_greeks(Greeks(theta=100), Greeks(theta=-150), limits).code == "greeks_theta_negative"
    assert check_greeks(Greeks(theta=100), Greeks(theta=450), limits).code == "greeks_theta"
    assert check_greeks(Greeks(theta=100), Greeks(vega=-1_001), limits).code == "greeks_vega"
    assert check_greeks(Greeks(theta=100), Greeks(gamma=-1_001), limits).code == "greeks_gamma"
    assert check_greeks(
        Greeks(theta=100), Greeks(delta=1_499, gamma=-999, vega=-999, theta=399), limits
    ).approved


def test_hedge_suggestions_size_the_delta_hedge():
    snap = snapshot(NOW, [], spot=5000.0)
    (text,) = hedge_suggestions(Greeks(delta=2_500, theta=10), Limits.for_nlv(100_000, S), snap)
    assert "sell $1,000" in text and "~4.0 MES" in text and "~200 SPY" in text


def test_betas_come_from_the_table_by_root_underlying_or_futures_root():
    betas = Betas(S)
    assert betas.of("QQQ", "QQQ") == 1.15 and betas.of("MNQ", "MNQM25") == 1.15
    assert betas.of("OG", "GCM25") == 0.0, "gold options on the GC future"
    assert betas.of("SPXW", "SPX") == 1.0, "unlisted: 1.0"
