"""sim.markets.synthetic paths: one path per seed whatever the window, jumps both ways and mostly at
the open, a reflecting VIX floor, crude and gold with stochastic vol and a moving curve."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time

import numpy as np
import pytest

from core.types import Right
from sim.markets.synthetic import SyntheticConfig, SyntheticMarket
from sim.markets.synthetic.daily import simulate
from sim.markets.synthetic.surface import atm_vol
from tests.sim.test_synthetic_market import CAL


def _closes(m: SyntheticMarket, name: str) -> np.ndarray:
    ends = [*(i - 1 for i in m.grid.day_start[1:]), len(m.grid.times) - 1]
    return m.paths.series(name)[ends]


def _view(m: SyntheticMarket, days: list[date]) -> list:
    """What a strategy sees on those days: every underlying at three steps, and two chains' books."""
    out = []
    for day in days:
        times = m.step_times(day)
        for t in (times[0], times[len(times) // 2], times[-1]):
            snap = m.snapshot_at(t)
            out.append(sorted((k, q.bid, q.ask, q.price) for k, q in snap.underlyings.items()))
            out.append(snap.vix)
            for root in ("SPXW", "CL"):
                chain = snap.chains.chain(root, snap.chains.expiries(root)[2])
                assert chain is not None
                out.append([(q.contract.symbol, q.bid, q.ask, round(q.iv, 12)) for q in chain.quotes[::7]])
    return out


@pytest.mark.parametrize(
    ("window", "inner"),
    [
        ((date(2025, 3, 3), date(2025, 6, 30)), (date(2025, 1, 2), date(2025, 12, 31))),  # zoom into a year
        ((date(2024, 5, 1), date(2024, 6, 28)), (date(2024, 2, 1), date(2025, 2, 28))),  # before the anchor
    ],
)
def test_a_seed_has_one_path_whatever_window_is_run(
    window: tuple[date, date], inner: tuple[date, date]
) -> None:
    short = SyntheticMarket(SyntheticConfig(start=window[0], end=window[1]), CAL)
    long = SyntheticMarket(SyntheticConfig(start=inner[0], end=inner[1]), CAL)
    days = short.trading_days()
    assert set(days) <= set(long.trading_days())
    picks = [days[0], days[1], days[len(days) // 2], days[-1]]
    assert _view(short, picks) == _view(long, picks)
    other = SyntheticMarket(SyntheticConfig(seed=8, start=window[0], end=window[1]), CAL)
    assert _view(other, picks[:1]) != _view(short, picks[:1])


def test_the_anchor_session_opens_at_the_configured_prices() -> None:
    cfg = SyntheticConfig(start=date(2024, 12, 2), end=date(2025, 1, 31))
    m = SyntheticMarket(cfg, CAL)
    snap = m.snapshot_at(m.step_times(date(2025, 1, 2))[0])
    assert snap.day_open["SPX"] == cfg.spx_start and snap.day_open["VIX"] == cfg.vix_start
    before = m.snapshot_at(m.step_times(date(2024, 12, 31))[-1])
    assert 0.85 < snap.day_open["SPX"] / before.price("SPX") < 1.15  # the backward walk joins up


def test_jumps_go_both_ways_and_mostly_gap_at_the_open() -> None:
    cfg = SyntheticConfig(start=date(2025, 1, 2), end=date(2034, 12, 29), jumps_per_year=12.0)
    days = [d for d in (date(2025, 1, 1) + np.arange(3650).astype("timedelta64[D]").astype(object))
            if CAL.is_trading_day(d)]  # fmt: skip
    skeleton = simulate(cfg, days, CAL.is_trading_day)
    gaps, inside = skeleton.gap_jump[skeleton.gap_jump != 0], skeleton.jump[skeleton.jump != 0]
    n = len(gaps) + len(inside)
    assert n > 60
    assert 0.6 < len(gaps) / n < 0.9  # jump_at_open = 0.75
    both = np.concatenate([gaps, inside])
    assert 0.15 < (both > 0).mean() < 0.45  # jump_up_share = 0.3
    assert (
        np.abs(inside).max() <= 0.5 * cfg.jump_max + 1e-12 < np.abs(gaps).max()
    )  # intraday ones are half size
    assert np.all((skeleton.jump_at[skeleton.jump != 0] > 0.0) & (skeleton.jump_at[skeleton.jump != 0] < 1.0))


def test_an_intraday_jump_is_one_step_and_vix_moves_with_it() -> None:
    cfg = SyntheticConfig(
        start=date(2025, 1, 2), end=date(2026, 12, 31), jumps_per_year=20.0, jump_at_open=0.0
    )
    m = SyntheticMarket(cfg, CAL)
    hits = np.flatnonzero(m.paths.jumps)
    opens = set(m.grid.day_start)
    inside = [i for i in hits if i not in opens]
    assert len(inside) > 10
    for i in inside[:10]:
        step = np.log(m.paths.spx[i] / m.paths.spx[i - 1])
        assert step == pytest.approx(m.paths.jumps[i], abs=0.006)  # the jump plus one step of diffusion
        assert (m.paths.vix[i] > m.paths.vix[i - 1]) == (m.paths.jumps[i] < 0)


def test_vix_reflects_off_a_floor_at_its_record_low_and_never_sticks_there() -> None:
    calm = SyntheticConfig(start=date(2025, 1, 2), end=date(2027, 12, 31), vix_start=10.0, vix_long_run=11.0)
    m = SyntheticMarket(calm, CAL)
    vix = m.paths.vix
    assert vix.min() >= calm.vix_floor == 8.6
    assert vix.min() < 9.5  # it does get down there
    assert not np.any(vix == calm.vix_floor)  # a clamp would park it exactly on the floor
    assert np.mean(vix < calm.vix_floor * 1.01) < 0.05  # reflected: it leaves again


def test_crude_and_gold_have_stochastic_vol_with_a_term_structure_and_skew() -> None:
    m = SyntheticMarket(SyntheticConfig(start=date(2025, 1, 2), end=date(2025, 12, 31)), CAL)
    cl_vol = _closes(m, "cl_vol")
    assert cl_vol.std() / cl_vol.mean() > 0.08  # the level moves
    assert np.corrcoef(np.diff(np.log(_closes(m, "cl"))), np.diff(np.log(cl_vol)))[0, 1] < -0.1
    cfg = m.config
    tau = np.array([20 / 365, 300 / 365])
    high, low = atm_vol("cl", 0.6, tau, cfg), atm_vol("cl", 0.25, tau, cfg)
    assert high[0] > high[1] and low[0] < low[1]  # inverted when vol is high, upward when low
    carry = _closes(m, "cl_carry")
    assert carry.max() - carry.min() > 0.05  # the curve's slope moves, not a fixed 2 % contango
    snap = m.snapshot_at(datetime(2025, 6, 10, 11, 0))
    for root, put_rich in (("CL", True), ("GC", False)):
        chain = snap.chains.chain(
            root, next(e for e in snap.chains.expiries(root) if (e - snap.time.date()).days > 40)
        )
        assert chain is not None
        f = chain.underlying_price
        put = min(chain.side(Right.PUT), key=lambda q: abs(q.contract.strike - 0.9 * f))
        call = min(chain.side(Right.CALL), key=lambda q: abs(q.contract.strike - f / 0.9))
        assert (put.iv > call.iv) == put_rich, root


def test_futures_curves_follow_the_moving_carry() -> None:
    m = SyntheticMarket(SyntheticConfig(start=date(2025, 1, 2), end=date(2025, 12, 31)), CAL)
    slopes = []
    for day in m.trading_days()[::20]:
        snap = m.snapshot_at(datetime.combine(day, time(12, 0)))
        cl = sorted((k, q.price) for k, q in snap.underlyings.items() if k.startswith("CL"))
        slopes.append(cl[-1][1] > cl[0][1])
    assert any(slopes) and not all(slopes)  # contango on some days, backwardation on others


def test_changing_the_anchor_moves_the_whole_path() -> None:
    a = SyntheticMarket(SyntheticConfig(start=date(2025, 3, 3), end=date(2025, 3, 31)), CAL)
    b = SyntheticMarket(replace(SyntheticConfig(start=date(2025, 3, 3), end=date(2025, 3, 31)),
                                anchor=date(2025, 3, 3)), CAL)  # fmt: skip
    assert b.snapshot_at(b.step_times(date(2025, 3, 3))[0]).day_open["SPX"] == 5800.0
    assert a.paths.spx[0] != b.paths.spx[0]
