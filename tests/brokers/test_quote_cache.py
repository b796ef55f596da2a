"""The quote cache: injected clock, batches, subscription filter, concurrent readers."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

from brokers.quote_cache import GreeksValue, Kind, QuoteCache, QuoteValue

T0 = datetime(2025, 3, 7, 10, 30)


class FakeClock:
    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> datetime:
        return self.t


def greeks_event(sym: str, delta: str = "-0.3", t: int = 1) -> SimpleNamespace:
    d = Decimal
    return SimpleNamespace(
        event_symbol=sym, price=d("1.5"), volatility=d("0.2"), delta=d(delta), gamma=d("0.01"),
        theta=d("-0.5"), vega=d("0.9"), rho=d("0.02"), time=t,
    )  # fmt: skip


def quote_event(sym: str, bid: str, ask: str) -> SimpleNamespace:
    return SimpleNamespace(
        event_symbol=sym, bid_price=Decimal(bid), ask_price=Decimal(ask), bid_size=Decimal(5),
        ask_size=Decimal(7), event_time=0,
    )  # fmt: skip


def test_batch_gets_one_receive_time_and_converts_on_read():
    clock = FakeClock()
    cache = QuoteCache(clock)
    assert cache.put_events(Kind.GREEKS, [greeks_event(".A"), greeks_event(".B")]) == 2
    g = cache.greeks(".A")
    assert g.received == T0
    assert g.value == GreeksValue(1.5, 0.2, -0.3, 0.01, -0.5, 0.9, 0.02, 1)
    clock.t = T0 + timedelta(seconds=61)
    assert cache.now() - g.received > timedelta(seconds=60)  # stale by the data-quality rule
    cache.put_events(Kind.GREEKS, [greeks_event(".A", "-0.31", 2)])
    assert cache.greeks(".A").received == clock.t and cache.greeks(".B").received == T0
    assert cache.last_received() == clock.t


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
    cache.put_events(Kind.QUOTE, [quote_event(".A", "1.2", "1.1")])  # crossed
    cache.put(Kind.GREEKS, ".A", GreeksValue(1.0, float("nan"), 0.1, 0, 0, 0))
    e = cache.snapshot([".A", ".B"])
    assert not e[".A"].quote.value.valid and not e[".A"].greeks.value.valid
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
            cache.put_events(Kind.GREEKS, [greeks_event(s, t=n) for s in syms])

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
