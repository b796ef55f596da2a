"""Dual feed: freshest valid quote wins, disagreements are counted, both dead stops entries."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

from brokers.dual_feed import DualFeed
from brokers.quote_cache import GreeksValue, Kind, QuoteCache, QuoteValue, SummaryValue
from core.types import Right
from testing.factories import quote, spxw

T0 = datetime(2025, 3, 7, 11, 0)
C = spxw(5000.0, Right.PUT, date(2025, 3, 7))
SYM = ".SPXW250307P5000"


class Clock:
    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> datetime:
        return self.t


def dx_cache(clock: Clock, bid=2.0, ask=2.2, delta=-0.16, iv=0.25) -> QuoteCache:
    cache = QuoteCache(clock)
    cache.put(Kind.QUOTE, SYM, QuoteValue(bid, ask, 10, 12))
    cache.put(Kind.GREEKS, SYM, GreeksValue(2.1, iv, delta, 0.002, -1.5, 0.8))
    cache.put(Kind.SUMMARY, SYM, SummaryValue(1500))
    return cache


def test_fresher_dxlink_wins_and_keeps_lean_volume():
    clock = Clock()
    cache = dx_cache(clock)
    clock.t = T0 + timedelta(seconds=5)
    lean = quote(C, T0 - timedelta(seconds=20), 2.0, 2.2, -0.16, volume=321)
    m = DualFeed(cache, lambda: True).merge(C, lean, clock.t)
    assert m.source == "dxlink" and not m.disagreements
    assert m.quote.time == T0 and m.quote.volume == 321 and m.quote.open_interest == 1500
    assert m.quote.underlying_price == lean.underlying_price


def test_fresher_lean_wins_and_disagreement_is_counted():
    clock = Clock()
    cache = dx_cache(clock, bid=3.0, ask=3.4, delta=-0.30, iv=0.40)
    clock.t = T0 + timedelta(seconds=10)
    lean = quote(C, clock.t, 2.0, 2.2, -0.16)
    feed = DualFeed(cache, lambda: True)
    m = feed.merge(C, lean, clock.t)
    assert m.source == "lean" and m.quote is lean
    assert set(m.disagreements) == {"mid", "delta", "iv"}
    assert feed.disagreements == {"mid": 1, "delta": 1, "iv": 1} and feed.compared == 1


def test_stale_or_invalid_sides_are_skipped():
    clock = Clock()
    cache = dx_cache(clock)
    clock.t = T0 + timedelta(seconds=61)  # DXLink value now stale
    lean = quote(C, clock.t, 2.0, 2.2, -0.16)
    feed = DualFeed(cache, lambda: True)
    assert feed.merge(C, lean, clock.t).source == "lean"
    crossed = replace(lean, bid=2.3)
    m = feed.merge(C, crossed, clock.t)
    assert m.quote is None and m.source == "none" and "stale" in m.reason and "bad bid/ask" in m.reason
    cache.put(Kind.QUOTE, SYM, QuoteValue(2.0, 2.2, 1, 1))
    cache.put(Kind.GREEKS, SYM, GreeksValue(2.1, 0.25, -0.16, 0.002, -1.5, 0.8))  # a mere repeat
    assert feed.merge(C, crossed, clock.t).source == "none", "a repeat of stale Greeks is still stale"
    cache.put(Kind.GREEKS, SYM, GreeksValue(2.1, 0.25, -0.17, 0.002, -1.5, 0.8))  # news
    assert feed.merge(C, crossed, clock.t).source == "dxlink"
    assert not cache.put(Kind.GREEKS, SYM, GreeksValue(2.1, float("nan"), -0.16, 0.002, -1.5, 0.8))
    assert feed.merge(C, None, clock.t).source == "dxlink"  # the NaN never replaced the good Greeks
    clock.t += timedelta(seconds=61)
    assert feed.merge(C, None, clock.t).source == "none"  # ... which age out


def test_dxlink_quote_age_is_the_older_of_quote_and_greeks():
    clock = Clock()
    cache = dx_cache(clock)
    clock.t = T0 + timedelta(seconds=50)
    cache.put(Kind.QUOTE, SYM, QuoteValue(2.0, 2.2, 1, 1))  # fresh quote, Greeks still from T0
    dq = DualFeed(cache, lambda: True).dxlink_quote(C, clock.t, 5000.0)
    assert dq.time == T0


def test_entries_allowed_by_feed_health():
    clock = Clock()
    alive = {"dx": True}
    feed = DualFeed(dx_cache(clock), lambda: alive["dx"])
    assert feed.entries_allowed(T0).approved  # DXLink only
    feed.lean_data_received(T0)
    alive["dx"] = False
    assert feed.entries_allowed(T0 + timedelta(seconds=30)).message == "LEAN feed only"
    d = feed.entries_allowed(T0 + timedelta(seconds=61))
    assert not d.approved and d.code == "feeds_dead"
    assert DualFeed(None).entries_allowed(T0).code == "feeds_dead"
