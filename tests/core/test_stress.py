"""The portfolio stress loss (STRATEGY_RULES.md, "portfolio stress loss"): each leg repriced under
the rulebook's moves, equity-index underlyings as one class, every other group on its own."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time

import numpy as np
import pytest

import core.stress as stress_module
from core.option_math import black76_price, bs_price
from core.stress import RATE, Scenarios, StressUnknown, stress_loss
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


def test_the_one_pass_pricer_gives_the_general_pricers_bits_and_edge_cases_take_the_general_one():
    """``_plain_price`` (both models in one pass, no edge-case handling) equals ``_price`` to the
    bit on valid inputs; a scenario that takes the spot to 0 (a move of -100%) or past the largest
    float is priced by ``_price``, which handles it, not by the formula that has no such case."""
    rng = np.random.default_rng(3)
    put, es = _spx_put(4800.0, 0.21), _future(_spx_put(4900.0, 0.19), "ES", "ESM25", 50.0)
    contracts = (
        put.contract,
        es.contract,
        dataclasses.replace(put.contract, right=Right.CALL, strike=5100.0),
    )
    layout = stress_module._layout(Scenarios(), contracts, (-1.0, 2.0, 1.0))
    spots = rng.uniform(4000.0, 6000.0, (5, 3))
    ivs = rng.uniform(0.05, 0.9, (5, 3))
    years = layout.years(NOW)
    general = stress_module._price(spots, layout.strike, years, ivs, layout.calls, layout.futures)
    assert np.array_equal(stress_module._plain_price(spots, ivs, years, layout), general)
    assert layout.plain and not stress_module._layout(Scenarios(equity_down=1.0), contracts, (1.0,) * 3).plain
    assert stress_module._in_range((5000.0,), (0.92, 1.06)) and not stress_module._in_range(
        (1.7e308,), (0.92, 1.06)
    )
