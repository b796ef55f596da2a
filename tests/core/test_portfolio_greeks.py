"""The one portfolio-Greeks model: dollar units per leg, one beta table, per-group breakdown, the
portfolio as the limits judge it, and its algebra (hypothesis)."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.portfolio_greeks import (
    BetaTable,
    Greeks,
    GreeksUnknown,
    leg_greeks,
    legs_greeks,
    portfolio_greeks,
)
from core.settings import Settings
from core.types import (
    ExerciseStyle,
    GroupStatus,
    Leg,
    OptionContract,
    PositionGroup,
    Right,
    SecurityKind,
    Settlement,
)
from testing.factories import quote, spxw

S = Settings()
NOW = datetime(2025, 3, 7, 11)
EXP = date(2025, 3, 21)
FIELDS = tuple(f.name for f in dataclasses.fields(Greeks))


class Quotes:
    """A chain source over a fixed set of quotes."""

    def __init__(self, quotes):
        self._by = {q.contract: q for q in quotes}

    def quote(self, contract):
        return self._by.get(contract)

    def chain(self, root, expiry):
        return None

    def expiries(self, root):
        return ()


def _q(strike, right, delta, gamma=0.002, theta=-3.0, vega=4.0, bid=40.0, ask=41.0, expiry=EXP):
    return dataclasses.replace(
        quote(spxw(strike, right, expiry), NOW, bid, ask, delta), gamma=gamma, theta=theta, vega=vega
    )


def _group(legs, qty=1, gid="g", strategy="strangle", opened=NOW - timedelta(days=2)):
    return PositionGroup(gid, strategy, tuple(legs), qty, GroupStatus.OPEN, opened_at=opened)


def test_units_per_leg():
    q = _q(5000.0, Right.PUT, -0.5)
    g = leg_greeks(q, -2, 1.0)  # short 2 puts, SPX 5000, x100
    assert g.delta_1pct == pytest.approx(0.5 * 2 * 100 * 50)  # +$5,000 per 1% move
    assert g.bw_delta_1pct == g.delta_1pct
    assert g.gamma_1pct == pytest.approx(-0.002 * 2 * 100 * 50 * 50)  # -$1,000 of delta per 1% move
    assert g.vega_1pt == pytest.approx(-800.0)
    assert g.theta_day == pytest.approx(600.0)
    weighted = leg_greeks(q, -2, 1.2)
    assert weighted.bw_delta_1pct == pytest.approx(6000.0) and weighted.delta_1pct == pytest.approx(5000.0)


def test_theta_of_a_leg_never_exceeds_its_time_value():
    q = _q(5100.0, Right.CALL, 0.1, theta=-25.0, bid=0.9, ask=1.1, expiry=NOW.date())
    assert leg_greeks(q, -1, 1.0).theta_day == pytest.approx(100.0), "1.00 of extrinsic x 100, not 2,500"


def test_unusable_greeks_fail_closed():
    q = _q(5000.0, Right.PUT, -0.5, gamma=float("nan"))
    with pytest.raises(GreeksUnknown, match="not usable"):
        leg_greeks(q, 1, 1.0)
    with pytest.raises(GreeksUnknown, match="no quote"):
        legs_greeks([Leg(q.contract, 1)], 1, Quotes([]), BetaTable())


def test_betas_from_one_table_by_root_underlying_or_futures_root():
    betas = BetaTable.from_settings(S)
    assert betas.of("QQQ", "QQQ") == 1.15 and betas.of("MNQ", "MNQM25") == 1.15
    assert betas.of("OG", "GCM25") == 0.0, "gold options on the GC future"
    assert betas.of("LO", "CLZ5") == betas.of("LO", "CLZ25") == 0.3, "one-digit year, as Tastytrade writes it"
    assert betas.of("SPXW", "SPX") == 1.0, "unlisted: 1.0"


def test_a_repeated_or_malformed_beta_is_an_error_not_a_silent_winner():
    """monitoring's old BetaTable let the second ``QQQ:`` win and read ``QQQ:nan`` as NaN."""
    with pytest.raises(ValueError, match="listed twice"):
        BetaTable.from_settings(dataclasses.replace(S, risk_betas=("QQQ:1.1", "QQQ:1.3")))
    with pytest.raises(ValueError, match="NAME:NUMBER"):
        BetaTable.from_settings(dataclasses.replace(S, risk_betas=("QQQ=1.1",)))


def test_each_group_and_missing_legs_are_reported_not_guessed():
    put, call = _q(4900, Right.PUT, -0.2), _q(5100, Right.CALL, 0.15)
    strangle = _group([Leg(put.contract, -1), Leg(call.contract, -1)], qty=2, gid="s")
    pg = portfolio_greeks([strangle], Quotes([put]), BetaTable(), NOW.date())
    (g,) = pg.groups
    assert g.unquoted == (call.contract.symbol,) and "no quote" in g.missing[0]
    assert g.greeks == leg_greeks(put, -2, 1.0), "the quoted leg is still shown"
    with pytest.raises(GreeksUnknown, match="no quote"):
        pg.judged()  # but no limit is judged on a partial portfolio


def test_an_intraday_groups_vega_and_theta_are_not_judged():
    """STRATEGY_RULES.md, 0DTE: gone by the close, so only delta and gamma count against limits."""
    today = NOW.date()
    zero = _q(5000, Right.PUT, -0.3, expiry=today)
    held = _q(4900, Right.PUT, -0.2)
    condor = _group([Leg(zero.contract, -1)], gid="z", strategy="zero_dte", opened=NOW)
    strangle = _group([Leg(held.contract, -1)], gid="s")
    pg = portfolio_greeks([condor, strangle], Quotes([zero, held]), BetaTable(), today)
    z, s = (g.greeks for g in pg.groups)
    judged = pg.judged()
    assert judged.gamma_1pct == pytest.approx(z.gamma_1pct + s.gamma_1pct)
    assert judged.theta_day == pytest.approx(s.theta_day) and judged.vega_1pt == pytest.approx(s.vega_1pt)
    assert pg.total.theta_day == pytest.approx(z.theta_day + s.theta_day), "reports show all of it"
    yesterday = dataclasses.replace(condor, opened_at=NOW - timedelta(days=1))
    assert not portfolio_greeks([yesterday], Quotes([zero]), BetaTable(), today).groups[0].intraday


# --- algebra -------------------------------------------------------------------------------------

greek = st.fixed_dictionaries(
    {
        "strike": st.sampled_from([4800.0, 4900.0, 5000.0, 5100.0, 5200.0]),
        "right": st.sampled_from(list(Right)),
        "delta": st.floats(-1, 1),
        "gamma": st.floats(0, 0.01),
        "theta": st.floats(-20, 0),
        "vega": st.floats(0, 10),
        "bid": st.floats(0.05, 200),
    }
)
ratio = st.integers(-3, 3).filter(bool)


def _leg_quote(d, multiplier=100.0, root="SPXW", underlying="SPX", expiry=EXP):
    contract = OptionContract(
        root, underlying, d["right"], d["strike"], expiry, multiplier,
        SecurityKind.INDEX_OPTION, ExerciseStyle.EUROPEAN, Settlement.CASH,
    )  # fmt: skip
    q = quote(contract, NOW, d["bid"], d["bid"] + 0.5, d["delta"])
    return dataclasses.replace(q, gamma=d["gamma"], theta=d["theta"], vega=d["vega"])


def _close(a: Greeks, b: Greeks) -> bool:
    return all(getattr(a, f) == pytest.approx(getattr(b, f), rel=1e-9, abs=1e-6) for f in FIELDS)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(greek, ratio, st.integers(1, 5)), min_size=1, max_size=6))
def test_the_portfolio_is_the_sum_of_its_groups_and_of_their_legs(rows):
    quotes, groups = [], []
    for i, (d, r, qty) in enumerate(rows):
        q = _leg_quote(d, root=f"R{i}")  # one contract per group: no two legs share a quote
        quotes.append(q)
        groups.append(_group([Leg(q.contract, r)], qty=qty, gid=f"g{i}"))
    chains, betas = Quotes(quotes), BetaTable({"SPX": 1.3})
    pg = portfolio_greeks(groups, chains, betas, NOW.date())
    legs = [leg_greeks(q, g.legs[0].ratio * g.quantity, 1.3) for q, g in zip(quotes, groups, strict=True)]
    assert _close(pg.total, sum(legs, Greeks()))
    assert _close(pg.total, sum(pg.by_strategy().values(), Greeks()))
    assert _close(pg.judged(), pg.total), "no intraday group: everything is judged"
    # the float sums are the same additions in the same order as ``Greeks.__add__``, to the bit
    assert pg.total == sum((g.greeks for g in pg.groups), Greeks())
    assert [g.greeks for g in pg.groups] == [legs_greeks(g.legs, g.quantity, chains, betas) for g in groups]


@settings(max_examples=60, deadline=None)
@given(greek, st.integers(1, 10))
def test_short_is_the_negative_of_long_and_size_scales_linearly(d, n):
    q = _leg_quote(d)
    long, short = leg_greeks(q, n, 1.0), leg_greeks(q, -n, 1.0)
    assert _close(short, Greeks(*(-getattr(long, f) for f in FIELDS)))
    assert _close(long, Greeks(*(n * getattr(leg_greeks(q, 1, 1.0), f) for f in FIELDS)))


@settings(max_examples=60, deadline=None)
@given(greek, st.sampled_from([5.0, 20.0, 50.0, 100.0]))
def test_the_multiplier_scales_every_greek(d, multiplier):
    one = leg_greeks(_leg_quote(d, multiplier=1.0), 1, 1.0)
    many = leg_greeks(_leg_quote(d, multiplier=multiplier), 1, 1.0)
    assert _close(many, Greeks(*(multiplier * getattr(one, f) for f in FIELDS)))


@settings(max_examples=60, deadline=None)
@given(greek, st.floats(-2, 2, allow_nan=False), st.floats(-2, 2, allow_nan=False))
def test_beta_weighting_is_linear_in_beta_and_touches_only_delta(d, b1, b2):
    q = _leg_quote(d, underlying="QQQ", root="QQQ")
    g1 = legs_greeks([Leg(q.contract, 1)], 1, Quotes([q]), BetaTable({"QQQ": b1}))
    g2 = legs_greeks([Leg(q.contract, 1)], 1, Quotes([q]), BetaTable({"QQQ": b2}))
    assert g1.bw_delta_1pct == pytest.approx(b1 * g1.delta_1pct, abs=1e-9)
    assert g1.bw_delta_1pct + g2.bw_delta_1pct == pytest.approx((b1 + b2) * g1.delta_1pct, abs=1e-6)
    assert dataclasses.replace(g1, bw_delta_1pct=0.0) == dataclasses.replace(g2, bw_delta_1pct=0.0)


def test_as_dict_names_every_greek_in_field_order():
    g = Greeks(1.5, -2.0, 0.25, -7.0, 3.0)
    assert g.as_dict() == dataclasses.asdict(g)
    assert list(g.as_dict()) == [f.name for f in dataclasses.fields(Greeks)]
