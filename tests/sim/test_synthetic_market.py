"""sim.markets.synthetic: determinism, a sane book, option-pricing identities, realistic SPX/VIX dynamics,
listings and holiday rolls, laziness, and expiry at the close."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from itertools import pairwise

import numpy as np
import pytest

from core.types import ExerciseStyle, MarketSnapshot, OptionChain, Right, SecurityKind, Settlement
from sim.markets.synthetic import SyntheticConfig, SyntheticMarket
from sim.markets.synthetic.chains import SyntheticChains
from sim.markets.synthetic.surface import atm_vol

GOOD_FRIDAY = date(2025, 4, 18)
HOLIDAYS = {
    date(2025, 1, 1), date(2025, 1, 20), date(2025, 2, 17), GOOD_FRIDAY, date(2025, 5, 26),
    date(2025, 6, 19), date(2025, 7, 4), date(2025, 9, 1), date(2025, 11, 27), date(2025, 12, 25),
    date(2026, 1, 1), date(2026, 4, 3),
}  # fmt: skip
EARLY_CLOSES = {date(2025, 7, 3), date(2025, 11, 28), date(2025, 12, 24)}


class WeekdayCalendar:
    """Weekdays minus a few NYSE holidays; 09:30-16:00 (13:00 on early closes)."""

    def is_trading_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in HOLIDAYS

    def session_open(self, day: date) -> datetime | None:
        return datetime.combine(day, time(9, 30)) if self.is_trading_day(day) else None

    def session_close(self, day: date) -> datetime | None:
        if not self.is_trading_day(day):
            return None
        return datetime.combine(day, time(13, 0) if day in EARLY_CLOSES else time(16, 0))

    def is_early_close(self, day: date) -> bool:
        return day in EARLY_CLOSES


CAL = WeekdayCalendar()


@pytest.fixture(scope="module")
def market() -> SyntheticMarket:
    return SyntheticMarket(SyntheticConfig(), CAL)


def _short_market(seed: int = 7, days: int = 10) -> SyntheticMarket:
    start = date(2025, 3, 3)
    return SyntheticMarket(SyntheticConfig(seed=seed, start=start, end=start + timedelta(days=days)), CAL)


def _at(market: SyntheticMarket, day: date, step: int) -> MarketSnapshot:
    return market.snapshot_at(market.step_times(day)[step])


def _chain(snap: MarketSnapshot, root: str, min_days: int = 0) -> OptionChain:
    day = snap.time.date()
    expiry = next(e for e in snap.chains.expiries(root) if (e - day).days >= min_days)
    chain = snap.chains.chain(root, expiry)
    assert chain is not None
    return chain


def _px(snap: MarketSnapshot, symbol: str) -> float:
    price = snap.price(symbol)
    assert price is not None
    return price


def _built(snap: MarketSnapshot) -> tuple:
    assert isinstance(snap.chains, SyntheticChains)
    return snap.chains.built


def _years(snap: MarketSnapshot, expiry: date) -> float:
    close = CAL.session_close(expiry)
    assert close is not None
    return (close - snap.time).total_seconds() / (365.0 * 86400.0)


def _daily_closes(m: SyntheticMarket) -> tuple[np.ndarray, np.ndarray]:
    spx, vix = [], []
    for day in m.trading_days():
        last = m.snapshot_at(m.step_times(day)[-1])
        spx.append(last.price("SPX"))
        vix.append(last.vix)
    return np.array(spx), np.array(vix)


# --------------------------------------------------------------------------------------- config / clock


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"end": date(2024, 1, 1)}, "before start"),
        ({"step_minutes": 0}, "step_minutes"),
        ({"spx_vix_corr": -1.5}, "spx_vix_corr"),
        ({"vix_start": -3.0}, "vix_start"),
        ({"jump_min": 0.1, "jump_max": 0.05}, "jump_min"),
        ({"rate": math.nan}, "finite"),
    ],
)
def test_config_rejects_bad_values_with_clear_messages(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SyntheticConfig(**changes)


def test_step_times_run_from_open_plus_step_to_the_close(market: SyntheticMarket) -> None:
    day = date(2025, 3, 4)
    times = market.step_times(day)
    assert times[0] == datetime(2025, 3, 4, 9, 35) and times[-1] == datetime(2025, 3, 4, 16, 0)
    assert len(times) == 78 and all(b - a == timedelta(minutes=5) for a, b in pairwise(times))
    assert market.step_times(date(2025, 11, 28))[-1] == datetime(2025, 11, 28, 13, 0)  # early close
    assert market.step_times(GOOD_FRIDAY) == [] and GOOD_FRIDAY not in market.trading_days()
    odd = SyntheticMarket(SyntheticConfig(start=day, end=day, step_minutes=7), CAL)
    assert odd.step_times(day)[-1] == datetime(2025, 3, 4, 16, 0)  # the close is always a step
    with pytest.raises(ValueError, match="not a step time"):
        market.snapshot_at(datetime(2025, 3, 4, 9, 30))


# ------------------------------------------------------------------------------------------ determinism


def _fingerprint(m: SyntheticMarket) -> str:
    """A text rendering of a few snapshots: underlyings, day opens and two chains."""
    parts = []
    for day in m.trading_days()[:3]:
        for step in (0, 40, -1):
            snap = _at(m, day, step)
            parts.append(repr(sorted(snap.underlyings.items())) + repr(sorted(snap.day_open.items())))
            parts.append(repr(_chain(snap, "SPXW").quotes) + repr(_chain(snap, "ES", 60).quotes))
    return "\n".join(parts)


def test_same_seed_gives_identical_snapshots_and_different_seeds_differ() -> None:
    a, b, c = _fingerprint(_short_market(3)), _fingerprint(_short_market(3)), _fingerprint(_short_market(4))
    assert a == b
    assert a != c


# ----------------------------------------------------------------------------------------- underlyings


def test_underlyings_are_consistent_with_spx(market: SyntheticMarket) -> None:
    day = date(2025, 1, 15)
    snap = _at(market, day, 30)
    spx = snap.price("SPX")
    assert spx is not None and snap.vix == snap.price("VIX")
    assert snap.underlyings["VIX"].kind is SecurityKind.INDEX
    assert snap.underlyings["SPY"].kind is SecurityKind.EQUITY
    assert abs(_px(snap, "SPY") / (spx / 10.0) - 1.0) < 2e-3
    assert abs(_px(snap, "XSP") - spx / 10.0) < 0.01
    es = snap.underlyings["ESH25"]
    assert es.kind is SecurityKind.FUTURE and es.multiplier == 50.0 and es.bid < es.ask
    t = (datetime(2025, 3, 21, 16) - snap.time).total_seconds() / (365 * 86400)
    cfg = market.config
    assert es.price == pytest.approx(spx * math.exp((cfg.rate - cfg.spx_dividend) * t), abs=0.25)
    futures = {k for k, q in snap.underlyings.items() if q.kind is SecurityKind.FUTURE}
    assert {"ESH25", "ESM25", "CLG25", "CLH25", "GCG25", "GCJ25"} <= futures
    assert snap.underlyings["CLH25"].multiplier == 1000.0 and snap.underlyings["GCJ25"].multiplier == 100.0
    assert set(snap.day_open) == set(snap.underlyings)


def test_day_open_is_the_first_price_of_the_day(market: SyntheticMarket) -> None:
    first = _at(market, market.trading_days()[0], 0)
    assert (
        first.day_open["SPX"] == market.config.spx_start and first.day_open["VIX"] == market.config.vix_start
    )
    day = date(2025, 6, 3)
    snaps = [_at(market, day, i) for i in (0, 50)]
    assert snaps[0].day_open is snaps[1].day_open or snaps[0].day_open == snaps[1].day_open
    assert abs(_px(snaps[0], "SPX") / snaps[0].day_open["SPX"] - 1.0) < 0.03
    assert _at(market, date(2025, 6, 4), 0).day_open["SPX"] != snaps[0].day_open["SPX"]


def test_futures_leave_the_board_after_their_last_trade(market: SyntheticMarket) -> None:
    last = _at(market, date(2025, 3, 21), -1)
    assert last.price("ESH25") == pytest.approx(last.price("SPX"), abs=0.25)  # converged at expiry
    assert "ESH25" not in _at(market, date(2025, 3, 24), 0).underlyings


def test_mes_lists_as_es_at_the_es_level_and_a_tenth_of_its_size(market: SyntheticMarket) -> None:
    """The rulebook's LT112 and strangle fallback root: the same expiries, strikes and prices as ES
    (MES is quoted at the ES level) on MES futures, with a multiplier of 5 instead of 50."""
    snap = _at(market, date(2025, 3, 5), 6)
    assert snap.chains.expiries("MES") == snap.chains.expiries("ES")
    assert snap.price("MESM25") == snap.price("ESM25")
    expiry = next(e for e in snap.chains.expiries("ES") if (e - snap.time.date()).days >= 100)
    es, mes = snap.chains.chain("ES", expiry), snap.chains.chain("MES", expiry)
    assert es is not None and mes is not None
    assert [q.contract.strike for q in mes.quotes] == [q.contract.strike for q in es.quotes]
    assert {q.contract.multiplier for q in mes.quotes} == {5.0} and mes.quotes[
        0
    ].contract.underlying == "MESM25"
    assert [q.mid for q in mes.quotes] == pytest.approx([q.mid for q in es.quotes], abs=0.5)


# ------------------------------------------------------------------------------------------ the book


@pytest.mark.parametrize("root", ["SPXW", "SPX", "XSP", "SPY", "QQQ", "IWM", "ES", "MES", "CL", "GC"])
def test_books_are_never_crossed_and_respect_ticks(market: SyntheticMarket, root: str) -> None:
    ticks = {"SPXW": (0.05, 0.10, 3.0), "SPX": (0.05, 0.10, 3.0), "XSP": (0.01, 0.05, 3.0),
             "ES": (0.05, 0.25, 5.0), "MES": (0.05, 0.25, 5.0), "CL": (0.01, 0.01, 3.0), "GC": (0.10, 0.10, 3.0)}  # fmt: skip
    small, large, switch = ticks.get(root, (0.01, 0.01, 3.0))
    for day, step in ((date(2025, 2, 10), 10), (date(2025, 8, 15), 60)):
        snap = _at(market, day, step)
        for expiry in snap.chains.expiries(root)[:: max(1, len(snap.chains.expiries(root)) // 4)]:
            chain = snap.chains.chain(root, expiry)
            assert chain is not None and chain.quotes
            for q in chain.quotes:
                assert 0.0 <= q.bid < q.ask, q
                for px in (q.bid, q.ask):
                    tick = small if px < switch else large
                    assert abs(px / tick - round(px / tick)) < 1e-6, (q.contract.symbol, px)
                assert q.bid_size >= 0 and q.ask_size > 0 and q.volume >= 0 and q.open_interest >= 0
                assert 0.0 < q.iv <= 5.0 and abs(q.delta) <= 1.0


def test_far_otm_options_can_have_a_zero_bid_and_far_strikes_are_illiquid(market: SyntheticMarket) -> None:
    chain = _chain(_at(market, date(2025, 5, 6), 20), "SPXW")
    assert any(q.bid == 0.0 for q in chain.quotes)
    atm = min(chain.quotes, key=lambda q: abs(q.contract.strike - chain.underlying_price))
    assert atm.bid > 0 and atm.volume >= 10 and atm.open_interest >= 100
    assert any(q.volume < 10 and q.open_interest < 100 for q in chain.quotes)


def test_put_call_parity_holds_on_mids_within_the_spread(market: SyntheticMarket) -> None:
    cfg = market.config
    for day, step in ((date(2025, 1, 8), 5), (date(2025, 9, 10), 70)):
        snap = _at(market, day, step)
        for root, min_days in (("SPXW", 0), ("SPXW", 30), ("SPX", 200), ("ES", 60)):
            chain = _chain(snap, root, min_days)
            t, s = _years(snap, chain.expiry), chain.underlying_price
            checked = 0
            for call in chain.side(Right.CALL):
                put = chain.at_strike(Right.PUT, call.contract.strike)
                assert put is not None
                k = call.contract.strike
                fair = (s - k) * math.exp(-cfg.rate * t)  # Black-76
                if root != "ES":
                    fair = s * math.exp(-cfg.spx_dividend * t) - k * math.exp(-cfg.rate * t)
                tolerance = 0.5 * (call.spread + put.spread) + 1e-9
                assert abs(call.mid - put.mid - fair) <= tolerance, (root, chain.expiry, k)
                checked += 1
            assert checked > 20


def test_deltas_are_monotone_in_strike_and_greeks_have_the_right_signs(market: SyntheticMarket) -> None:
    snap = _at(market, date(2025, 10, 7), 30)
    for root, min_days in (("SPXW", 0), ("SPXW", 45), ("SPY", 300), ("ES", 90), ("CL", 60), ("GC", 60)):
        chain = _chain(snap, root, min_days)
        for right in (Right.CALL, Right.PUT):
            deltas = [q.delta for q in chain.side(right)]
            assert all(b <= a + 1e-12 for a, b in pairwise(deltas)), (root, right)
            assert all(q.gamma >= 0 and q.vega >= 0 for q in chain.side(right))
        assert all(0 <= q.delta <= 1 for q in chain.side(Right.CALL))
        assert all(-1 <= q.delta <= 0 for q in chain.side(Right.PUT))


def test_surface_has_put_skew_and_a_vix_dependent_term_structure(market: SyntheticMarket) -> None:
    cfg = market.config
    tau = np.array([7 / 365, 1.0])
    calm, stressed = atm_vol("spx", 12.0, tau, cfg), atm_vol("spx", 40.0, tau, cfg)
    assert calm[0] < calm[1] and stressed[0] > stressed[1]  # contango when calm, inverted in stress
    assert atm_vol("qqq", 20.0, tau, cfg)[0] == pytest.approx(1.2 * atm_vol("spx", 20.0, tau, cfg)[0])
    chain = _chain(_at(market, date(2025, 4, 1), 20), "SPXW", 30)
    s = chain.underlying_price
    iv = {round(k / s, 2): q.iv for q in chain.side(Right.PUT) if (k := q.contract.strike) % 25 == 0}
    low = max(v for m, v in iv.items() if m <= 0.92)
    atm = min(chain.side(Right.PUT), key=lambda q: abs(q.contract.strike - s)).iv
    assert low > atm * 1.15


# ------------------------------------------------------------------------------------------- dynamics


def test_vix_moves_against_spx_and_spikes_on_big_down_days(market: SyntheticMarket) -> None:
    spx, vix = _daily_closes(market)
    ret, dvix = np.diff(np.log(spx)), np.diff(vix)
    assert np.corrcoef(ret, dvix)[0, 1] < -0.5
    big_down = ret < -0.015
    assert big_down.any() and dvix[big_down].mean() > 1.0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_spx_realised_vol_is_realistic_and_below_implied(seed: int) -> None:
    m = SyntheticMarket(SyntheticConfig(seed=seed), CAL)
    spx, vix = _daily_closes(m)
    realised = np.diff(np.log(spx)).std() * math.sqrt(252)
    assert 0.07 < realised < 0.35
    assert 0.55 < realised / (vix.mean() / 100.0) < 1.15
    assert m.config.vix_floor <= vix.min() and vix.max() <= m.config.vix_cap


# ------------------------------------------------------------------------------------------- listings


def test_spxw_lists_an_expiry_every_trading_day(market: SyntheticMarket) -> None:
    for day in market.trading_days():
        snap = _at(market, day, 0)
        expiries = snap.chains.expiries("SPXW")
        assert expiries[0] == day, day
        assert list(expiries) == sorted(set(expiries))


def test_monthlies_are_third_fridays_and_holidays_roll_back(market: SyntheticMarket) -> None:
    snap = _at(market, date(2025, 1, 6), 0)
    spx = snap.chains.expiries("SPX")
    assert date(2025, 1, 17) in spx and date(2025, 2, 21) in spx
    assert date(2025, 4, 17) in spx and GOOD_FRIDAY not in spx  # Good Friday rolls to Thursday
    assert all(e.weekday() == 4 or e == date(2025, 4, 17) for e in spx)
    assert (max(spx) - date(2025, 1, 6)).days > 600
    near = _at(market, date(2025, 4, 7), 0).chains.expiries("SPXW")
    assert date(2025, 4, 17) in near and GOOD_FRIDAY not in near
    spy = snap.chains.expiries("SPY")
    assert date(2027, 1, 15) in spy  # two-year January LEAP
    assert max(snap.chains.expiries("ES")) >= date(2026, 3, 20)


def test_contracts_carry_the_right_terms(market: SyntheticMarket) -> None:
    snap = _at(market, date(2025, 2, 3), 12)
    expected = {
        "SPXW": ("SPX", SecurityKind.INDEX_OPTION, ExerciseStyle.EUROPEAN, Settlement.CASH, 100.0),
        "XSP": ("XSP", SecurityKind.INDEX_OPTION, ExerciseStyle.EUROPEAN, Settlement.CASH, 100.0),
        "SPY": ("SPY", SecurityKind.EQUITY_OPTION, ExerciseStyle.AMERICAN, Settlement.SHARES, 100.0),
        "ES": (None, SecurityKind.FUTURE_OPTION, ExerciseStyle.AMERICAN, Settlement.FUTURE, 50.0),
        "CL": (None, SecurityKind.FUTURE_OPTION, ExerciseStyle.AMERICAN, Settlement.FUTURE, 1000.0),
        "GC": (None, SecurityKind.FUTURE_OPTION, ExerciseStyle.AMERICAN, Settlement.FUTURE, 100.0),
    }
    for root, (underlying, kind, style, settlement, mult) in expected.items():
        c = _chain(snap, root, 20).quotes[0].contract
        assert (c.kind, c.style, c.settlement, c.multiplier) == (kind, style, settlement, mult)
        assert c.underlying == (underlying or c.underlying) and c.underlying in snap.underlyings
    es = _chain(snap, "ES", 20)
    assert es.underlying == "ESH25" and es.underlying_price == snap.price("ESH25")
    assert _chain(snap, "ES", 50).underlying == "ESM25"  # serial April options exercise into June


def test_chain_strikes_cover_the_band_with_fine_steps_near_the_money(market: SyntheticMarket) -> None:
    chain = _chain(_at(market, date(2025, 7, 8), 10), "SPXW")
    strikes = sorted({q.contract.strike for q in chain.quotes})
    s = chain.underlying_price
    assert strikes[0] <= 0.9 * s and strikes[-1] >= 1.1 * s
    near = [k for k in strikes if abs(k - s) < 0.02 * s]
    assert all(b - a == 5.0 for a, b in pairwise(near))
    assert [(q.contract.strike, q.contract.right) for q in chain.quotes] == sorted(
        ((q.contract.strike, q.contract.right) for q in chain.quotes), key=lambda x: (x[0], x[1] is Right.PUT)
    )


# ---------------------------------------------------------------------------------------- laziness


def test_chains_are_built_only_when_asked_for(market: SyntheticMarket) -> None:
    snap = _at(market, date(2025, 3, 12), 25)
    builds = market.chain_builds
    expiries = snap.chains.expiries("SPXW")
    assert expiries and market.chain_builds == builds and _built(snap) == ()
    chain = snap.chains.chain("SPXW", expiries[0])
    assert chain is not None and market.chain_builds == builds + 1
    assert snap.chains.chain("SPXW", expiries[0]) is chain and market.chain_builds == builds + 1
    later = _at(market, date(2025, 3, 12), 26)
    assert later.chains.quote(chain.quotes[10].contract) is not None
    assert market.chain_builds == builds + 1 and _built(later) == ()
    assert _built(snap) == (("SPXW", expiries[0]),)


def test_quote_agrees_with_the_chain_of_the_same_step(market: SyntheticMarket) -> None:
    day = date(2025, 5, 14)
    first = _at(market, day, 3)
    legs = [q.contract for q in _chain(first, "SPXW", 20).quotes[40:44]]
    legs += [q.contract for q in _chain(first, "ES", 80).quotes[30:32]]
    for step in (4, 5):  # step 5 prices the legs in one batch, from what step 4 asked for
        snap = _at(market, day, step)
        quotes = [snap.chains.quote(c) for c in legs]
        for c, q in zip(legs, quotes, strict=True):
            assert q is not None and q.contract == c and q.time == snap.time
            chain = snap.chains.chain(c.root, c.expiry)
            same = None if chain is None else chain.at_strike(c.right, c.strike)
            assert same is not None
            assert (q.bid, q.ask, q.volume, q.open_interest) == (
                same.bid,
                same.ask,
                same.volume,
                same.open_interest,
            )
            assert q.delta == pytest.approx(same.delta, abs=1e-12)
            assert q.iv == pytest.approx(same.iv, rel=1e-12)


def test_unknown_or_expired_requests_return_nothing(market: SyntheticMarket) -> None:
    day = date(2025, 3, 12)
    snap = _at(market, day, 0)
    assert snap.chains.expiries("NOPE") == ()
    assert snap.chains.chain("NOPE", day) is None
    assert snap.chains.chain("SPXW", day - timedelta(days=1)) is None
    assert snap.chains.chain("SPXW", date(2025, 3, 15)) is None  # a Saturday: never listed
    contract = _chain(_at(market, date(2025, 3, 11), 0), "SPXW").quotes[50].contract
    assert contract.expiry == date(2025, 3, 11) and snap.chains.quote(contract) is None
    live = _chain(snap, "SPXW").quotes[50].contract
    assert snap.chains.quote(replace(live, underlying="ESM25")) is None
    assert snap.chains.quote(replace(live, root="NOPE")) is None
    assert snap.chains.quote(replace(live, strike=-5.0)) is None


# ------------------------------------------------------------------------------------------- expiry


@pytest.mark.parametrize("day", [date(2025, 6, 6), date(2025, 11, 28)])  # a Friday and an early close
def test_zero_dte_at_the_close_is_intrinsic(market: SyntheticMarket, day: date) -> None:
    before, close = _at(market, day, -2), _at(market, day, -1)
    assert _chain(before, "SPXW").expiry == day and any(
        0 < abs(q.delta) < 1 for q in _chain(before, "SPXW").quotes
    )
    chain = _chain(close, "SPXW")
    assert chain.expiry == day
    s = chain.underlying_price
    for q in chain.quotes:
        intrinsic = q.contract.intrinsic(s)
        assert q.bid <= intrinsic + 1e-9 <= q.ask + 2e-9 and q.spread <= 0.10 + 1e-9
        assert q.delta in (0.0, 1.0, -1.0) and q.gamma == 0.0 and q.vega == 0.0
        expected = 0.0 if intrinsic == 0 else (1.0 if q.contract.is_call else -1.0)
        assert q.delta == expected
    leg = chain.quotes[len(chain.quotes) // 2].contract
    assert close.chains.quote(leg) is not None
    assert (
        _at(market, market.trading_days()[market.trading_days().index(day) + 1], 0).chains.quote(leg) is None
    )
