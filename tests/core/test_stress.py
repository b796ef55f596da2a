"""The portfolio stress loss (STRATEGY_RULES.md, "portfolio stress loss"): each leg repriced under
the rulebook's moves, equity-index underlyings as one class, every other group on its own."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time

import numpy as np
import pytest

from core.option_math import black76_price, bs_price
from core.stress import (
    EQUITY,
    EXPIRY_TIME,
    MIN_YEARS,
    RATE,
    Scenarios,
    StressUnknown,
    stress_class,
    stress_loss,
)
from core.types import Right, SecurityKind
from testing.factories import quote, spxw

NOW = datetime(2025, 3, 7, 10, 0)
EXPIRY = date(2025, 4, 17)
YEARS = (datetime.combine(EXPIRY, time(16, 0)) - NOW).total_seconds() / (365.0 * 86400)


def _spx_put(strike=4800.0, iv=0.2):
    return quote(spxw(strike, Right.PUT, EXPIRY), NOW, 20.0, 21.0, -0.2, spot=5000.0, iv=iv)


def _future(q, root, underlying, mult):
    c = dataclasses.replace(q.contract, root=root, underlying=underlying, kind=SecurityKind.FUTURE_OPTION,
                            multiplier=mult)  # fmt: skip
    return dataclasses.replace(q, contract=c)


def test_a_short_put_loses_its_reprice_at_minus_8_percent_with_iv_times_1_5():
    q = _spx_put()
    result = stress_loss([(q, -1.0)], NOW, Scenarios())
    now_value = float(bs_price(5000.0, 4800.0, YEARS, RATE, 0.0, 0.2, False))
    shocked = float(bs_price(4600.0, 4800.0, YEARS, RATE, 0.0, 0.3, False))
    assert result.loss == pytest.approx((shocked - now_value) * 100)
    assert result.worst == {"equity_index": "-8% iv x1.5"}


def test_equity_index_legs_offset_each_other_other_classes_add_up():
    put = _spx_put()
    es_put = _future(put, "ES", "ESM25", 50.0)
    # short 2 SPX-scale ES puts (2 x 50 = 100 per point) against a long SPX put: they cancel
    hedged = stress_loss([(put, 1.0), (es_put, -2.0)], NOW, Scenarios())
    alone = stress_loss([(es_put, -2.0)], NOW, Scenarios())
    assert hedged.loss < 0.2 * alone.loss
    gc = _future(put, "GC", "GCM25", 100.0)
    both = stress_loss([(es_put, -2.0), (gc, -1.0)], NOW, Scenarios())
    gc_alone = stress_loss([(gc, -1.0)], NOW, Scenarios())
    assert both.loss == pytest.approx(alone.loss + gc_alone.loss)
    assert set(both.by_class) == {"equity_index", "B2"} and both.worst["B2"] == "-15% iv x1.5"
    repriced = float(black76_price(5000.0 * 0.85, 4800.0, YEARS, RATE, 0.3, False)) - float(
        black76_price(5000.0, 4800.0, YEARS, RATE, 0.2, False)
    )
    assert gc_alone.loss == pytest.approx(repriced * 100)


def test_long_options_only_lose_in_the_up_move_and_nothing_held_loses_nothing():
    assert stress_loss([], NOW, Scenarios()).loss == 0.0
    long_put = stress_loss([(_spx_put(), 1.0)], NOW, Scenarios())
    assert long_put.worst["equity_index"].startswith("+6%") and long_put.loss > 0


def test_a_leg_without_a_usable_iv_cannot_be_judged():
    with pytest.raises(StressUnknown, match="iv"):
        stress_loss([(_spx_put(iv=float("nan")), -1.0)], NOW, Scenarios())


def test_a_mixed_book_loses_exactly_its_legs_priced_one_by_one_with_their_own_model():
    """One pricing pass over now + every scenario, each model only on its legs: the same numbers,
    to the last bit, as each leg repriced alone (index legs Black-Scholes, futures legs Black-76)."""
    put, call = _spx_put(4800.0, 0.21), _spx_put(4700.0, 0.24)
    es = _future(_spx_put(4900.0, 0.19), "ES", "ESM25", 50.0)
    legs = [(put, -2.0), (es, 1.0), (call, 1.0)]
    s = Scenarios()
    expected = 0.0
    for move, vol in [(-s.equity_down, 1.0), (-s.equity_down, s.iv_multiplier), (s.equity_up, 1.0),
                      (s.equity_up, s.iv_multiplier)]:  # fmt: skip
        total = 0.0
        for q, n in legs:
            k, iv = q.contract.strike, q.iv
            if q.contract.kind is SecurityKind.FUTURE_OPTION:
                now, shocked = (float(black76_price(x, k, YEARS, RATE, v, False)[()])
                                for x, v in ((5000.0, iv), (5000.0 * (1.0 + move), iv * vol)))  # fmt: skip
            else:
                now, shocked = (float(bs_price(x, k, YEARS, RATE, 0.0, v, False)[()])
                                for x, v in ((5000.0, iv), (5000.0 * (1.0 + move), iv * vol)))  # fmt: skip
            total += (shocked - now) * n * q.contract.multiplier
        expected = max(expected, -total)
    assert stress_loss(legs, NOW, Scenarios()).loss == expected


def _put_loss(q, n, when, scenarios):
    """One Black-Scholes put's worst loss repriced by hand (the scenarios' four rows)."""
    years = (datetime.combine(EXPIRY, time(16, 0)) - when).total_seconds() / (365.0 * 86400)
    k, iv, s = q.contract.strike, q.iv, scenarios
    value = float(bs_price(5000.0, k, years, RATE, 0.0, iv, False))
    totals = [
        (float(bs_price(5000.0 * (1.0 + m), k, years, RATE, 0.0, iv * v, False)) - value) * n * 100
        for m, v in ((-s.equity_down, 1.0), (-s.equity_down, s.iv_multiplier), (s.equity_up, 1.0),
                     (s.equity_up, s.iv_multiplier))
    ]  # fmt: skip
    return max(0.0, -min(totals))


def test_the_legs_layout_is_rebuilt_when_the_quantity_or_the_scenarios_change_never_reused_stale():
    """What depends only on the legs is kept between calls (``_layout``); another quantity of the
    same contracts, other scenarios or a later time must each give their own loss."""
    q = _spx_put()
    one = stress_loss([(q, -1.0)], NOW, Scenarios())
    assert stress_loss([(q, -3.0)], NOW, Scenarios()).loss == pytest.approx(3 * one.loss, rel=1e-12)
    wider = Scenarios(equity_down=0.15)
    assert stress_loss([(q, -1.0)], NOW, wider).loss == pytest.approx(_put_loss(q, -1.0, NOW, wider))
    assert stress_loss([(q, -1.0)], NOW, wider).worst == {"equity_index": "-15% iv x1.5"}
    later = datetime(2025, 4, 10, 15, 0)  # the same layout a month on: less time value to lose
    moved = stress_loss([(q, -1.0)], later, Scenarios()).loss
    assert moved == pytest.approx(_put_loss(q, -1.0, later, Scenarios())) and moved != one.loss


def test_the_same_legs_at_another_spot_iv_or_time_are_never_answered_from_the_memo():
    """``_stress`` keeps the last answers (the monitors, sampler and gate ask alike within a step):
    a repeated question gets the same result, any changed input a fresh one."""
    q = _spx_put()
    first = stress_loss([(q, -1.0)], NOW, Scenarios())
    assert stress_loss([(q, -1.0)], NOW, Scenarios()) == first
    lower = dataclasses.replace(q, underlying_price=4900.0)
    richer = dataclasses.replace(q, iv=0.25)
    later = datetime(2025, 3, 7, 10, 5)
    for legs, when in (([(lower, -1.0)], NOW), ([(richer, -1.0)], NOW), ([(q, -1.0)], later)):
        assert stress_loss(legs, when, Scenarios()).loss != first.loss


def _reference_loss(legs, now, s):
    """The stress loss priced leg by leg with the public pricers, in the model's order of
    operations (value now and per scenario, times signed dollars per point, summed per class in leg
    order): what the one-pass pricer must give to the bit."""
    totals: dict[str, np.ndarray] = {}
    for q, n in legs:
        c = q.contract
        cls = stress_class(c)
        moves, vols, _ = s.grid(cls == EQUITY)
        years = max(
            (datetime.combine(c.expiry, EXPIRY_TIME) - now).total_seconds() / (365.0 * 86400), MIN_YEARS
        )
        spots = np.array([q.underlying_price, *(q.underlying_price * (1.0 + moves))])
        ivs = np.array([q.iv, *(q.iv * vols)])
        if c.kind is SecurityKind.FUTURE_OPTION:
            values = black76_price(spots, c.strike, years, RATE, ivs, c.is_call)
        else:
            values = bs_price(spots, c.strike, years, RATE, 0.0, ivs, c.is_call)
        pnl = (values[1:] - values[0]) * (n * c.multiplier)
        totals[cls] = totals[cls] + pnl if cls in totals else pnl
    return sum(max(0.0, -float(t.min())) for _, t in sorted(totals.items()))


def test_the_one_pass_pricer_gives_the_public_pricers_bits_and_edge_cases_still_price():
    """Valid inputs take the one-pass pricer (both models at once, no edge-case handling): the loss
    equals the public pricers' to the bit.  A scenario that takes the spot to 0 (a move of -100%)
    goes to the general pricer, which handles it: a finite loss, a short put worth its strike."""
    put, es = _spx_put(4800.0, 0.21), _future(_spx_put(4900.0, 0.19), "ES", "ESM25", 50.0)
    call = dataclasses.replace(
        put, contract=dataclasses.replace(put.contract, right=Right.CALL, strike=5100.0)
    )
    for legs in ([(put, -1.0), (es, 2.0), (call, 1.0)], [(es, -1.0)], [(put, -2.0), (call, -1.0)]):
        for s in (Scenarios(), Scenarios(equity_down=0.2, iv_multiplier=2.0)):
            assert stress_loss(legs, NOW, s).loss == _reference_loss(legs, NOW, s)
    crash = stress_loss([(put, -1.0), (call, 1.0)], NOW, Scenarios(equity_down=1.0))
    years = (datetime.combine(EXPIRY, EXPIRY_TIME) - NOW).total_seconds() / (365.0 * 86400)
    now_value = float(bs_price(5000.0, 4800.0, years, RATE, 0.0, 0.21, False)) - float(
        bs_price(5000.0, 5100.0, years, RATE, 0.0, 0.21, True)
    )
    assert crash.loss == pytest.approx((4800.0 * np.exp(-RATE * years) - now_value) * 100)  # put at its limit
    assert crash.worst == {"equity_index": "-100% iv x1"}
