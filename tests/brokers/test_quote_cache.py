"""The quote cache: injected clock, batches, subscription filter, concurrent readers, and
freshness from the events' own time, with implausible values rejected.

The fake events carry the fields of tastytrade 13.2.3's ``tastytrade.dxfeed`` Quote / Greeks
models that the cache reads (epoch-millisecond times, Decimal numbers), so this file runs without
the SDK (LEAN's image); ``test_feed.py`` runs the same rules through the real SDK.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest

from brokers.quote_cache import GreeksValue, Kind, QuoteCache, QuoteValue

T0 = datetime(2025, 3, 7, 10, 30)
MAX_AGE = timedelta(seconds=60)  # STRATEGY_RULES.md: stale in live trading


def ms(t: datetime) -> int:
    return round(t.timestamp() * 1000)


class FakeClock:
    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> datetime:
        return self.t


def greeks_event(sym: str, delta: str = "-0.3", t: int = 0, iv: str = "0.2") -> SimpleNamespace:
    d = Decimal
    return SimpleNamespace(
        event_symbol=sym, event_time=0, price=d("1.5"), volatility=d(iv), delta=d(delta),
        gamma=d("0.01"), theta=d("-0.5"), vega=d("0.9"), rho=d("0.02"), time=t,
    )  # fmt: skip


def quote_event(sym: str, bid: str, ask: str, t: int = 0, ask_t: int | None = None) -> SimpleNamespace:
    return SimpleNamespace(
        event_symbol=sym, event_time=0, bid_time=t, ask_time=t if ask_t is None else ask_t,
        bid_price=Decimal(bid), ask_price=Decimal(ask), bid_size=Decimal(5), ask_size=Decimal(7),
    )  # fmt: skip


def test_batch_gets_one_receive_time_and_converts_on_read():
    clock = FakeClock()
    cache = QuoteCache(clock)
    assert cache.put_events(Kind.GREEKS, [greeks_event(".A", t=ms(T0)), greeks_event(".B", t=ms(T0))]) == 2
    g = cache.greeks(".A")
    assert g.received == g.as_of == T0
    assert g.value == GreeksValue(1.5, 0.2, -0.3, 0.01, -0.5, 0.9, 0.02, ms(T0))
    clock.t = T0 + timedelta(seconds=61)
    assert cache.now() - g.as_of > MAX_AGE  # stale by the data-quality rule
    cache.put_events(Kind.GREEKS, [greeks_event(".A", "-0.31", ms(clock.t))])
    assert cache.greeks(".A").as_of == clock.t and cache.greeks(".B").as_of == T0
    assert cache.last_received() == clock.t


def test_freshness_is_the_event_time_not_the_arrival():
    """A quote first published ten minutes ago and (re)sent now reads ten minutes old."""
    clock = FakeClock()
    cache = QuoteCache(clock)
    old = T0 - timedelta(minutes=10)
    cache.put_events(Kind.QUOTE, [quote_event(".A", "1.0", "1.1", ms(old) - 5000, ms(old))])
    q = cache.quote(".A")
    assert q.received == T0 and q.as_of == old  # the later of bidTime / askTime
    assert q.value.event_time_ms == ms(old)
    assert cache.now() - q.as_of > MAX_AGE


def test_an_older_event_never_replaces_a_newer_one():
    clock = FakeClock()
    cache = QuoteCache(clock)
    cache.put_events(Kind.QUOTE, [quote_event(".A", "2.0", "2.1", ms(T0 - timedelta(seconds=1)))])
    clock.t = T0 + timedelta(seconds=1)
    late = quote_event(".A", "9.0", "9.1", ms(T0 - timedelta(seconds=61)))  # reordered / replayed
    assert cache.put_events(Kind.QUOTE, [late]) == 0
    q = cache.quote(".A")
    assert (q.value.bid, q.as_of) == (2.0, T0 - timedelta(seconds=1)) and cache.outdated[Kind.QUOTE] == 1
    cache.put_events(
        Kind.GREEKS, [greeks_event(".A", "-0.4", ms(T0)), greeks_event(".A", "-0.2", ms(T0) - 1)]
    )
    assert cache.greeks(".A").value.delta == -0.4  # within one batch too


def test_an_event_without_its_own_time_is_of_its_arrival_unless_it_repeats_the_stored_values():
    clock = FakeClock()
    cache = QuoteCache(clock)
    cache.put_events(Kind.QUOTE, [quote_event(".A", "1.0", "1.1")])
    assert cache.quote(".A").as_of == T0
    clock.t = T0 + timedelta(minutes=10)  # a reconnect re-sends the same snapshot
    cache.put_events(Kind.QUOTE, [quote_event(".A", "1.0", "1.1")])
    q = cache.quote(".A")
    assert q.received == clock.t and q.as_of == T0, "a repeat says nothing about now"
    cache.put_events(Kind.QUOTE, [quote_event(".A", "1.05", "1.1")])
    assert cache.quote(".A").as_of == clock.t


def test_an_event_dated_after_its_arrival_is_of_its_arrival():
    clock = FakeClock()
    cache = QuoteCache(clock)
    cache.put_events(Kind.QUOTE, [quote_event(".A", "1.0", "1.1", ms(T0 + timedelta(hours=1)))])
    assert cache.quote(".A").as_of == T0 and cache.ahead[Kind.QUOTE] == 1
    clock.t = T0 + timedelta(seconds=5)
    cache.put_events(Kind.QUOTE, [quote_event(".A", "1.2", "1.3", ms(clock.t))])
    assert cache.quote(".A").value.bid == 1.2  # a skewed stamp does not block the real stream


@pytest.mark.parametrize(
    ("bid", "ask", "problem"),
    [
        ("1e308", "1e308", "bid 1e+308 outside"),
        ("-1", "1.1", "bid -1 outside"),
        ("1.0", "1E+999", "ask inf outside"),  # float(Decimal("1E+999"))
        ("Infinity", "Infinity", "bid inf outside"),
        ("NaN", "1.1", "bid nan outside"),
    ],
)
def test_implausible_quotes_are_rejected_and_never_replace_the_last_good_one(bid, ask, problem, caplog):
    clock = FakeClock()
    cache = QuoteCache(clock)
    cache.put_events(Kind.QUOTE, [quote_event(".A", "1.0", "1.1", ms(T0))])
    clock.t = T0 + timedelta(seconds=30)
    with caplog.at_level(logging.WARNING, logger="brokers"):
        for _ in range(3):
            assert cache.put_events(Kind.QUOTE, [quote_event(".A", bid, ask, ms(clock.t))]) == 0
    q = cache.quote(".A")
    assert (q.value.bid, q.value.ask, q.as_of) == (1.0, 1.1, T0), "the last good quote, not refreshed"
    assert cache.rejected[Kind.QUOTE] == 3
    (line,) = [r.getMessage() for r in caplog.records]  # logged once, then counted
    assert "DXLink Quote for .A rejected" in line and problem in line
    assert not cache.put(Kind.QUOTE, ".A", QuoteValue(float(bid), float(ask), 1, 1, ms(clock.t)))
    assert cache.quote(".A").value.bid == 1.0  # replays and tests go through the same rules


@pytest.mark.parametrize(("delta", "iv"), [("2", "0.2"), ("-0.3", "0"), ("-0.3", "9"), ("NaN", "0.2")])
def test_impossible_greeks_are_rejected(delta, iv):
    cache = QuoteCache(FakeClock())
    cache.put_events(Kind.GREEKS, [greeks_event(".A", t=ms(T0))])
    assert cache.put_events(Kind.GREEKS, [greeks_event(".A", delta, ms(T0) + 1, iv)]) == 0
    assert cache.greeks(".A").value.delta == -0.3 and cache.rejected[Kind.GREEKS] == 1


def test_absurd_gamma_theta_or_vega_is_rejected_and_names_the_greek(caplog):
    cache = QuoteCache(FakeClock())
    bad = greeks_event(".A", t=ms(T0))
    bad.gamma = Decimal("1e300")
    with caplog.at_level(logging.WARNING, logger="brokers"):
        assert cache.put_events(Kind.GREEKS, [bad]) == 0
    assert cache.greeks(".A") is None and "gamma 1e+300 outside" in caplog.text


def summary_event(sym: str, oi: int | None, volume: str | None) -> SimpleNamespace:
    volume_value = None if volume is None else Decimal(volume)
    return SimpleNamespace(event_symbol=sym, event_time=0, open_interest=oi, prev_day_volume=volume_value)


def test_summary_with_unknown_volume_is_kept_and_impossible_open_interest_rejected():
    cache = QuoteCache(FakeClock())
    assert (
        cache.put_events(Kind.SUMMARY, [summary_event(".A", 120, "NaN"), summary_event(".B", 5, None)]) == 2
    )
    assert cache.summary(".A").value.open_interest == 120 and cache.summary(".A").value.valid
    assert (
        cache.put_events(Kind.SUMMARY, [summary_event(".C", -3, "10"), summary_event(".D", None, "1")]) == 0
    )
    assert cache.put_events(Kind.SUMMARY, [summary_event(".E", 1, "-5")]) == 0
    assert cache.rejected[Kind.SUMMARY] == 3


def test_accept_filters_in_flight_events_and_forget_drops():
    cache = QuoteCache(FakeClock())
    cache.accept([".A"])
    assert cache.put_events(Kind.QUOTE, [quote_event(".A", "1.0", "1.1"), quote_event(".Z", "1", "2")]) == 1
    assert cache.quote(".Z") is None and cache.ignored[Kind.QUOTE] == 1
    q = cache.quote(".A").value
    assert q == QuoteValue(1.0, 1.1, 5.0, 7.0, 0) and q.valid
    cache.forget([".A"])
    assert cache.quote(".A") is None
    assert cache.put_events(Kind.QUOTE, [quote_event(".A", "1.0", "1.1")]) == 0


def test_snapshot_reads_all_kinds_and_validity():
    cache = QuoteCache(FakeClock())
    cache.put_events(Kind.QUOTE, [quote_event(".A", "1.2", "1.1")])  # crossed: a real, unusable state
    assert not cache.put(Kind.GREEKS, ".A", GreeksValue(1.0, float("nan"), 0.1, 0, 0, 0))
    e = cache.snapshot([".A", ".B"])
    assert not e[".A"].quote.value.valid and e[".A"].greeks is None
    assert e[".A"].summary is None and e[".B"].quote is None


def test_update_listener_sees_each_batch():
    seen = []
    cache = QuoteCache(FakeClock(), on_update=lambda k, evs, t: seen.append((k, len(evs), t)))
    cache.put_events(Kind.GREEKS, [greeks_event(".A"), greeks_event(".B")])
    assert seen == [(Kind.GREEKS, 2, T0)]


def test_concurrent_writer_and_readers():
    cache = QuoteCache(datetime.now)
    syms = [f".S{i}" for i in range(200)]
    stop = threading.Event()
    errors: list[Exception] = []

    def write() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            cache.put_events(Kind.GREEKS, [greeks_event(s, t=ms(T0) + n) for s in syms])

    def read() -> None:
        try:
            while not stop.is_set():
                snap = cache.snapshot(syms)
                for e in snap.values():
                    assert e.greeks is None or e.greeks.value.valid
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write)] + [threading.Thread(target=read) for _ in range(3)]
    for t in threads:
        t.start()
    stop.wait(0.5)
    stop.set()
    for t in threads:
        t.join(5)
    assert not errors and all(cache.greeks(s) is not None for s in syms)
