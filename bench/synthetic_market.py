"""Synthetic market throughput on one core: a year of snapshots, chain builds and open-leg quotes.

The engine calls ``snapshot_at`` every step and re-quotes every open leg; strategies ask for a
chain only at their entry times.  "One chain request per step" (a 0DTE SPXW chain every step of a
year) is therefore a worst case, far above what a backtest does.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from datetime import time as clock

from core.ports import TradingCalendar
from core.types import MarketSnapshot, OptionContract, Right
from sim.markets.synthetic import SyntheticConfig, SyntheticMarket


class _Weekdays:
    """Fallback calendar (weekdays, 09:30-16:00) when exchange_calendars is not installed."""

    def is_trading_day(self, day: date) -> bool:
        return day.weekday() < 5

    def session_open(self, day: date) -> datetime | None:
        return datetime.combine(day, clock(9, 30)) if day.weekday() < 5 else None

    def session_close(self, day: date) -> datetime | None:
        return datetime.combine(day, clock(16, 0)) if day.weekday() < 5 else None

    def is_early_close(self, day: date) -> bool:
        return False


def _calendar(start: date, end: date) -> tuple[TradingCalendar, str]:
    try:
        from sim.calendar import ExchangeCalendar

        return ExchangeCalendar(start - timedelta(days=7), end + timedelta(days=800)), "XNYS"
    except Exception:  # optional package missing: the weekday calendar is close enough to time
        return _Weekdays(), "weekdays"


def _year(
    config: SyntheticConfig, calendar: TradingCalendar, chain: bool, legs: int
) -> tuple[float, int, int]:
    """Seconds for a fresh market's year of steps, the steps, and the chains built."""
    began = time.perf_counter()
    market = SyntheticMarket(config, calendar)
    held: list[OptionContract] = []
    steps = 0
    for day in market.trading_days():
        for t in market.step_times(day):
            snap = market.snapshot_at(t)
            snap.price("SPX")
            steps += 1
            if chain:
                snap.chains.chain("SPXW", snap.chains.expiries("SPXW")[0])
            if legs:
                if not held or min(c.expiry for c in held) <= day:
                    held = _pick_legs(snap, day, legs)
                for c in held:
                    snap.chains.quote(c)
    return time.perf_counter() - began, steps, market.chain_builds


def _pick_legs(snap: MarketSnapshot, day: date, n: int) -> list[OptionContract]:
    """A realistic open book: an ES strangle ~90 DTE and SPY options ~1 year out."""
    es = snap.chains.chain("ES", next(e for e in snap.chains.expiries("ES") if (e - day).days > 80))
    spy = snap.chains.chain("SPY", next(e for e in snap.chains.expiries("SPY") if (e - day).days > 300))
    assert es is not None and spy is not None, f"the synthetic market lists ES and SPY chains on {day}"
    put, call = es.nearest_delta(Right.PUT, 0.06), es.nearest_delta(Right.CALL, 0.06)
    assert put is not None and call is not None, f"the ES chain has quotes on {day}"
    legs = [put.contract, call.contract]
    mid = len(spy.quotes) // 2
    return (legs + [q.contract for q in spy.quotes[mid : mid + n]])[:n]


def _chain_ms(market: SyntheticMarket, root: str, min_days: int, repeats: int = 200) -> tuple[float, int]:
    day = market.trading_days()[20]
    times = market.step_times(day)
    began = time.perf_counter()
    size = 0
    for i in range(repeats):
        snap = market.snapshot_at(times[i % len(times)])
        expiry = next(e for e in snap.chains.expiries(root) if (e - day).days >= min_days)
        built = snap.chains.chain(root, expiry)
        assert built is not None
        size = len(built.quotes)
    return (time.perf_counter() - began) / repeats * 1e3, size


def run() -> list[dict]:
    config = SyntheticConfig()
    calendar, cal_name = _calendar(config.start, config.end)
    began = time.perf_counter()
    market = SyntheticMarket(config, calendar)
    build = time.perf_counter() - began
    bare, steps, _ = _year(config, calendar, chain=False, legs=0)
    with_chain, _, builds = _year(config, calendar, chain=True, legs=0)
    with_legs, _, _ = _year(config, calendar, chain=False, legs=8)
    rows = [
        {"name": "synthetic: build a year of paths", "value": build, "unit": "s", "target": "< 1 s",
         "note": f"{steps} steps, {cal_name} calendar"},
        {"name": "synthetic: snapshot_at only", "value": steps / bare, "unit": "steps/s", "target": None,
         "note": "underlyings read on demand"},
        {"name": "synthetic: snapshot + 1 chain/step", "value": steps / with_chain, "unit": "steps/s",
         "target": ">= 500 steps/s", "note": f"0DTE SPXW chain every step, {builds} builds"},
        {"name": "synthetic: snapshot + 8 open legs", "value": steps / with_legs, "unit": "steps/s",
         "target": ">= 1000 steps/s", "note": "2 ES + 6 SPY legs quoted every step (one batch)"},
    ]  # fmt: skip
    rows += _history_row()
    for root, days, label in (("SPXW", 0, "0DTE SPXW"), ("ES", 110, "120-DTE ES"), ("SPY", 330, "1y SPY")):
        ms, size = _chain_ms(market, root, days)
        rows.append({"name": f"synthetic: chain build {label}", "value": ms, "unit": "ms",
                     "target": "< 2 ms" if root == "SPXW" else None, "note": f"{size} quotes"})  # fmt: skip
    return rows


def _history_row() -> list[dict]:
    """Building a year of real-history replay (2018), when the history extra (arch) is installed."""
    try:
        from sim.markets.history import HistoryMarket, load_history

        history = load_history()
    except Exception:  # the optional extra is missing: nothing to measure
        return []
    config = SyntheticConfig(start=date(2018, 1, 2), end=date(2018, 12, 31))
    calendar, _ = _calendar(config.start, config.end)
    began = time.perf_counter()
    market = HistoryMarket(config, calendar, history)
    return [{"name": "history: build 2018 replay", "value": time.perf_counter() - began, "unit": "s",
             "target": None, "note": f"{len(market.grid.times)} steps, real SPX/VIX/WTI"}]  # fmt: skip


if __name__ == "__main__":
    for row in run():
        print(row)
