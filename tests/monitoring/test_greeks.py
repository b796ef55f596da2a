"""Position and portfolio Greeks in the rulebook's dollar units, beta weighting, limit usage and
the hedges suggested when a limit is near; and the sampler that records them over time."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest

from core.types import (
    GroupStatus,
    Leg,
    MarketSnapshot,
    OptionChain,
    PositionGroup,
    Right,
    SecurityKind,
    UnderlyingQuote,
)
from monitoring.greeks import (
    BetaTable,
    check_limits,
    parse_pairs,
    portfolio_greeks,
    position_greeks,
)
from monitoring.sampler import MonitoringSampler, limits_from_settings
from testing.factories import FakeChains, account, quote, spxw

NOW = datetime(2025, 3, 7, 11, 0)
EXP = NOW.date() + timedelta(days=45)


def _q(strike, right, delta, gamma, theta, vega, bid, ask):
    return dataclasses.replace(
        quote(spxw(strike, right, EXP), NOW, bid, ask, delta), gamma=gamma, theta=theta, vega=vega
    )


PUT = _q(4900, Right.PUT, -0.20, 0.002, -2.0, 3.0, 9.8, 10.2)
CALL = _q(5100, Right.CALL, 0.15, 0.0015, -1.5, 2.5, 7.9, 8.1)


def _snapshot(quotes=(PUT, CALL), spx=5000.0, spy=500.0) -> MarketSnapshot:
    chain = OptionChain("SPXW", EXP, "SPX", spx, tuple(quotes))
    unders = {
        "SPX": UnderlyingQuote("SPX", SecurityKind.INDEX, NOW, spx, spx, spx),
        "SPY": UnderlyingQuote("SPY", SecurityKind.EQUITY, NOW, spy, spy, spy),
    }
    return MarketSnapshot(NOW, unders, 20.0, {}, FakeChains([chain]))


def _strangle(qty=2, group_id="strangle-20250307-001") -> PositionGroup:
    return PositionGroup(
        group_id, "strangle", (Leg(PUT.contract, -1), Leg(CALL.contract, -1)), qty, GroupStatus.OPEN,
        opened_at=NOW - timedelta(days=3), entry_price=-20.0, entry_fees=4.0,
    )  # fmt: skip


def test_position_greeks_in_dollar_units():
    p = position_greeks(_strangle(), _snapshot(), BetaTable())
    g = p.greeks
    # two short strangles, 100 multiplier: -200 contracts' worth of each leg
    assert g.delta_1pct == pytest.approx(-200 * (-0.20 + 0.15) * 5000 * 0.01)  # +500 $ per 1% up
    assert g.bw_delta_1pct == pytest.approx(g.delta_1pct), "SPX has beta 1"
    assert g.gamma_1pct == pytest.approx(-200 * 0.0035 * 50 * 50)
    assert g.theta_day == pytest.approx(700.0)
    assert g.vega_1pt == pytest.approx(-1100.0)
    assert p.mark == pytest.approx(-(10.0 + 8.0))
    assert p.unrealized_pnl == pytest.approx((-18.0 + 20.0) * 2 * 100 - 4.0)


def test_missing_quote_is_reported_not_guessed():
    p = position_greeks(_strangle(), _snapshot(quotes=(PUT,)), BetaTable())
    assert p.missing_quotes == (CALL.contract.symbol,)
    assert p.mark is None and p.unrealized_pnl is None


def test_beta_table_by_root_and_futures_keys():
    beta = BetaTable.from_pairs(["QQQ:1.15", "ES:1.0", "CL:0.3"])
    assert beta("QQQ") == 1.15 and beta("CLM25") == 0.3 and beta("ESH26") == 1.0 and beta("XYZ") == 1.0
    assert beta("CLZ5") == 0.3  # one-digit year, as Tastytrade writes it
    with pytest.raises(ValueError, match="NAME:NUMBER"):
        parse_pairs(["QQQ=1.1"])


def test_limits_usage_and_breaches():
    pg = portfolio_greeks([_strangle()], _snapshot(), BetaTable())
    checks = {c.name: c for c in check_limits(pg, 100_000.0, _snapshot())}
    assert checks["delta"].state == "ok" and checks["delta"].usage == pytest.approx(500 / 1500)
    assert checks["gamma"].state == "breach" and checks["gamma"].usage == pytest.approx(1750 / 1000)
    assert checks["short_vega"].state == "breach"
    assert checks["theta"].state == "breach", "700 $/day is above 0.5% of NLV"
    assert "strangle-20250307-001" in checks["gamma"].suggestion
    with pytest.raises(ValueError, match="positive"):
        check_limits(pg, 0.0, _snapshot())


def test_near_delta_limit_suggests_a_concrete_hedge():
    pg = portfolio_greeks([_strangle()], _snapshot(), BetaTable())
    delta = next(c for c in check_limits(pg, 40_000.0, _snapshot()) if c.name == "delta")
    assert delta.state == "near"  # 500 of a 600 limit
    # one /MES is 5 x 5000 x 1% = $250 per 1%: two of them; SPY at 500 is $5 per share per 1%: 100
    assert "sell 2 /MES" in delta.suggestion and "sell 100 SPY shares" in delta.suggestion


def test_negative_theta_is_a_breach_whatever_its_size():
    long_put = dataclasses.replace(_strangle(), legs=(Leg(PUT.contract, +1),), quantity=1)
    pg = portfolio_greeks([long_put], _snapshot(), BetaTable())
    theta = next(c for c in check_limits(pg, 100_000.0, _snapshot()) if c.name == "theta")
    assert theta.value < 0 and theta.state == "breach"


class Sink:
    def __init__(self):
        self.events = []

    def record(self, kind, time, payload):
        self.events.append((kind, time, dict(payload)))


def test_sampler_records_greeks_at_its_interval_and_each_suggestion_once_a_day():
    sink = Sink()
    sampler = MonitoringSampler(sink, BetaTable(), interval=timedelta(minutes=30), vol_roots={})
    groups = [_strangle(), dataclasses.replace(_strangle(group_id="x"), status=GroupStatus.OPENING)]
    acct = account(100_000.0, 20_000.0)
    for minutes in (0, 5, 10, 30, 35, 60):
        t = NOW + timedelta(minutes=minutes)
        snap = dataclasses.replace(_snapshot(), time=t)
        sampler.on_step(snap, groups, acct)
    samples = [e for e in sink.events if e[0] == "portfolio_greeks"]
    assert [e[1].minute for e in samples] == [0, 30, 0]
    assert len(samples[0][2]["positions"]) == 1, "an order still opening has no position yet"
    hedges = [e for e in sink.events if e[0] == "hedge_suggestion"]
    assert sorted(h[2]["name"] for h in hedges) == ["gamma", "short_vega", "theta"], "once per day each"
    sampler.on_end_of_day(
        NOW.date(), dataclasses.replace(_snapshot(), time=NOW.replace(hour=16)), groups, acct
    )
    close = next(e for e in sink.events if e[0] == "day_close")[2]
    assert close["prices"] == {"SPX": 5000.0, "SPY": 500.0} and close["net_liquidation"] == 100_000.0
    assert sink.events[-1][0] == "portfolio_greeks" and sink.events[-1][2]["eod"] is True


def test_sampler_stays_quiet_without_positions():
    sink = Sink()
    sampler = MonitoringSampler(sink, BetaTable(), vol_roots={})
    sampler.on_step(_snapshot(), [], account())
    assert sink.events == []


def test_limits_come_from_settings_when_present():
    class S:
        risk_max_delta_nlv = 0.02

    assert limits_from_settings(S()) == {"delta": 0.02, "gamma": 0.01, "short_vega": 0.01, "theta": 0.005}
