"""Symbol mapping on real examples (Tastytrade API docs, QuantConnect's Tastytrade brokerage tests)."""

from __future__ import annotations

from datetime import date

import pytest

from brokers.futures_symbols import (
    FutureId,
    contract_from_future_option,
    future_option_for,
    parse_future,
    parse_streamer_future_option,
    parse_tastytrade_future_option,
)
from brokers.occ import format_strike, occ_to_streamer, option_root, parse_occ, streamer_to_occ
from brokers.symbols import contract_from_occ, lean_equity, symbols_for, tastytrade_equity
from core.types import ExerciseStyle, OptionContract, Right, SecurityKind, Settlement
from testing.factories import spxw

TODAY = date(2025, 6, 1)

# (OCC / LEAN value, DXLink streamer symbol)
EQUITY_INDEX = [
    ("SPXW  250307P05000000", ".SPXW250307P5000"),
    ("SPY   250321C00580000", ".SPY250321C580"),
    ("TSLA  250620C00345000", ".TSLA250620C345"),
    ("TSLA  261218P00005000", ".TSLA261218P5"),
    ("SPX   250919C05050000", ".SPX250919C5050"),
    ("SPXW  250718C03500000", ".SPXW250718C3500"),
    ("F     250620C00002020", ".F250620C2.02"),
    ("F     250620P00002170", ".F250620P2.17"),
    ("IRBT  260116C00022500", ".IRBT260116C22.5"),
    ("GOOGL 270617P00235000", ".GOOGL270617P235"),
    ("BRKB  250620C00190000", ".BRKB250620C190"),
    ("DJT   251219C00013000", ".DJT251219C13"),
]


@pytest.mark.parametrize(("occ", "streamer"), EQUITY_INDEX)
def test_occ_and_streamer_round_trip(occ, streamer):
    assert occ_to_streamer(occ) == streamer
    assert streamer_to_occ(streamer) == occ


def test_core_contract_symbols_spxw():
    c = spxw(5000.0, Right.PUT, date(2025, 3, 7))
    s = symbols_for(c)
    assert (s.lean, s.tastytrade, s.streamer) == (
        "SPXW  250307P05000000",
        "SPXW  250307P05000000",
        ".SPXW250307P5000",
    )


def test_contract_from_occ_kinds():
    c = contract_from_occ("SPXW  250307P05000000")
    assert (c.root, c.underlying, c.kind, c.style, c.settlement) == (
        "SPXW",
        "SPX",
        SecurityKind.INDEX_OPTION,
        ExerciseStyle.EUROPEAN,
        Settlement.CASH,
    )
    e = contract_from_occ(".SPY250321C580")
    assert (e.root, e.underlying, e.kind, e.strike, e.expiry) == (
        "SPY",
        "SPY",
        SecurityKind.EQUITY_OPTION,
        580.0,
        date(2025, 3, 21),
    )
    assert contract_from_occ("BRKB  250620C00190000", underlying="BRK.B").underlying == "BRK.B"
    assert symbols_for(e).streamer == ".SPY250321C580"


def test_equity_tickers_and_roots():
    assert tastytrade_equity("BRK.B") == "BRK/B" and lean_equity("BRK/B") == "BRK.B"
    assert tastytrade_equity("AAM.U") == "AAM/U"
    assert option_root("BRK.B") == "BRKB" == option_root("BRK/B")


@pytest.mark.parametrize(
    ("strike", "text"), [(5000.0, "5000"), (22.5, "22.5"), (2.02, "2.02"), (142.5, "142.5")]
)
def test_format_strike(strike, text):
    assert format_strike(strike) == text


@pytest.mark.parametrize("bad", ["", "SPY", "SPXW  250307X05000000", ".SPXW250307", "./ESU5"])
def test_bad_option_symbols_raise(bad):
    with pytest.raises(ValueError):
        parse_occ(bad)


# (Tastytrade, DXLink, core key)
FUTURES = [
    ("/ESM5", "/ESM25:XCME", "ESM25"),
    ("/GCZ5", "/GCZ25:XCEC", "GCZ25"),
    ("/6BZ5", "/6BZ25:XCME", "6BZ25"),
    ("/RBN5", "/RBN25:XNYM", "RBN25"),
    ("/MESM6", "/MESM26:XCME", "MESM26"),
    ("/GEM0", "/GEM30:XCME", "GEM30"),  # one-digit year resolved forward: 2030, not 2020
]


@pytest.mark.parametrize(("tt", "dx", "key"), FUTURES)
def test_futures(tt, dx, key):
    f = parse_future(tt, TODAY)
    assert (f.tastytrade, f.streamer, f.key) == (tt, dx, key)
    assert parse_future(dx, TODAY) == f == parse_future(key, TODAY)


# (Tastytrade, DXLink, future, option root, expiry)
FUTURE_OPTIONS = [
    ("./ESU5 ESU5  250919P900", "./ESU25P900:XCME", "ESU25", "ES", date(2025, 9, 19)),
    ("./ESH6 ESH6  260320C4100", "./ESH26C4100:XCME", "ESH26", "ES", date(2026, 3, 20)),
    ("./GCZ5 OGX5  251028P2040", "./OGX25P2040:XCEC", "GCZ25", "OG", date(2025, 10, 28)),
    ("./GCQ5 OGN5  250625P2915", "./OGN25P2915:XCEC", "GCQ25", "OG", date(2025, 6, 25)),
    ("./GCG6 OGF6  251223P2075", "./OGF26P2075:XCEC", "GCG26", "OG", date(2025, 12, 23)),
    ("./ZBU5 OZBN5 250620C142.5", "./OZBN25C142.5:XCBT", "ZBU25", "OZB", date(2025, 6, 20)),
    ("./ESU3 EW4N3 230728C3990", "./EW4N23C3990:XCME", "ESU23", "EW4", date(2023, 7, 28)),
    ("./ESU3 E1DQ3 230803P3860", "./E1DQ23P3860:XCME", "ESU23", "E1D", date(2023, 8, 3)),
    ("./ESH6 E2CF6 260114P5990", "./E2CF26P5990:XCME", "ESH26", "E2C", date(2026, 1, 14)),
    ("./MESM6EX3H6 260320P6450", "./EX3H26P6450:XCME", "MESM26", "EX3", date(2026, 3, 20)),
    ("./MNQZ5MNQZ5 251219P11000", "./MNQZ25P11000:XCME", "MNQZ25", "MNQ", date(2025, 12, 19)),
    ("./ZNH6 OZNG6 260123P111", "./OZNG26P111:XCBT", "ZNH26", "OZN", date(2026, 1, 23)),
    ("./GCM6 OGK6  260428C3000", "./OGK26C3000:XCEC", "GCM26", "OG", date(2026, 4, 28)),
]


@pytest.mark.parametrize(("tt", "dx", "future", "root", "expiry"), FUTURE_OPTIONS)
def test_future_options(tt, dx, future, root, expiry):
    today = expiry  # parse as of the expiry day
    fop = parse_tastytrade_future_option(tt, today)
    assert (fop.future.key, fop.option_root, fop.expiry) == (future, root, expiry)
    assert fop.tastytrade == tt
    assert fop.streamer == dx
    s = parse_streamer_future_option(dx)
    assert (s.option_root, s.right, s.strike) == (root, fop.right, fop.strike)
    contract = contract_from_future_option(fop)
    assert contract.kind is SecurityKind.FUTURE_OPTION and contract.underlying == future
    # the product table rebuilds standard (non-weekly) option symbols from the core contract alone
    if root in ("ES", "OG", "OZB", "OZN", "MNQ"):
        rebuilt = symbols_for(contract)
        assert (rebuilt.tastytrade, rebuilt.streamer) == (tt, dx)
    else:  # weeklies need their option root (and month) passed in
        assert future_option_for(contract, root, (fop.option_year, fop.option_month)) == fop


def test_future_option_contract_defaults():
    c = OptionContract(
        "ES",
        "ESU25",
        Right.PUT,
        5800.0,
        date(2025, 9, 19),
        50.0,
        SecurityKind.FUTURE_OPTION,
        ExerciseStyle.AMERICAN,
        Settlement.FUTURE,
    )
    s = symbols_for(c)
    assert (s.lean, s.tastytrade, s.streamer) == (
        "ES    250919P05800000",
        "./ESU5 ESU5  250919P5800",
        "./ESU25P5800:XCME",
    )
    assert FutureId("ES", 9, 2025).streamer == "/ESU25:XCME"


def test_unknown_future_option_product_needs_an_explicit_root():
    c = OptionContract(
        "HE",
        "HEZ25",
        Right.CALL,
        80.0,
        date(2025, 12, 12),
        400.0,
        SecurityKind.FUTURE_OPTION,
        ExerciseStyle.AMERICAN,
        Settlement.FUTURE,
    )
    with pytest.raises(ValueError, match="option root"):
        symbols_for(c)
