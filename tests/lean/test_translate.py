"""The LEAN adapter's engine-neutral helpers: store keys, parameters, contracts, quotes with the
Greeks fallback, day opens, universe bands, combo order-event aggregation and log lines."""

from __future__ import annotations

import math
from datetime import date, datetime

import pytest

from core.option_math import black76_greeks, bs_greeks
from core.ports import Severity
from core.settings import SettingsError
from core.types import (
    ExerciseStyle,
    GroupStatus,
    Leg,
    OrderStatus,
    PositionGroup,
    Right,
    SecurityKind,
    Settlement,
)
from lean_adapter.combo_events import ComboEventAggregator, LegStatus, LegUpdate
from lean_adapter.translate import (
    AdapterOptions,
    DayOpens,
    RawOptionQuote,
    StrikeBand,
    build_quotes,
    decode_bytes,
    encode_bytes,
    format_record,
    greeks_usable,
    in_bands,
    load_parameters,
    make_option_contract,
    parse_adapter_options,
    sort_quotes,
    split_parameters,
    store_key,
    years_to_expiry,
)

NOW = datetime(2025, 3, 7, 10, 30)
TODAY = NOW.date()


# --- store keys -------------------------------------------------------------------------------------
def test_live_keys_survive_redeploys_and_backtests_share_one_cleared_namespace():
    assert store_key("123", True, "trading_system/book.json") == "tomking/123/live/trading_system/book.json"
    assert (
        store_key("123", False, "trading_system/book.json") == "tomking/123/backtest/trading_system/book.json"
    )


def test_store_key_segments_are_sanitised_and_traversal_refused():
    assert store_key("my project", True, "a b/c") == "tomking/my_project/live/a_b/c"
    assert store_key("", False, "k") == "tomking/default/backtest/k"
    for bad in ("", "/", "../x", "a/../b"):
        with pytest.raises(ValueError):
            store_key("1", True, bad)


def test_bytes_round_trip_through_text_and_bad_text_is_an_error():
    data = bytes(range(256))
    assert decode_bytes(encode_bytes(data)) == data
    encode_bytes(data).encode("ascii")  # plain ASCII for the ObjectStore's string API
    with pytest.raises(ValueError):
        decode_bytes("not base64 !!!")


# --- parameters ------------------------------------------------------------------------------------
def test_adapter_parameters_are_split_from_settings_parameters():
    settings, adapter = split_parameters({"zero_dte_min_vix": 25, "notify_email": "a@b.c"})
    assert settings == {"zero_dte_min_vix": "25"} and adapter == {"notify_email": "a@b.c"}


def test_adapter_options_parse_and_filter_by_severity():
    opts = parse_adapter_options({"notify_email": "ops@example.com", "notify_min_severity": "CRITICAL"})
    assert opts == AdapterOptions("ops@example.com", "", Severity.CRITICAL)
    assert opts.should_send(Severity.CRITICAL) and not opts.should_send(Severity.WARNING)
    default = parse_adapter_options({})
    assert default.should_send(Severity.WARNING) and not default.should_send(Severity.INFO)


def test_one_error_lists_every_settings_and_adapter_problem():
    with pytest.raises(SettingsError) as err:
        load_parameters(
            {"zero_dte_min_vix": "abc", "notify_min_severity": "loud", "notify_web_url": "ftp://x"}, "cfg"
        )
    problems = err.value.problems
    assert any(p.startswith("cfg.zero_dte_min_vix") for p in problems)
    assert any(p.startswith("cfg.notify_min_severity") for p in problems)
    assert any(p.startswith("cfg.notify_web_url") for p in problems)


# --- contracts and bands -----------------------------------------------------------------------------
def test_option_contracts_carry_settlement_by_kind():
    spxw = make_option_contract("SPXW", "SPX", True, 5900, TODAY, 100, SecurityKind.INDEX_OPTION, False)
    assert (spxw.right, spxw.style, spxw.settlement) == (Right.CALL, ExerciseStyle.EUROPEAN, Settlement.CASH)
    assert spxw.symbol == "SPXW  250307C05900000"
    spy = make_option_contract("SPY", "SPY", False, 500, TODAY, 100, SecurityKind.EQUITY_OPTION, True)
    assert (spy.style, spy.settlement) == (ExerciseStyle.AMERICAN, Settlement.SHARES)
    es = make_option_contract("ES", "ESM25", False, 5000, TODAY, 50, SecurityKind.FUTURE_OPTION, True)
    assert (es.underlying, es.multiplier, es.settlement) == ("ESM25", 50.0, Settlement.FUTURE)
    with pytest.raises(ValueError):
        make_option_contract("SPX", "SPX", True, 1, TODAY, 1, SecurityKind.INDEX, False)


def test_bands_select_by_days_moneyness_and_right():
    bands = (StrikeBand(0, 2, 0.93, 1.0, Right.PUT), StrikeBand(250, 420, 0.6, 0.95))
    assert in_bands(4800, TODAY, False, 5000, TODAY, bands)
    assert not in_bands(4800, TODAY, True, 5000, TODAY, bands)  # calls not wanted at 0 DTE
    assert not in_bands(4500, TODAY, False, 5000, TODAY, bands)  # 0.90 is outside 0.93..1.0
    assert in_bands(4000, date(2026, 3, 20), True, 5000, TODAY, bands)  # 378 DTE, either right
    assert not in_bands(4000, date(2025, 6, 20), True, 5000, TODAY, bands)  # 105 DTE
    assert not in_bands(4800, TODAY, False, 0.0, TODAY, bands)  # no spot, nothing


# --- quotes and Greeks ---------------------------------------------------------------------------------
def _raw(strike=4900.0, right_call=False, kind=SecurityKind.INDEX_OPTION, **kw) -> RawOptionQuote:
    root, under, mult = (
        ("ES", "ESM25", 50.0) if kind is SecurityKind.FUTURE_OPTION else ("SPXW", "SPX", 100.0)
    )
    expiry = date(2025, 4, 17)
    contract = make_option_contract(root, under, right_call, strike, expiry, mult, kind, False)
    values = {
        "contract": contract,
        "time": NOW,
        "bid": 40.0,
        "ask": 41.0,
        "bid_size": 5,
        "ask_size": 7,
        "volume": 120,
        "open_interest": 900,
        "underlying_price": 5000.0,
        "iv": 0.0,
        "delta": 0.0,
        "gamma": 0.0,
        "theta": 0.0,
        "vega": 0.0,
    }
    values.update(kw)
    return RawOptionQuote(**values)


def test_years_to_expiry_counts_calendar_time_to_the_close_and_never_reaches_zero():
    assert years_to_expiry(datetime(2025, 3, 7, 16, 0), date(2025, 3, 8)) == pytest.approx(1 / 365)
    assert years_to_expiry(datetime(2025, 3, 7, 16, 30), TODAY) > 0


def test_lean_greeks_are_used_unchanged_when_usable():
    raw = _raw(iv=0.2, delta=-0.3, gamma=0.001, theta=-1.2, vega=4.5)
    assert greeks_usable(raw)
    (q,) = build_quotes([raw], NOW, rate=0.04)
    assert (q.iv, q.delta, q.gamma, q.theta, q.vega) == (0.2, -0.3, 0.001, -1.2, 4.5)
    assert (q.bid, q.ask, q.bid_size, q.ask_size, q.volume, q.open_interest) == (40, 41, 5, 7, 120, 900)


@pytest.mark.parametrize(
    "change",
    [
        {},  # all zero: LEAN's price model had no data yet
        {"iv": float("nan"), "delta": -0.3, "gamma": 0.001, "vega": 4.0},
        {"iv": 0.2, "delta": -1.7, "gamma": 0.001, "vega": 4.0},
        {"iv": 0.0, "delta": -0.3, "gamma": 0.001, "vega": 4.0},
    ],
)
def test_missing_or_impossible_lean_greeks_are_not_usable(change):
    assert not greeks_usable(_raw(**change))


def test_fallback_implies_vol_from_the_mid_and_computes_bsm_greeks():
    raw = _raw()
    (q,) = build_quotes([raw], NOW, rate=0.04)
    t = years_to_expiry(NOW, raw.contract.expiry)
    assert 0.05 < q.iv < 1.0
    g = bs_greeks(5000.0, 4900.0, t, 0.04, 0.0, q.iv, False)
    assert float(g.price) == pytest.approx(40.5, abs=1e-6)  # reprices the mid
    assert (q.delta, q.gamma, q.theta, q.vega) == pytest.approx(
        (float(g.delta), float(g.gamma), float(g.theta), float(g.vega))
    )
    assert -1 < q.delta < 0 and q.theta < 0 < q.vega


def test_fallback_keeps_a_valid_lean_iv_when_only_the_greeks_are_missing():
    (q,) = build_quotes([_raw(iv=0.31)], NOW, rate=0.04)
    t = years_to_expiry(NOW, date(2025, 4, 17))
    assert q.iv == 0.31
    assert q.delta == pytest.approx(float(bs_greeks(5000.0, 4900.0, t, 0.04, 0.0, 0.31, False).delta))


def test_futures_options_fall_back_to_black76():
    raw = _raw(kind=SecurityKind.FUTURE_OPTION, bid=60.0, ask=62.0)
    (q,) = build_quotes([raw], NOW, rate=0.04)
    t = years_to_expiry(NOW, raw.contract.expiry)
    g = black76_greeks(5000.0, 4900.0, t, 0.04, q.iv, False)
    assert float(g.price) == pytest.approx(61.0, abs=1e-6)
    assert q.delta == pytest.approx(float(g.delta))


def test_no_two_sided_market_leaves_nan_greeks_for_data_quality_to_reject():
    (q,) = build_quotes([_raw(bid=0.0, ask=0.05)], NOW, rate=0.04)
    assert math.isnan(q.delta) and math.isnan(q.iv)


def test_mixed_chain_keeps_order_and_sorts_by_strike_then_right():
    raws = [
        _raw(strike=5100, right_call=True, iv=0.2, delta=0.3, gamma=0.001, theta=-1, vega=4),
        _raw(strike=4900),
        _raw(strike=4900, right_call=True, bid=140.0, ask=142.0),
    ]
    quotes = build_quotes(raws, NOW, rate=0.04)
    assert [q.contract.symbol for q in quotes] == [r.contract.symbol for r in raws]
    ordered = sort_quotes(quotes)
    assert [(q.contract.strike, q.contract.right) for q in ordered] == [
        (4900, Right.CALL),
        (4900, Right.PUT),
        (5100, Right.CALL),
    ]


# --- day opens -----------------------------------------------------------------------------------------
def test_day_open_is_the_first_positive_price_of_the_day():
    opens = DayOpens()
    opens.observe(NOW, "SPX", 0.0)
    opens.observe(NOW, "SPX", 5000.0)
    opens.observe(NOW.replace(minute=45), "SPX", 5050.0)
    assert opens.opens(NOW) == {"SPX": 5000.0}
    tomorrow = datetime(2025, 3, 10, 9, 31)
    assert opens.opens(tomorrow) == {}
    opens.observe(tomorrow, "SPX", 4900.0)
    assert opens.opens(tomorrow) == {"SPX": 4900.0}


# --- combo order events ----------------------------------------------------------------------------------
def _condor(units: int = 1) -> tuple[ComboEventAggregator, list[str]]:
    legs = {}
    for strike, call, ratio in ((4800, False, 1), (4850, False, -1), (5150, True, -1), (5200, True, 1)):
        c = make_option_contract("SPXW", "SPX", call, strike, TODAY, 100, SecurityKind.INDEX_OPTION, False)
        legs[c.symbol] = (c, ratio * units)
    agg = ComboEventAggregator()
    agg.register("g1|open|0", legs)
    return agg, list(legs)


def _fill(leg: str, order_id: int, qty: int, price: float, status=LegStatus.FILLED) -> LegUpdate:
    return LegUpdate(order_id, leg, status, qty, price, fee=1.0)


def test_submitted_once_then_one_filled_event_with_every_leg():
    agg, legs = _condor()
    tag = "g1|open|0"
    events = [
        e
        for i, leg in enumerate(legs)
        for e in agg.on_leg_event(tag, NOW, LegUpdate(i, leg, LegStatus.SUBMITTED))
    ]
    assert [e.status for e in events] == [OrderStatus.SUBMITTED]
    prices = {legs[0]: 1.0, legs[1]: 2.5, legs[2]: 2.0, legs[3]: 0.8}
    qty = {legs[0]: 1, legs[1]: -1, legs[2]: -1, legs[3]: 1}
    out = []
    for i, leg in enumerate(legs):
        out += agg.on_leg_event(tag, NOW, _fill(leg, i, qty[leg], prices[leg]))
    assert [e.status for e in out] == [OrderStatus.FILLED]
    fills = out[0].fills
    assert len(fills) == 4 and {f.contract.symbol for f in fills} == set(legs)
    net = sum(f.quantity * f.price for f in fills)  # what execution computes per unit
    assert net == pytest.approx(1.0 - 2.5 - 2.0 + 0.8)
    assert sum(f.fee for f in fills) == 4.0
    assert agg.outcome(tag) is OrderStatus.FILLED


def test_partial_fills_are_released_in_whole_units_as_increments():
    agg, legs = _condor(units=2)
    tag = "g1|open|0"
    sign = {legs[0]: 1, legs[1]: -1, legs[2]: -1, legs[3]: 1}
    first = []
    for i, leg in enumerate(legs):
        first += agg.on_leg_event(tag, NOW, _fill(leg, i, sign[leg], 1.0, LegStatus.PARTIALLY_FILLED))
    assert [e.status for e in first] == [OrderStatus.PARTIALLY_FILLED]
    assert len(first[0].fills) == 4
    second = []
    for i, leg in enumerate(legs):
        second += agg.on_leg_event(tag, NOW, _fill(leg, i, sign[leg], 1.0))
    assert [e.status for e in second] == [OrderStatus.FILLED]
    assert [f.quantity for f in second[0].fills] == [sign[leg] for leg in legs]  # only the increments


def test_cancel_is_reported_once_when_every_leg_has_ended():
    agg, legs = _condor()
    tag = "g1|open|0"
    out = []
    for i, leg in enumerate(legs):
        out += agg.on_leg_event(tag, NOW, LegUpdate(i, leg, LegStatus.CANCELED))
        if i < len(legs) - 1:
            assert out == []
    assert [e.status for e in out] == [OrderStatus.CANCELLED]
    assert agg.outcome(tag) is OrderStatus.CANCELLED


def test_a_broken_combo_reports_its_fills_before_the_cancel():
    agg, legs = _condor()
    tag = "g1|open|0"
    out = agg.on_leg_event(tag, NOW, _fill(legs[0], 0, 1, 1.0))
    assert out == []
    for i, leg in enumerate(legs[1:], start=1):
        out += agg.on_leg_event(tag, NOW, LegUpdate(i, leg, LegStatus.CANCELED))
    assert [e.status for e in out] == [OrderStatus.PARTIALLY_FILLED, OrderStatus.CANCELLED]
    assert [f.quantity for f in out[0].fills] == [1]


def test_an_invalid_leg_rejects_the_combo_at_once_and_only_once():
    agg, legs = _condor()
    tag = "g1|open|0"
    out = agg.on_leg_event(
        tag, NOW, LegUpdate(0, legs[0], LegStatus.INVALID, message="insufficient buying power")
    )
    assert [(e.status, e.message) for e in out] == [(OrderStatus.REJECTED, "insufficient buying power")]
    assert agg.on_leg_event(tag, NOW, LegUpdate(1, legs[1], LegStatus.INVALID)) == []
    assert agg.outcome(tag) is OrderStatus.REJECTED


def test_a_fill_after_the_order_ended_is_never_lost():
    agg, legs = _condor()
    tag = "g1|open|0"
    for i, leg in enumerate(legs):
        agg.on_leg_event(tag, NOW, LegUpdate(i, leg, LegStatus.CANCELED))
    (late,) = agg.on_leg_event(tag, NOW, _fill(legs[1], 1, -1, 2.5))
    assert late.status is OrderStatus.PARTIALLY_FILLED and "late fill" in late.message
    assert late.fills[0].quantity == -1


def test_unknown_tags_and_other_statuses_yield_nothing():
    agg, legs = _condor()
    assert agg.on_leg_event("other", NOW, _fill(legs[0], 0, 1, 1.0)) == []
    assert agg.on_leg_event("g1|open|0", NOW, LegUpdate(0, legs[0], LegStatus.OTHER)) == []
    assert agg.on_leg_event("g1|open|0", NOW, _fill("not-a-leg", 0, 1, 1.0)) == []
    assert not agg.is_known("other") and agg.is_known("g1|open|0")
    agg.forget("g1|open|0")
    assert not agg.is_known("g1|open|0")


def test_register_refuses_empty_or_zero_legs():
    agg = ComboEventAggregator()
    with pytest.raises(ValueError):
        agg.register("t", {})
    c = make_option_contract("SPXW", "SPX", True, 1, TODAY, 100, SecurityKind.INDEX_OPTION, False)
    with pytest.raises(ValueError):
        agg.register("t", {c.symbol: (c, 0)})


# --- log lines -------------------------------------------------------------------------------------------
def test_records_become_one_concise_line():
    c = make_option_contract("SPXW", "SPX", True, 5900, TODAY, 100, SecurityKind.INDEX_OPTION, False)
    group = PositionGroup("g1", "zero_dte", (Leg(c, -1),), 2, GroupStatus.OPEN)
    line = format_record("group_opened", NOW, {"group": group, "pnl": 123.456789, "legs": ["a", "b"]})
    assert line == "2025-03-07 10:30:00 group_opened group=g1(open x2) pnl=123.457 legs=[a, b]"
    long = format_record("x", NOW, {"message": "y" * 1000 + "\nz"})
    assert len(long) == 400 and long.endswith("...") and "\n" not in long
