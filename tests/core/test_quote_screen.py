"""The market-data sanity rules every layer shares, and the last good quote they judge against.

A quote that fails is never used to mark, trigger or price anything; real moves (a 0DTE wing that
jumps with its underlying, a cheap wing that doubles) must still pass, or a stop would be held
back exactly when it matters."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta

import pytest

from core.quote_screen import LastGood, QuoteScreen, quote_problem, raw_chains
from core.settings import Settings
from core.types import Leg, OptionQuote, Right
from persistence.typed import DecodeError, from_plain, to_plain
from testing.factories import FakeChains, friday, quote, snapshot, spxw, zero_dte_chain

S = Settings()
NOW = friday(11, 0)


def _put(
    mid: float, spread: float = 0.10, spot: float = 5000.0, delta: float = -0.16, when=NOW
) -> OptionQuote:
    contract = spxw(4950.0, Right.PUT, NOW.date())
    return quote(contract, when, mid - spread / 2, mid + spread / 2, delta, spot)


@pytest.mark.parametrize(
    ("bid", "ask", "code"),
    [
        (float("nan"), 2.0, "dq_non_finite"),
        (1.0, float("inf"), "dq_non_finite"),
        (1e308, 1e308, "dq_out_of_bounds"),  # a put is never worth more than its strike
        (0.0, 0.0, "dq_non_positive"),
        (-2.0, -1.0, "dq_non_positive"),
        (2.1, 2.0, "dq_crossed"),
        (0.0, 5002.0, "dq_absurd_width"),  # wider than 2% of the underlying
    ],
)
def test_quotes_no_option_can_have_fail_without_any_history(bid, ask, code):
    q = dataclasses.replace(_put(2.0), bid=bid, ask=ask)
    assert quote_problem(q, None, S).code == code


def test_a_call_bid_above_its_underlying_is_out_of_bounds():
    call = quote(spxw(4000.0, Right.CALL, NOW.date()), NOW, 1000.0, 1001.0, 0.99)
    assert quote_problem(call, None, S).approved
    assert (
        quote_problem(dataclasses.replace(call, bid=6000.0, ask=6001.0), None, S).code == "dq_out_of_bounds"
    )


@pytest.mark.parametrize("scale", [100.0, 1 / 1000.0, 6.0, 1 / 6.0])
def test_a_jump_the_underlying_does_not_explain_fails_against_the_last_good_quote(scale):
    last = _put(10.0, spread=0.2)
    later = _put(10.0 * scale, spread=0.2 * scale, when=NOW + timedelta(minutes=5))
    verdict = quote_problem(later, last, S)
    assert verdict.code == "dq_quote_jump" and "last good" in verdict.message


@pytest.mark.parametrize(
    ("mid", "spot", "delta", "new_mid"),
    [
        (1.00, 5000.0, -0.10, 6.00),  # a 0DTE put x6 when SPX falls 1%: a stop must see it
        (0.10, 5000.0, -0.02, 0.60),  # a cheap wing x6 in a vol spike, the underlying flat
        (0.50, 5000.0, -0.05, 0.05),  # a 0DTE wing decays to a tenth as SPX rallies 0.2%
        (10.0, 5000.0, -0.30, 7.00),  # an ordinary move
    ],
)
def test_real_moves_pass(mid, spot, delta, new_mid):
    last = _put(mid, spread=0.05, delta=delta)
    moved_spot = {6.00: spot * 0.99, 0.05: spot * 1.002}.get(new_mid, spot)
    later = _put(new_mid, spread=0.05, spot=moved_spot, delta=delta, when=NOW + timedelta(minutes=5))
    assert quote_problem(later, last, S).approved


def test_history_older_than_a_session_is_not_compared():
    last = _put(10.0, when=NOW - timedelta(days=5))
    assert quote_problem(_put(100.0), last, S).approved


def test_a_failing_quote_never_becomes_the_last_good_one_and_marks_come_from_the_good_one():
    screen = QuoteScreen(S)
    good = _put(10.0, spread=0.2)
    assert screen.check(good).approved
    bad = _put(1000.0, spread=20.0, when=NOW + timedelta(minutes=5))
    assert screen.check(bad).code == "dq_quote_jump"
    assert screen.last.quotes[good.contract.symbol] == good
    mark = screen.marked(good.contract)
    assert mark is not None and mark.time == good.time, "stamped with the time it was good"
    assert mark.mid == pytest.approx(good.mid) and mark.spread == pytest.approx(2 * good.spread), "widened"


def test_the_view_marks_failing_contracts_from_their_last_good_quote_and_keeps_the_raw_source():
    screen = QuoteScreen(S)
    chain = zero_dte_chain(NOW)
    first = chain.quotes[10]
    view = screen.view(snapshot(NOW, [chain]))
    assert view.chains.quote(first.contract) == first
    later = NOW + timedelta(minutes=5)
    broken = dataclasses.replace(
        chain, quotes=tuple(dataclasses.replace(q, bid=float("nan"), time=later) for q in chain.quotes)
    )
    view = screen.view(snapshot(later, [broken]))
    marked = view.chains.quote(first.contract)
    assert marked is not None and marked.time == NOW and marked.mid == pytest.approx(first.mid)
    raw = raw_chains(view.chains).quote(first.contract)
    assert raw is not None and raw.time == later, "order pricing and entry checks read the raw quote"
    assert screen.unpriceable([Leg(first.contract, -1)], view.chains)[0].startswith("dq_non_finite")
    never_seen = broken.quotes[11].contract
    assert view.chains.quote(never_seen) is None, "nothing good to mark from"
    assert screen.unpriceable([Leg(first.contract, 1)], FakeChains([])) == [
        f"{first.contract.symbol}: no quote"
    ]


def test_last_good_values_round_trip_as_plain_json():
    screen = QuoteScreen(S)
    screen.check(_put(10.0))
    doc = json.loads(json.dumps(to_plain(screen.state())))
    assert from_plain(LastGood, doc) == screen.last
    with pytest.raises(DecodeError, match=r"quotes\.X"):
        from_plain(LastGood, {"quotes": {"X": {"bid": "x"}}, "prices": {}})


def test_old_values_are_forgotten():
    screen = QuoteScreen(S)
    screen.check(_put(10.0, when=datetime(2025, 3, 3, 10, 0)))
    screen.view(snapshot(datetime(2025, 3, 14, 10, 0), []))
    assert screen.last.quotes == {}
