"""Exits validate quotes too (issue 13: quotes x1000 fired stop-losses filled at absurd prices; zero
or negative quotes emitted an exit every step).  A stop or target is evaluated on the mark of the
last good quote; an exit that is due while its quotes fail the sanity rules is held back, alerted
once per group and day, and sent when the quotes are good again; forced risk exits too."""

from __future__ import annotations

import dataclasses
import math
from datetime import date, datetime, time

import pytest

from core.settings import Settings
from core.types import OptionQuote, Right
from sim.calendar import ExchangeCalendar
from testing.scenarios import Probe, ScenarioMarket, run_scenario

S = Settings(risk_strategy_bp_default_share=0.8, starting_cash=100_000.0)
DAY = date(2025, 3, 4)


@pytest.fixture(scope="module")
def calendar() -> ExchangeCalendar:
    return ExchangeCalendar(date(2025, 1, 1), date(2026, 12, 31))


def _hook(start: time, end: time, bid_ask):
    def hook(q: OptionQuote) -> OptionQuote:
        if not start <= q.time.time() < end:
            return q
        bid, ask = bid_ask(q.bid, q.ask)
        return dataclasses.replace(q, bid=bid, ask=ask)

    return hook


BAD = {
    "nan": lambda b, a: (math.nan, math.nan),
    "1e308": lambda b, a: (1e308, 1e308),
    "x1000": lambda b, a: (b * 1000, a * 1000),
    "zero": lambda b, a: (0.0, 0.0),
    "negative": lambda b, a: (-b - 1, -a - 1),
    "huge_spread": lambda b, a: (0.0, a + 5000.0),
}


@pytest.mark.parametrize("bad", BAD.values(), ids=BAD.keys())
def test_a_time_exit_due_on_bad_quotes_is_held_alerted_once_and_sent_when_they_are_good(calendar, bad):
    market = ScenarioMarket(
        calendar, [DAY], lambda t: 5000.0, quote_hook=_hook(time(11, 0), time(12, 0), bad)
    )
    probe = Probe("probe", ((Right.PUT, 0.3, -1),), window=(time(9, 35), time(9, 35)), close_at=time(11, 30))
    result = run_scenario(S, market, [probe])
    rec = result.recorder
    held = rec.of("exit_held", strategy="probe")
    assert [t for t, _ in held] == [datetime(2025, 3, 4, 11, 30)], "recorded once for the day"
    alerts = [a for a in result.platform.alerts if a[2] == "Exit held back: bad quotes"]
    assert len(alerts) == 1 and alerts[0][1].value == "critical" and "time_exit" in alerts[0][3]
    (trade,) = [g for g in rec.trades if g.strategy == "probe"]
    assert trade.exit_reason == "time_exit" and trade.closed_at >= datetime(2025, 3, 4, 12, 0)
    assert 0 < trade.exit_price < 2 * abs(trade.entry_price), "bought back at a sane price"
    assert [t for t, _ in rec.of("exit_signal", strategy="probe")] == [datetime(2025, 3, 4, 12, 0)]


@pytest.mark.parametrize("name", ["x1000", "zero", "negative", "huge_spread"])
def test_a_stop_never_fires_on_absurd_quotes(calendar, name):
    market = ScenarioMarket(
        calendar, [DAY], lambda t: 5000.0, quote_hook=_hook(time(11, 0), time(12, 0), BAD[name])
    )
    probe = Probe(
        "probe", ((Right.PUT, 0.3, -1),), window=(time(9, 35), time(9, 35)), stop=1.0, close_at=time(15, 0)
    )
    result = run_scenario(S, market, [probe])
    (trade,) = [g for g in result.recorder.trades if g.strategy == "probe"]
    assert trade.exit_reason == "time_exit", "the stop saw the last good mark, not the absurd one"
    assert result.recorder.of("exit_signal", strategy="probe") == result.recorder.of(
        "exit_signal", reason="time_exit"
    )
    warned = [a for a in result.platform.alerts if a[2].startswith("Bad market data: probe-")]
    assert len(warned) == 1, "held position on bad quotes: alerted once a day"
    assert result.run.equity[-1].net_liquidation == pytest.approx(100_000.0, abs=500)


def test_a_forced_expiry_exit_that_cannot_be_priced_is_alerted_and_sent_when_quotes_recover(calendar):
    expiry = date(2025, 3, 14)  # a Friday: SPY weekly expiry, the short put ends in the money
    market = ScenarioMarket(
        calendar,
        [date(2025, 3, 13), expiry],
        lambda t: 5000.0 if t.date() < expiry else 4850.0,
        quote_hook=_hook(time(14, 0), time(15, 10), BAD["nan"]),
    )
    probe = Probe(
        "probe", ((Right.PUT, 0.3, -1),), min_dte=0, window=(time(9, 35), time(9, 35)), max_loss_per_unit=2000
    )
    result = run_scenario(S, market, [probe])
    rec = result.recorder
    held = rec.of("exit_held", reason="expiry_itm")
    assert held and held[0][0] == datetime(2025, 3, 14, 14, 35)
    assert any(a[2] == "Exit held back: bad quotes" and "expiry_itm" in a[3] for a in result.platform.alerts)
    (trade,) = [g for g in rec.trades if g.strategy == "probe"]
    assert trade.exit_reason == "expiry_itm" and trade.closed_at >= datetime(2025, 3, 14, 15, 10)
    assert result.platform.broker.holdings() == {}, "closed before the close: nothing assigned"
