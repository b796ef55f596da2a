"""LEAN data reader: values checked against the raw files, the bar-time rule, chains, clear errors.

Raw values are read here with ``zipfile`` + ``csv`` only, independently of the reader under test.
"""

from __future__ import annotations

import csv
import io
import json
import math
import zipfile
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pytest

from core import option_math
from core.types import ExerciseStyle, Right, SecurityKind, Settlement
from sim.markets.lean_data import (
    InterestRates,
    LeanDataError,
    LeanDataMarket,
    MarketHoursDatabase,
    SymbolProperties,
    future_key,
    parse_option_entry,
    read_bars,
    read_dated_bars,
    read_factor_file,
    read_map_file,
    read_universe,
)

LEAN = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "lean"
needs_data = pytest.mark.skipif(
    not LEAN.is_dir(), reason="shared LEAN data not present (a user's clone has no ../shared)"
)
SPX_CALL = "20210104_spx_minute_quote_european_call_37000000_20210115.csv"


def raw_rows(path: Path, member: str | None = None) -> list[list[str]]:
    with zipfile.ZipFile(path) as zf:
        text = zf.read(member or zf.namelist()[0]).decode()
    return list(csv.reader(io.StringIO(text)))


def raw_row(path: Path, member: str | None, ms: int) -> list[str]:
    return next(r for r in raw_rows(path, member) if int(r[0]) == ms)


@pytest.fixture(scope="module")
def spx() -> LeanDataMarket:
    return LeanDataMarket(LEAN)


# ----------------------------------------------------------------------- formats and scaling


@needs_data
def test_index_prices_are_unscaled_chicago_time_and_bars_are_known_at_their_end(spx):
    path = LEAN / "index/usa/minute/spx/20210104_trade.zip"
    stamped_0835_ct = raw_row(path, None, 8 * 3_600_000 + 35 * 60_000)  # 08:35 Chicago = 09:35 New York
    stamped_0834_ct = raw_row(path, None, 8 * 3_600_000 + 34 * 60_000)
    at_0936 = spx.snapshot_at(datetime(2021, 1, 4, 9, 36)).underlyings["SPX"]
    assert at_0936.price == float(stamped_0835_ct[4])  # bar 09:35-09:36 ended at 09:36
    assert at_0936.time == datetime(2021, 1, 4, 9, 36)
    assert at_0936.kind is SecurityKind.INDEX and at_0936.bid == at_0936.ask == at_0936.price
    # one second earlier the 09:35 bar is still open: the 09:34 bar is the latest known
    assert spx.snapshot_at(datetime(2021, 1, 4, 9, 35, 59)).price("SPX") == float(stamped_0834_ct[4])
    assert spx.snapshot_at(datetime(2021, 1, 4, 9, 30)).underlyings == {}  # nothing has ended yet


@needs_data
def test_day_open_and_minute_bars_agree_with_the_daily_file(spx):
    daily = read_dated_bars(LEAN / "index/usa/daily/spx.zip", "trade", 1.0).loc["2021-01-04"]
    assert spx.snapshot_at(datetime(2021, 1, 4, 9, 30)).day_open == {}  # first bar not finished
    snap = spx.snapshot_at(datetime(2021, 1, 4, 16, 0))
    assert snap.day_open == {"SPX": daily["open"]} == {"SPX": 3764.61}
    last = spx.snapshot_at(datetime(2021, 1, 4, 16, 25)).underlyings["SPX"]
    assert last.price == daily["close"] == 3700.65
    hour = read_dated_bars(LEAN / "index/usa/hour/spx.zip", "trade", 1.0)
    assert hour.index[0] == datetime(2021, 1, 4, 8, 0) and hour.iloc[0]["open"] == 3764.61  # Chicago time


@needs_data
def test_index_option_quote_is_scaled_by_10000(spx):
    row = raw_row(LEAN / "indexoption/usa/minute/spx/20210104_quote_european.zip", SPX_CALL, 34_260_000)
    chain = spx.snapshot_at(datetime(2021, 1, 4, 9, 32)).chains.chain("SPX", date(2021, 1, 15))
    q = chain.at_strike(Right.CALL, 3700.0)
    assert (q.bid, q.ask) == (int(row[4]) / 10_000, int(row[9]) / 10_000) == (90.9, 92.1)
    assert (q.bid_size, q.ask_size) == (int(row[5]), int(row[10]))
    assert q.time == datetime(2021, 1, 4, 9, 32)  # bar stamped 09:31 New York, known at 09:32
    c = q.contract
    assert (c.root, c.underlying, c.multiplier) == ("SPX", "SPX", 100.0)
    assert (c.kind, c.style, c.settlement) == (
        SecurityKind.INDEX_OPTION,
        ExerciseStyle.EUROPEAN,
        Settlement.CASH,
    )


@needs_data
def test_scaled_minute_trades_aggregate_to_the_universe_row():
    """In LEAN's sample the universe file dated 2020-12-31 carries 2021-01-04's session figures."""
    member = "20210104_spx_minute_trade_european_call_32000000_20210115.csv"
    bars = read_bars(
        LEAN / "indexoption/usa/minute/spx/20210104_trade_european.zip", "trade", 10_000.0, (member,)
    )
    uni = read_universe(LEAN / "indexoption/usa/universes/spx/20201231.csv")
    row = uni[(uni.strike == 3200) & (uni.right == "C")].iloc[0]
    assert row.expiry == date(2021, 1, 15)
    got = (
        bars.column("open")[0],
        bars.column("high").max(),
        bars.column("low").min(),
        bars.column("close")[-1],
    )
    assert got == (row.open, row.high, row.low, row.close) == (516.04, 516.04, 485.09, 487.51)
    underlying = uni[uni.expiry.isna()].iloc[0]
    assert math.isnan(underlying.strike) and underlying.open == 3764.61
    assert {"implied_volatility", "delta", "gamma", "vega", "theta", "rho"} <= set(uni.columns)


@needs_data
def test_open_interest_and_volume(spx):
    snap = spx.snapshot_at(datetime(2021, 1, 4, 10, 0))
    uni = read_universe(LEAN / "indexoption/usa/universes/spx/20201231.csv")
    chain = snap.chains.chain("SPX", date(2021, 1, 15))
    for strike, right in [(3200.0, "C"), (3200.0, "P"), (3700.0, "C"), (3800.0, "C")]:
        expected = uni[(uni.strike == strike) & (uni.right == right)].open_interest.iloc[0]
        assert chain.at_strike(Right(right), strike).open_interest == expected
    trades = raw_rows(
        LEAN / "indexoption/usa/minute/spx/20210104_trade_european.zip",
        "20210104_spx_minute_trade_european_call_37000000_20210115.csv",
    )
    ten_am = 10 * 3_600_000
    expected_volume = sum(int(r[5]) for r in trades if int(r[0]) + 60_000 <= ten_am)
    assert chain.at_strike(Right.CALL, 3700.0).volume == expected_volume > 0
    later = spx.snapshot_at(datetime(2021, 1, 4, 16, 0)).chains.chain("SPX", date(2021, 1, 15))
    assert later.at_strike(Right.CALL, 3700.0).volume > expected_volume


@needs_data
def test_chains_by_root_and_expiry_with_model_greeks(spx):
    t = datetime(2021, 1, 4, 10, 0)
    chains = spx.snapshot_at(t).chains
    assert chains.expiries("SPXW") == (date(2021, 1, 4), date(2021, 1, 6), date(2021, 1, 8))
    assert chains.expiries("SPX") == (date(2021, 1, 15),)
    assert chains.expiries("XSP") == () and chains.chain("SPXW", date(2021, 1, 5)) is None
    chain = chains.chain("SPXW", date(2021, 1, 8))
    assert (chain.root, chain.underlying) == ("SPXW", "SPX")
    assert chain.underlying_price == spx.snapshot_at(t).price("SPX")
    keys = [(q.contract.strike, q.contract.right.value) for q in chain.quotes]
    assert keys == sorted(keys) and len(keys) == 4
    call = chain.at_strike(Right.CALL, 3800.0)
    put = chain.at_strike(Right.PUT, 3700.0)
    assert chains.quote(call.contract) is call
    assert 0 < call.delta < 1 and -1 < put.delta < 0 and call.gamma > 0 and call.vega > 0 and call.theta < 0
    assert 0.05 < call.iv < 1
    years = (datetime(2021, 1, 8, 16) - t).total_seconds() / (365 * 86400)
    rate = InterestRates(LEAN / "alternative/interest-rate/usa/interest-rate.csv").rate(t.date())
    price = option_math.bs_price(chain.underlying_price, 3800.0, years, rate, 0.0, call.iv, True)
    assert float(price) == pytest.approx(call.mid, abs=1e-6)


@needs_data
def test_zip_zip_files_in_the_sample_are_read_and_reported(spx):
    assert sorted(p.name for p in spx.odd_files) == [
        "20210104_openinterest_european.zip.zip",
        "20210104_trade_european.zip.zip",
    ]
    q = spx.snapshot_at(datetime(2021, 1, 4, 11, 0)).chains.chain("SPXW", date(2021, 1, 4))
    call = q.at_strike(Right.CALL, 3700.0)
    assert call.open_interest == 1732 and call.volume > 0


@needs_data
def test_equity_and_equity_option_prices_are_scaled():
    spy = LeanDataMarket(LEAN, roots=("SPY",), underlying="SPY")
    snap = spy.snapshot_at(datetime(2023, 8, 3, 9, 31))
    trade = raw_row(LEAN / "equity/usa/minute/spy/20230803_trade.zip", None, 34_200_000)
    quote = raw_row(LEAN / "equity/usa/minute/spy/20230803_quote.zip", None, 34_200_000)
    u = snap.underlyings["SPY"]
    assert (u.price, u.bid, u.ask) == (int(trade[4]) / 1e4, int(quote[4]) / 1e4, int(quote[9]) / 1e4)
    assert snap.day_open == {"SPY": int(trade[1]) / 1e4}  # the 09:30 bar, not the 04:00 pre-market one
    member = "20230803_spy_minute_quote_american_put_4300000_20230901.csv"
    opt = raw_row(LEAN / "option/usa/minute/spy/20230803_quote_american.zip", member, 34_200_000)
    q = snap.chains.chain("SPY", date(2023, 9, 1)).at_strike(Right.PUT, 430.0)
    assert (q.bid, q.ask) == (int(opt[4]) / 1e4, int(opt[9]) / 1e4)
    c = q.contract
    assert (c.kind, c.style, c.settlement, c.multiplier, c.underlying) == (
        SecurityKind.EQUITY_OPTION, ExerciseStyle.AMERICAN, Settlement.SHARES, 100.0, "SPY",
    )  # fmt: skip


@needs_data
def test_future_and_future_option_prices_are_unscaled_and_utc():
    es = LeanDataMarket(LEAN, roots=("ES",), underlying="ES")
    t = datetime(2020, 1, 6, 12, 0)  # 17:00 UTC: the bar stamped 16:59 UTC (61,140,000 ms) ended
    snap = es.snapshot_at(t)
    fut = raw_row(
        LEAN / "future/cme/minute/es/20200106_trade.zip", "20200106_es_minute_trade_202003.csv", 61_140_000
    )
    assert snap.price("ESH20") == float(fut[4]) == 3232.5
    assert (
        snap.underlyings["ESH20"].kind is SecurityKind.FUTURE and snap.underlyings["ESH20"].multiplier == 50.0
    )
    # 09:30 New York = 14:30 UTC; the sample's future universe dated 2020-01-03 holds 2020-01-06's session
    uni = read_universe(LEAN / "future/cme/universes/es/20200103.csv")
    assert snap.day_open["ESH20"] == uni[uni.expiry == "202003"].open.iloc[0] == 3214.5
    member = "20200106_es_minute_quote_american_call_30000000_20200320.csv"
    row = raw_row(LEAN / "futureoption/cme/minute/es/202003/20200106_quote_american.zip", member, 61_140_000)
    chain = snap.chains.chain("ES", date(2020, 3, 20))
    q = chain.at_strike(Right.CALL, 3000.0)
    assert (q.bid, q.ask) == (float(row[4]), float(row[9])) == (258.25, 259.5)
    assert 0 < q.mid - (chain.underlying_price - 3000.0) < 50  # time value in points: not scaled
    c = q.contract
    assert (c.kind, c.style, c.settlement, c.multiplier, c.underlying) == (
        SecurityKind.FUTURE_OPTION, ExerciseStyle.AMERICAN, Settlement.FUTURE, 50.0, "ESH20",
    )  # fmt: skip
    assert chain.underlying == "ESH20" and chain.underlying_price == snap.price("ESH20")
    assert snap.chains.chain("ES", date(2020, 6, 19)).underlying == "ESM20"
    assert 0 < q.delta < 1 and 0.05 < q.iv < 1


@needs_data
def test_reference_files():
    mhdb = MarketHoursDatabase(LEAN / "market-hours/market-hours-database.json")
    assert mhdb.data_time_zone("index", "usa", "SPX") == "America/Chicago"
    assert mhdb.data_time_zone("indexoption", "usa", "SPXW") == "America/New_York"
    assert mhdb.data_time_zone("option", "usa", "SPY") == "America/New_York"
    assert mhdb.data_time_zone("futureoption", "cme", "ES") == "UTC"  # falls back to Future-cme-ES
    props = SymbolProperties(LEAN / "symbol-properties/symbol-properties-database.csv")
    assert props.multiplier("indexoption", "usa", "SPXW") == 100.0
    assert props.multiplier("futureoption", "cme", "ES") == 50.0
    rates = InterestRates(LEAN / "alternative/interest-rate/usa/interest-rate.csv")
    assert rates.rate(date(2021, 1, 4)) == 0.0025 and rates.rate(date(2023, 7, 27)) == 0.055
    assert read_map_file(LEAN / "equity/usa/map_files/spy.csv")[0] == (date(1998, 1, 2), "spy", "P")
    factors = read_factor_file(LEAN / "equity/usa/factor_files/spy.csv")
    assert factors[0].price_factor == 0.6566606 and factors[-1].day == date(2050, 12, 31)


def test_entry_names_and_contract_keys():
    e = parse_option_entry(Path("x.zip"), "20210104_spxw_minute_quote_european_put_38200000_20210108.csv")
    assert (e.ticker, e.tick_type, e.style, e.right, e.strike, e.expiry) == (
        "spxw", "quote", "european", "P", 3820.0, date(2021, 1, 8),
    )  # fmt: skip
    assert future_key("es", "202003") == "ESH20" and future_key("ES", "202612") == "ESZ26"
    with pytest.raises(LeanDataError, match="not a LEAN option entry name"):
        parse_option_entry(Path("x.zip"), "readme.txt")


# ------------------------------------------------------------------------------ clear errors


def _zip(path: Path, members: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in members.items():
            zf.writestr(name, text)
    return path


GOOD = "34200000,10000,10000,10000,10000,5,12000,12000,12000,12000,6\n"


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        (GOOD + "34260000,10000,10000\n", 2, "expected 11 comma-separated fields, found 3"),
        (GOOD + "34260000,1x,10000,10000,10000,5,12000,12000,12000,12000,6\n", 2, "field 2 is not a number"),
        (GOOD + "\n" + GOOD.replace("342", "343"), 2, "found 1"),
        (GOOD.replace("342", "343") + GOOD, 2, "not a ms-of-day at or after the previous row"),
    ],
)
def test_malformed_rows_name_file_member_and_line(tmp_path, text, line, problem):
    path = _zip(tmp_path / "20240102_quote_european.zip", {"ok.csv": GOOD, "bad.csv": text})
    with pytest.raises(LeanDataError, match=problem) as info:
        read_bars(path, "quote", 10_000.0)
    assert (info.value.path, info.value.member, info.value.line) == (path, "bad.csv", line)
    assert str(path) in str(info.value) and f"line {line}" in str(info.value)


def test_missing_and_corrupt_zips(tmp_path):
    with pytest.raises(LeanDataError, match="file not found"):
        read_bars(tmp_path / "nope.zip", "trade", 1.0)
    (tmp_path / "junk.zip").write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(LeanDataError, match="not a readable zip archive") as info:
        read_bars(tmp_path / "junk.zip", "trade", 1.0)
    assert info.value.path == tmp_path / "junk.zip"
    path = _zip(tmp_path / "one.zip", {"a.csv": GOOD})
    with pytest.raises(LeanDataError, match="member not in archive"):
        read_bars(path, "quote", 1.0, ("b.csv",))
    empty = read_bars(_zip(tmp_path / "empty.zip", {"a.csv": ""}), "quote", 1.0)
    assert empty.time_ms.size == 0 and empty.latest(40_000_000, 60_000).tolist() == [-1]
    with pytest.raises(LeanDataError, match=r"market-hours-database\.json: file not found"):
        LeanDataMarket(tmp_path)


def _mini_data_root(root: Path) -> Path:
    """Just enough of a LEAN Data folder, written by hand: one SPX day and one SPXW contract."""
    (root / "market-hours").mkdir(parents=True)
    week = {d: [{"start": "08:30:00", "end": "15:15:00", "state": "market"}] for d in ("monday", "tuesday")}
    chicago = {"dataTimeZone": "America/Chicago", "exchangeTimeZone": "America/Chicago", **week}
    new_york = {"dataTimeZone": "America/New_York", "exchangeTimeZone": "America/New_York"}
    entries = {"Index-usa-[*]": chicago, "IndexOption-usa-[*]": new_york, "Option-usa-[*]": new_york}
    (root / "market-hours/market-hours-database.json").write_text(json.dumps({"entries": entries}))
    (root / "symbol-properties").mkdir()
    (root / "symbol-properties/symbol-properties-database.csv").write_text(
        "market,symbol,type,description,quote_currency,contract_multiplier,minimum_price_variation,lot_size\n"
        "usa,[*],index,,USD,1,0.01,1\nusa,[*],indexoption,,USD,100,0.05,1\n"
    )
    (root / "alternative/interest-rate/usa").mkdir(parents=True)
    (root / "alternative/interest-rate/usa/interest-rate.csv").write_text("DATE,PCREDIT8\n2023-07-27,5.5\n")
    (root / "index/usa/minute/spx").mkdir(parents=True)
    _zip(root / "index/usa/minute/spx/20240102_trade.zip", {"x.csv": "30600000,4700,4701,4699,4700.5,0\n"})
    (root / "indexoption/usa/minute/spxw").mkdir(parents=True)
    return root


def test_corrupt_option_file_fails_the_snapshot_clearly(tmp_path):
    root = _mini_data_root(tmp_path)
    member = "20240102_spxw_minute_quote_european_call_47000000_20240102.csv"
    path = _zip(root / "indexoption/usa/minute/spxw/20240102_quote_european.zip", {member: GOOD + "oops\n"})
    market = LeanDataMarket(root, roots=("SPXW", "SPX"))
    assert market.missing_roots == ["SPX"] and market.trading_days() == [date(2024, 1, 2)]
    snap = market.snapshot_at(datetime(2024, 1, 2, 9, 31))
    assert snap.price("SPX") == 4700.5 and snap.day_open == {"SPX": 4700.0}
    assert snap.chains.expiries("SPXW") == (date(2024, 1, 2),)
    with pytest.raises(LeanDataError, match="expected 11 comma-separated fields") as info:
        snap.chains.chain("SPXW", date(2024, 1, 2))
    assert (info.value.path, info.value.member, info.value.line) == (path, member, 2)
    with pytest.raises(LeanDataError, match=r"20240103_trade\.zip: no SPX minute data for 2024-01-03"):
        market.snapshot_at(datetime(2024, 1, 3, 10, 0))


def test_a_good_mini_folder_gives_a_priced_chain(tmp_path):
    root = _mini_data_root(tmp_path)
    member = "20240102_spxw_minute_quote_european_call_47000000_20240102.csv"
    _zip(root / "indexoption/usa/minute/spxw/20240102_quote_european.zip", {member: GOOD})
    chain = (
        LeanDataMarket(root, roots=("SPXW",))
        .snapshot_at(datetime(2024, 1, 2, 9, 31))
        .chains.chain("SPXW", date(2024, 1, 2))
    )
    (q,) = chain.quotes
    assert (q.bid, q.ask, q.bid_size, q.ask_size, q.volume, q.open_interest) == (1.0, 1.2, 5, 6, 0, 0)
    assert q.contract.symbol == "SPXW  240102C04700000" and np.isfinite(q.iv)


def test_roots_must_match_the_underlying(tmp_path):
    root = _mini_data_root(tmp_path)
    (root / "option/usa/minute/spy").mkdir(parents=True)
    with pytest.raises(ValueError, match="SPY options"):
        LeanDataMarket(root, roots=("SPY",), underlying="SPX")
