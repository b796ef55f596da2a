"""Replay of real market history: SPX, VIX and crude oil as they were, options priced around them.

Why: a synthetic market, however calibrated, never had August 2015, February 2018 ("Volmageddon")
or the fourth quarter of 2018.  The ``arch`` package ships real daily data (``arch.data.sp500``:
S&P 500 open/high/low/close 1999-2018; ``arch.data.vix``: VIX close 2014-01-03..2019-01-03;
``arch.data.wti``: WTI spot close), so a backtest can be run through them (``--market history``).

What is real and what is modelled (``HistoryMarket.sources``, written into every run's run.json):
- real: SPX each session's open, high, low and close (the intraday path is a bridge through them);
  VIX each session's close; WTI spot each session's close (missing days carry the last price).
- modelled around them: SPX's intraday path between the real prints; VIX's open (the previous
  close moved by the SPX gap) and intraday path; SPY (SPX / 10), XSP; QQQ and IWM (a beta to the
  real SPX moves plus their own noise); gold; crude's intraday path, its implied vol (trailing
  realised vol x the implied premium) and its futures curve; ES futures (SPX plus carry); every
  option chain (the calibrated surface anchored on the real VIX); the rate and SPX dividend
  (yearly averages, ``YEARLY_RATES``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date

import numpy as np
import pandas as pd

from core.ports import TradingCalendar
from sim.markets.synthetic.config import SyntheticConfig
from sim.markets.synthetic.daily import DailyPaths, simulate
from sim.markets.synthetic.market import SyntheticMarket

FIRST, LAST = date(2014, 1, 3), date(2018, 12, 31)  # where arch's VIX and S&P 500 series overlap
VIX_GAP_ELASTICITY = -4.0  # log-VIX moves -4x the SPX overnight gap (its open is not in the data)
# effective federal funds rate, yearly average (Federal Reserve H.15); S&P 500 dividend yield ~2 %
YEARLY_RATES = {2014: 0.0009, 2015: 0.0013, 2016: 0.0040, 2017: 0.0100, 2018: 0.0183}
SPX_DIVIDEND = 0.02
_CL_VOL_DAYS = 20  # trailing window of crude's realised vol
START_LEVELS = {"qqq": 87.0, "iwm": 114.0, "gc": 1225.0}  # modelled series start at their Jan 2014 levels


class HistoryUnavailable(RuntimeError):
    """The optional ``arch`` package (its data sets) is not installed."""


class HistoryWindowError(ValueError):
    """The requested window is outside the real data."""


@dataclass(frozen=True)
class History:
    """The real daily series, indexed by session date."""

    spx: pd.DataFrame  # Open, High, Low, Close
    vix: pd.Series
    wti: pd.Series


def load_history() -> History:
    """Read arch's data sets (imported lazily: ``pip install '.[history]'``)."""
    try:
        from arch.data import sp500, vix, wti
    except ImportError as exc:
        raise HistoryUnavailable(
            "--market history needs the 'arch' package and its data sets: pip install -e '.[history]'"
        ) from exc
    spx = sp500.load()
    columns = {c: _column(spx, c, "sp500") for c in ("Open", "High", "Low", "Close")}
    return History(
        pd.DataFrame(columns), _column(vix.load(), "vix", "vix"), _column(wti.load(), "DCOILWTICO", "wti")
    )


def _column(data: object, column: str, name: str) -> pd.Series:
    """One dated column of an arch data set, or HistoryUnavailable if the set is not as expected."""
    series = data[column] if isinstance(data, pd.DataFrame) and column in data.columns else None
    if not isinstance(series, pd.Series) or not isinstance(series.index, pd.DatetimeIndex):
        raise HistoryUnavailable(f"arch's {name} data set has no dated {column!r} column")
    return series


def _dates(index: pd.Index) -> list[date]:
    return [ts.date() for ts in pd.DatetimeIndex(index)]


def _rows_by_day(frame: pd.DataFrame) -> dict[date, np.ndarray]:
    return dict(zip(_dates(frame.index), frame.to_numpy(dtype=float), strict=True))


def _by_day(series: pd.Series) -> dict[date, float]:
    return dict(zip(_dates(series.index), series.to_numpy(dtype=float).tolist(), strict=True))


class HistoryMarket(SyntheticMarket):
    """A ``SyntheticMarket`` whose SPX, VIX and crude follow real history (see the module docstring).

    Sessions of the calendar without real SPX or VIX data are left out of the run and listed in
    ``missing_sessions`` (with the reason) rather than filled in.
    """

    def __init__(
        self, config: SyntheticConfig, calendar: TradingCalendar, history: History | None = None
    ) -> None:
        if config.start < FIRST or config.end > LAST:
            raise HistoryWindowError(
                f"the real history covers {FIRST} .. {LAST}; asked for {config.start} .. {config.end}"
            )
        history = history or load_history()
        history = History(history.spx.dropna(), history.vix.dropna(), history.wti)  # holidays are NaN rows
        year = config.start.year
        config = replace(config, rate=YEARLY_RATES.get(year, config.rate), spx_dividend=SPX_DIVIDEND)
        spx, vix = _rows_by_day(history.spx), _by_day(history.vix)
        self.missing_sessions: dict[date, str] = {}
        self._history = history
        window = (config.start, config.end)
        super().__init__(config, _Covered(calendar, spx, vix, window, self.missing_sessions))

    def _skeleton(self, days: list[date]) -> DailyPaths:
        return replay(self.config, days, self._history, self.grid.sessions.is_trading)

    @property
    def sources(self) -> dict[str, str]:
        return self.daily.sources


class _Covered:
    """The calendar with the run window's sessions that lack real data taken out (and recorded with
    the reason); outside the window (listing schedules) it is the exchange calendar."""

    def __init__(self, calendar: TradingCalendar, spx: dict, vix: dict, window: tuple[date, date],
                 missing: dict[date, str]) -> None:  # fmt: skip
        self._calendar, self._spx, self._vix, self._window, self._missing = (
            calendar,
            spx,
            vix,
            window,
            missing,
        )

    def _covered(self, day: date) -> bool:
        if not self._calendar.is_trading_day(day):
            return False
        if self._window[0] <= day <= self._window[1] and (day not in self._spx or day not in self._vix):
            what = " and ".join(n for n, d in (("SPX", self._spx), ("VIX", self._vix)) if day not in d)
            self._missing[day] = f"no real {what} data for this session"
            return False
        return True

    def is_trading_day(self, day: date) -> bool:
        return self._covered(day)

    def session_open(self, day: date):  # type: ignore[no-untyped-def]
        return self._calendar.session_open(day) if self._covered(day) else None

    def session_close(self, day: date):  # type: ignore[no-untyped-def]
        return self._calendar.session_close(day) if self._covered(day) else None

    def is_early_close(self, day: date) -> bool:
        return self._calendar.is_early_close(day)


def replay(cfg: SyntheticConfig, run_days: list[date], history: History, is_trading) -> DailyPaths:  # type: ignore[no-untyped-def]
    """The daily skeleton of real history: real SPX/VIX/crude, the rest modelled around them.
    Everything is walked from the first session of the data, so a window's path never depends on
    where the window starts."""
    spx, vix = _rows_by_day(history.spx), _by_day(history.vix)
    days = sorted(d for d in spx if d in vix and FIRST <= d <= run_days[-1] and is_trading(d))
    full = _replay_days(cfg, days, history, is_trading)
    keep = np.searchsorted(np.array(days, dtype="datetime64[D]"), np.array(run_days, dtype="datetime64[D]"))
    if full.high is None or full.low is None:
        raise RuntimeError("the history replay lost the SPX highs and lows it bridges through")
    return DailyPaths(
        list(run_days), {k: v[keep] for k, v in full.open.items()}, {k: v[keep] for k, v in full.close.items()},
        full.jump[keep], full.jump_at[keep], full.gap_jump[keep], high=full.high[keep], low=full.low[keep],
        sources=full.sources,
    )  # fmt: skip


def _replay_days(cfg: SyntheticConfig, days: list[date], history: History, is_trading) -> DailyPaths:  # type: ignore[no-untyped-def]
    modelled = simulate(cfg, days, is_trading)
    spx, vix = _rows_by_day(history.spx), _by_day(history.vix)
    wti = history.wti.ffill()
    o = np.array([spx[d][0] for d in days])
    h = np.array([spx[d][1] for d in days])
    lo = np.array([spx[d][2] for d in days])
    c = np.array([spx[d][3] for d in days])
    v_close = np.array([vix[d] for d in days])
    prev_spx_close = _previous(_column(history.spx, "Close", "sp500"), days)
    prev_vix_close = _previous(history.vix, days)
    v_open = prev_vix_close * np.exp(VIX_GAP_ELASTICITY * np.log(o / prev_spx_close))
    v_open = np.clip(v_open, cfg.vix_floor, cfg.vix_cap)
    cl_close = _as_of(wti, days)  # days the WTI series skips carry its last price
    cl_prev = _previous(wti, days)
    cl_vol = _trailing_vol(wti, days) * cfg.commodity_iv_premium
    opens, closes = dict(modelled.open), dict(modelled.close)
    spx_day = np.log(c / o)
    spx_gap = np.log(o / prev_spx_close)
    for name, beta in (("qqq", cfg.qqq_beta), ("iwm", cfg.iwm_beta)):
        # keep the modelled series' own noise, replace its SPX-driven part with the real moves
        own_day = np.log(modelled.close[name] / modelled.open[name]) - beta * np.log(
            modelled.close["spx"] / modelled.open["spx"]
        )
        own_gap = np.log(modelled.open[name][1:] / modelled.close[name][:-1]) - beta * np.log(
            modelled.open["spx"][1:] / modelled.close["spx"][:-1]
        )
        log_open = np.empty(len(days))
        log_close = np.empty(len(days))
        x = math.log(START_LEVELS[name])
        for k in range(len(days)):
            if k > 0:
                x += beta * spx_gap[k] + own_gap[k - 1]
            log_open[k] = x
            x += beta * spx_day[k] + own_day[k]
            log_close[k] = x
        opens[name], closes[name] = np.exp(log_open), np.exp(log_close)
    for name, values in (("SPX", np.concatenate([o, h, lo, c])), ("VIX", v_close), ("WTI", cl_close)):
        if not np.all(np.isfinite(values) & (values > 0)):
            raise ValueError(
                f"the real {name} series has missing or non-positive values in {days[0]} .. {days[-1]}"
            )
    gold = START_LEVELS["gc"] / modelled.open["gc"][0]  # modelled gold, scaled to its level at the start
    opens.update(spx=o, vix=v_open, cl=cl_prev, cl_vol=cl_vol, gc=modelled.open["gc"] * gold)
    closes.update(spx=c, vix=v_close, cl=cl_close, cl_vol=cl_vol, gc=modelled.close["gc"] * gold)
    zeros = np.zeros(len(days))
    sources = {
        "SPX": "real daily open/high/low/close (arch.data.sp500), intraday path modelled between them",
        "VIX": "real daily close (arch.data.vix); open and intraday path modelled",
        "CL": "real WTI spot daily close (arch.data.wti); intraday path, implied vol and futures curve modelled",
        "SPY": "modelled: SPX / 10", "QQQ": "modelled: beta to real SPX plus own noise",
        "IWM": "modelled: beta to real SPX plus own noise", "GC": "modelled (synthetic gold)",
        "ES": "modelled: real SPX plus carry", "options": "modelled: calibrated surface anchored on the real VIX",
        "rate": f"modelled: {cfg.rate:.2%} (yearly average fed funds)",
    }  # fmt: skip
    return DailyPaths(list(days), opens, closes, zeros, zeros, spx_gap, high=h, low=lo, sources=sources)


def _previous(series: pd.Series, days: list[date], *, inclusive: bool = False) -> np.ndarray:
    """The series' last value strictly before (or, ``inclusive``, on or before) each day."""
    index = np.array(_dates(series.index), dtype="datetime64[D]")
    values = series.to_numpy(dtype=float)
    pos = np.searchsorted(index, np.array(days, dtype="datetime64[D]"), side="right" if inclusive else "left")
    return values[np.maximum(pos - 1, 0)]


def _as_of(series: pd.Series, days: list[date]) -> np.ndarray:
    return _previous(series, days, inclusive=True)


def _trailing_vol(wti: pd.Series, days: list[date]) -> np.ndarray:
    """Annualised realised vol of the last ``_CL_VOL_DAYS`` daily returns before each day."""
    returns = pd.Series(np.log(wti.to_numpy(dtype=float)), index=wti.index).diff()
    vol = returns.rolling(_CL_VOL_DAYS, min_periods=5).std() * math.sqrt(252.0)
    return np.clip(np.nan_to_num(_previous(vol, days), nan=0.35), 0.15, 1.5)
