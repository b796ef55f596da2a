"""Position and portfolio Greeks in the rulebook's dollar units, beta weighting, limit usage and
the hedges suggested when a limit is near; and the sampler that records them over time."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest

from core.settings import Settings
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
from monitoring.sampler import MonitoringSampler
from testing.factories import FakeChains, account, quote, spxw

S = Settings()
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


def _sample(groups, snap=None, nlv=100_000.0):
    sink = Sink()
    MonitoringSampler(sink, S, vol_roots={}).on_step(snap or _snapshot(), groups, account(nlv))
    ((_, _, sample),) = [e for e in sink.events if e[0] == "portfolio_greeks"]
    return sample, [e[2] for e in sink.events if e[0] == "hedge_suggestion"]


def test_position_greeks_in_dollar_units_with_mark_and_unrealised_pnl():
    sample, _ = _sample([_strangle()])
    (p,) = sample["positions"]
    # two short strangles, 100 multiplier: -200 contracts' worth of each leg
    assert p["delta_1pct"] == pytest.approx(-200 * (-0.20 + 0.15) * 5000 * 0.01)  # +500 $ per 1% up
    assert p["bw_delta_1pct"] == pytest.approx(p["delta_1pct"]), "SPX has beta 1"
    assert p["gamma_1pct"] == pytest.approx(-200 * 0.0035 * 50 * 50)
    assert p["theta_day"] == pytest.approx(700.0)
    assert p["vega_1pt"] == pytest.approx(-1100.0)
    assert p["mark"] == pytest.approx(-(10.0 + 8.0))
    assert p["unrealized_pnl"] == pytest.approx((-18.0 + 20.0) * 2 * 100 - 4.0)
    assert sample["theta_day"] == pytest.approx(700.0)


def test_missing_quote_is_reported_not_guessed_and_no_limit_is_judged():
    sample, hedges = _sample([_strangle()], _snapshot(quotes=(PUT,)))
    (p,) = sample["positions"]
    assert p["missing_quotes"] == [CALL.contract.symbol]
    assert p["mark"] is None and p["unrealized_pnl"] is None
    assert sample["limits"] == [] and hedges == [], "a partial portfolio would understate its Greeks"
    assert sample["by_strategy"]["strangle"]["unmarked"] == 1


def test_limits_are_judged_as_the_gate_judges_them():
    """The sampler used to count a 0DTE condor's theta and vega against their caps, which the
    gate and the monitors (STRATEGY_RULES.md, 0DTE) leave out: it flagged breaches nobody acts on."""
    today = NOW.date()
    zput = dataclasses.replace(PUT, contract=dataclasses.replace(PUT.contract, expiry=today))
    zcall = dataclasses.replace(CALL, contract=dataclasses.replace(CALL.contract, expiry=today))
    condor = dataclasses.replace(
        _strangle(qty=1, group_id="zero_dte-1"), strategy="zero_dte", opened_at=NOW,
        legs=(Leg(zput.contract, -1), Leg(zcall.contract, -1)),
    )  # fmt: skip
    chain = OptionChain("SPXW", today, "SPX", 5000.0, (zput, zcall))
    snap = dataclasses.replace(_snapshot(), chains=FakeChains([chain]))
    sample, hedges = _sample([condor], snap)
    states = {row["name"]: row["state"] for row in sample["limits"]}
    assert sample["theta_day"] == pytest.approx(350.0) and sample["vega_1pt"] == pytest.approx(-550.0)
    assert states["theta"] == "ok" and states["short_vega"] == "ok", states
    assert {h["name"] for h in hedges} == {"gamma"}, "gamma is held against the limit all day"


class Sink:
    def __init__(self):
        self.events = []

    def record(self, kind, time, payload):
        self.events.append((kind, time, dict(payload)))


def test_sampler_records_greeks_at_its_interval_and_each_suggestion_once_a_day():
    sink = Sink()
    sampler = MonitoringSampler(sink, S, interval=timedelta(minutes=30), vol_roots={})
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
    sampler = MonitoringSampler(sink, S, vol_roots={})
    sampler.on_step(_snapshot(), [], account())
    assert sink.events == []
