"""Real-history replay: each session's real open/high/low/close and VIX close, missing data reported,
the modelled series labelled, the path independent of the window, and the crisis figures."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd
import pytest

from core.settings import Settings
from sim.markets.history import (
    FIRST,
    History,
    HistoryMarket,
    HistoryUnavailable,
    HistoryWindowError,
    load_history,
)
from sim.markets.synthetic import SyntheticConfig
from tests.sim.test_synthetic_market import CAL

DAYS = pd.bdate_range("2018-01-02", "2018-03-30")


def _history(drop: tuple[str, ...] = ()) -> History:
    """A small made-up 'real' history: a slide with a crash day, on weekdays of Q1 2018."""
    rng = np.random.default_rng(3)
    close = 2700 * np.exp(np.cumsum(rng.normal(0, 0.01, len(DAYS))))
    close[25] *= 0.95  # a -5 % day
    opn = np.concatenate([[2700.0], close[:-1]]) * np.exp(rng.normal(0, 0.003, len(DAYS)))
    high = np.maximum(opn, close) * 1.004
    low = np.minimum(opn, close) * 0.996
    spx = pd.DataFrame({"Open": opn, "High": high, "Low": low, "Close": close}, index=DAYS)
    vix = pd.Series(np.clip(14 + np.cumsum(rng.normal(0, 0.8, len(DAYS))), 10, 40), index=DAYS)
    vix.iloc[25] = 37.3
    wti = pd.Series(60 + np.cumsum(rng.normal(0, 0.5, len(DAYS))), index=DAYS)
    keep = ~DAYS.strftime("%Y-%m-%d").isin(drop)
    return History(
        spx[keep], vix.where(keep), wti
    )  # a dropped day: no SPX row, a NaN VIX (as arch ships holidays)


def _market(start: date, end: date, history: History | None = None) -> HistoryMarket:
    return HistoryMarket(SyntheticConfig(start=start, end=end), CAL, history or _history())


def test_each_session_runs_through_its_real_open_high_low_and_close_and_vix_close() -> None:
    h = _history()
    m = _market(date(2018, 2, 1), date(2018, 2, 28), h)
    for day in m.trading_days():
        snaps = [m.snapshot_at(t) for t in m.step_times(day)]
        spx = [s.price("SPX") for s in snaps]
        row = h.spx.loc[pd.Timestamp(day)]
        assert snaps[0].day_open["SPX"] == pytest.approx(row["Open"], abs=0.01)
        assert max(spx) == pytest.approx(row["High"], abs=0.01) and min(spx) == pytest.approx(
            row["Low"], abs=0.01
        )
        assert spx[-1] == pytest.approx(row["Close"], abs=0.01)
        assert snaps[-1].vix == pytest.approx(h.vix.loc[pd.Timestamp(day)], abs=0.01)
    assert m.config.rate == 0.0183  # 2018's average fed funds rate, not the synthetic default


def test_options_are_priced_from_the_real_vix() -> None:
    m = _market(date(2018, 2, 1), date(2018, 2, 28))
    crash = m.trading_days()[[d.isoformat() for d in m.trading_days()].index(DAYS[25].date().isoformat())]
    calm = m.trading_days()[0]
    ivs = []
    for day in (calm, crash):
        snap = m.snapshot_at(m.step_times(day)[-1])
        chain = snap.chains.chain("SPX", snap.chains.expiries("SPX")[2])
        assert chain is not None
        atm = min(chain.quotes, key=lambda q: abs(q.contract.strike - chain.underlying_price))
        ivs.append(atm.iv)
    assert ivs[1] > 1.5 * ivs[0]  # VIX 37 after the crash day


def test_sessions_without_real_data_are_left_out_and_reported() -> None:
    m = _market(date(2018, 2, 1), date(2018, 2, 28), _history(drop=("2018-02-14",)))
    assert date(2018, 2, 14) not in m.trading_days()
    assert m.missing_sessions == {date(2018, 2, 14): "no real SPX and VIX data for this session"}


def test_what_is_real_and_what_is_modelled_is_labelled() -> None:
    sources = _market(date(2018, 2, 1), date(2018, 2, 9)).sources
    assert (
        sources["SPX"].startswith("real")
        and sources["VIX"].startswith("real")
        and sources["CL"].startswith("real")
    )
    for name in ("QQQ", "IWM", "GC", "ES", "options"):
        assert sources[name].startswith("modelled"), name


def test_the_replay_is_the_same_inside_any_window() -> None:
    h = _history()
    short, long = (
        _market(date(2018, 2, 5), date(2018, 2, 16), h),
        _market(date(2018, 1, 2), date(2018, 3, 30), h),
    )
    for day in short.trading_days()[::3]:
        t = short.step_times(day)[40]
        a, b = short.snapshot_at(t), long.snapshot_at(t)
        assert [(k, q.price) for k, q in sorted(a.underlyings.items())] == [
            (k, q.price) for k, q in sorted(b.underlyings.items())
        ]


def test_windows_outside_the_real_data_are_refused() -> None:
    with pytest.raises(HistoryWindowError, match=r"2014-01-03 \.\. 2018-12-31"):
        _market(date(2013, 12, 2), date(2014, 2, 1))
    assert date(2014, 1, 3) == FIRST


@pytest.mark.slow  # a crisis replay with months of warm-up
def test_a_crisis_window_reports_its_figures(tmp_path, monkeypatch) -> None:
    import sim.crisis as crisis
    import sim.markets.history as history

    monkeypatch.setattr(crisis, "WARM_UP_DAYS", 10)
    monkeypatch.setattr(history, "load_history", _history)  # the made-up history stands in for arch's
    window = crisis.Window("test", date(2018, 2, 5), date(2018, 2, 16))
    figures = crisis.run_window(window, Settings(), tmp_path)
    assert set(figures) >= {"max_drawdown", "breaker_trips", "forced_exits", "strategy_pnl", "worst_day"}
    assert figures["max_drawdown"] <= 0.0 and date.fromisoformat(figures["worst_day"]["day"]) >= window.start
    total = sum(figures["strategy_pnl"].values())
    assert total == pytest.approx(
        figures["nlv_end"] - figures["nlv_start"], abs=1.0
    )  # P&L adds up to the NLV change
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["market"]["source"] == "history" and run["outcome"]["crisis"]["window"] == "test"
    assert "\n".join(crisis.format_figures(figures)).count("max drawdown") == 1
    summary = " ".join((tmp_path / "summary.txt").read_text().split())
    assert "market source real history: real SPX, VIX, CL;" in summary  # labelled in the summary
    assert "modelled around it (seed 7)" in summary and "GC" in summary


def test_arch_data_sets_load_as_dated_series_and_a_changed_set_is_one_clear_error(monkeypatch) -> None:
    pytest.importorskip("arch", reason="the real history needs the optional 'arch' package")
    real = load_history()
    assert list(real.spx.columns) == ["Open", "High", "Low", "Close"]
    assert isinstance(real.vix.index, pd.DatetimeIndex) and real.vix.index[0].date() <= FIRST
    from arch.data import vix

    monkeypatch.setattr(vix, "load", lambda: pd.DataFrame({"VIXCLS": [14.0]}))  # a renamed column
    with pytest.raises(HistoryUnavailable, match="arch's vix data set has no dated 'vix' column"):
        load_history()
