"""The bad-market-data attacks of issue 13, rerun through the offline engine with all five strategies.

Quotes, underlyings or VIX are damaged three mornings a week (Tuesday and Wednesday 10:00-11:30,
Friday 10:30-12:00) for two and a half weeks, covering the LT112 first-Wednesday entry, the strangle
Tuesdays and the IPMCC / 0DTE Fridays, with positions held.  Whatever the attack: the run ends (no
traceback), nothing is entered while the data is bad, no order is sent off a bad quote, the bad
data is alerted, and the account ends where a clean run ends, give or take the entries skipped.

"feed" attacks damage only what the system sees (``BadFeedPlatform``: the broker simulator fills
and values on the true market); "shared" ones damage the market itself, as LEAN would see a bad
tick everywhere (``BadQuoteMarket``): before the fix those raised out of the step loop or filled
stop-losses at absurd prices.
"""

from __future__ import annotations

import functools
from datetime import date, datetime, time, timedelta

import pytest

from assembly import build_system
from core.settings import Settings
from sim.calendar import ExchangeCalendar
from sim.engine import RunResult, run_backtest
from sim.markets.synthetic import SyntheticConfig, SyntheticMarket
from sim.store import MemoryStore
from testing.bad_quotes import ATTACKS, Attack, BadFeedPlatform, BadQuoteMarket
from testing.scenarios import ScenarioRecorder

pytestmark = pytest.mark.slow  # two and a half weeks of backtest per kind of bad data

START, END = date(2025, 1, 2), date(2025, 1, 17)
SETTINGS = Settings().with_overrides(
    start_date=START.isoformat(), end_date=END.isoformat(), starting_cash=250_000.0
)
CALENDAR = ExchangeCalendar(START - timedelta(days=7), END + timedelta(days=800))
QUOTE_ATTACKS = [n for n, a in ATTACKS.items() if a.quotes is not None]
DATA_ATTACKS = [n for n, a in ATTACKS.items() if a.quotes is None]


def active(t: datetime) -> bool:
    day, clock = t.weekday(), t.time()
    return (day in (1, 2) and time(10, 0) <= clock <= time(11, 30)) or (
        day == 4 and time(10, 30) <= clock <= time(12, 0)
    )


def never(t: datetime) -> bool:
    return False


@functools.cache
def _run(name: str, mode: str = "feed") -> tuple[RunResult, ScenarioRecorder, BadFeedPlatform]:
    attack = ATTACKS.get(name, Attack("clean"))
    # seed 3: its path puts strangle, IPMCC and LT112 entries inside the attack windows
    market = SyntheticMarket(SyntheticConfig(seed=3, start=START, end=END), CALENDAR)
    seen: list[BadFeedPlatform] = []

    def build(platform, settings, sink, **wiring):  # type: ignore[no-untyped-def]
        feed = BadFeedPlatform(platform, attack, active if mode == "feed" else never)
        seen.append(feed)
        return build_system(feed, settings, sink, **wiring)

    source = BadQuoteMarket(market, attack, active) if mode == "shared" else market
    recorder = ScenarioRecorder()
    run = run_backtest(SETTINGS, source, CALENDAR, MemoryStore(), recorder, build=build)
    return run, recorder, seen[0]


def _during(recorder: ScenarioRecorder, kind: str) -> list[dict]:
    return [p for k, t, p in recorder.events if k == kind and active(t)]


@pytest.mark.parametrize("name", [*QUOTE_ATTACKS, *DATA_ATTACKS])
def test_no_entry_on_bad_data_and_the_bad_data_is_alerted(name):
    run, recorder, _ = _run(name)
    assert run.equity[-1].day == END, "the run went to its end"
    assert _during(recorder, "entry_approved") == []
    alerts = [p for p in _during(recorder, "alert") if p["title"].startswith("Bad market data")]
    assert alerts and all(p["severity"] == "warning" for p in alerts)
    clean, _, _ = _run("clean")
    final, baseline = run.equity[-1].net_liquidation, clean.equity[-1].net_liquidation
    assert abs(final / baseline - 1) < 0.03, (final, baseline)


def test_the_attack_windows_see_entries_and_held_positions_on_a_clean_run():
    _, recorder, _ = _run("clean")
    assert len(_during(recorder, "entry_approved")) >= 3, "the windows cover scheduled entries"


@pytest.mark.parametrize("name", QUOTE_ATTACKS)
def test_no_order_is_sent_off_a_bad_option_quote(name):
    _, recorder, feed = _run(name)
    assert [o for o in feed.sent if active(o.submitted)] == []
    assert _during(recorder, "exit_signal") == [], "a mark from the last good quote triggers nothing absurd"
    rules = {p["rule"] for p in _during(recorder, "risk_event")}
    assert "bad_market_data" in rules


@pytest.mark.parametrize("name", ["quotes_nan", "quotes_1e308", "quotes_x1000", "huge_spread"])
def test_bad_quotes_everywhere_as_lean_would_see_them_never_stop_the_run_or_price_an_order(name):
    run, recorder, feed = _run(name, "shared")
    assert run.equity[-1].day == END
    assert [o for o in feed.sent if active(o.submitted)] == []
    assert _during(recorder, "entry_approved") == [] and _during(recorder, "exit_signal") == []
