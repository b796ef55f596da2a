"""One simulated week of ``TomKingAlgorithm`` (main.py) on the LEAN double: SPXW, SPX, SPY/QQQ/IWM
options, ES/CL/GC future options, every bar stamped in its exchange's time zone as LEAN does.

The week (Mon 5 - Fri 9 October 2026) holds the month's first Wednesday (LT112) and a Friday with
VIX at 24 (0DTE).  ES dips just after the LT112 entry is placed (LEAN's combo fill rule prices
every leg at its bar's low for a buy combo, so a credit-heavy combo fills when the market moves
its way); on Thursday ES option volatility falls step by step, which takes LT112's naked puts to their
90% profit target.  The test asserts what a user relies on: steps only inside the SPX
session (09:30-16:15 New York), a 0DTE condor opened after 10:30 and closed by 15:30 on Friday,
an LT112 unit opened on ES options and its naked part closed by a combo LEAN accepts.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta
from functools import reduce

import pytest

from testing.lean.bench import tomking
from testing.lean.market import Market, Shock

pytestmark = pytest.mark.slow  # a week of minute steps through the LEAN double

MONDAY, FRIDAY = date(2026, 10, 5), date(2026, 10, 9)


@pytest.fixture(scope="module")
def week(hours):
    from testing.lean import installed

    market = Market(
        shocks=[
            Shock(datetime(2026, 10, 7, 10, 6), move=-0.02, roots=("ES",)),  # the LT112 entry fills
            # its naked puts lose their value as ES option volatility falls all Thursday, a step at a
            # time (one sudden collapse is held as bad data by the quote-jump rule)
            *(
                Shock(datetime(2026, 10, 8, 10, 0) + timedelta(minutes=15 * i), vol_scale=0.93, roots=("ES",))
                for i in range(14)
            ),
        ]
    )
    with installed() as main:
        engine, algo = tomking(main, hours, MONDAY, FRIDAY, market, cash=400_000.0)
        steps: list[datetime] = []
        engine.start()
        system = algo.trading_system
        on_step = system.on_step

        def recording_step() -> None:
            steps.append(algo.time)
            on_step()

        system.on_step = recording_step
        engine.run_until(datetime.combine(FRIDAY, time(23, 59)))
        engine.finish()
        yield engine, algo, steps


def test_steps_only_inside_the_new_york_session_and_until_its_close(week):
    _, _, steps = week
    days = sorted({s.date() for s in steps})
    assert days == [date(2026, 10, d) for d in range(5, 10)]
    for day in days:
        today = [s.time() for s in steps if s.date() == day]
        # SPX opens 08:30 Chicago = 09:30 New York (the very first step waits for the first bar)
        assert time(9, 30) <= min(today) <= time(9, 35), day
        assert max(today) == time(16, 10), day  # managed until the 16:15 New York close


def test_friday_zero_dte_condor_opened_after_1030_and_closed_by_1530(week):
    _, algo, _ = week
    condors = [
        g for g in algo.trading_system.book.closed("zero_dte") if g.opened_at and g.opened_at.date() == FRIDAY
    ]
    assert condors, [line for line in algo.lines if "zero_dte" in line][:20]
    for g in condors:
        assert g.opened_at.time() >= time(10, 30) and len(g.legs) == 4
        assert g.closed_at is not None and g.closed_at <= datetime.combine(FRIDAY, time(15, 30))
    assert not algo.trading_system.book.live("zero_dte")


def test_lt112_unit_on_es_options_and_its_naked_part_closed_by_a_valid_combo(week):
    _, algo, _ = week
    book = algo.trading_system.book
    parts = [*book.live("lt112"), *book.closed("lt112")]
    assert parts, [line for line in algo.lines if "lt112" in line][:20]
    assert {g.legs[0].contract.root for g in parts} == {"ES"}
    naked = [g for g in book.closed("lt112") if g.part == "naked"]
    assert naked and naked[0].exit_reason == "profit_target", [(g.part, g.exit_reason) for g in parts]
    tag_prefix = f"{naked[0].group_id}|"
    closing = [
        t for t in algo.transactions.get_order_tickets() if t.tag.startswith(tag_prefix) and t.quantity > 0
    ]
    assert closing, "the naked puts were bought back through LEAN"
    for t in closing:
        group = t.order.group
        assert reduce(math.gcd, [int(o) for o in [t.order.ratio]]) == 1 and group.quantity >= 2
    assert not [line for line in algo.errors if "global combo quantity" in line]


def test_no_entry_failed_the_staleness_rule_for_index_options(week):
    _, algo, _ = week
    stale = [line for line in algo.lines if "dq_stale" in line and "SPXW" in line]
    assert stale == []
