"""``make crisis``: the system through real crises -- August 2015, February 2018, the fourth quarter of 2018.

Why: drawdown limits, breakers and forced exits are only believable once they have met a real
crash.  Each window is replayed on real history (``sim.markets.history``) after a two-month warm-up,
so the book the crisis hits is the one the system would have built; figures cover the window only:
max drawdown (from the NLV at the window's start), breaker trips, forced exits, per-strategy P&L
(realised in the window plus the change in open positions' marks) and the worst day.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from core.settings import Settings
from monitoring.open_positions import mark_positions
from monitoring.performance import max_drawdown, returns_from_values
from sim.engine import RunResult, run_backtest
from sim.markets.choose import build_market
from sim.recorder import RunRecorder
from sim.report import write_reports
from sim.run_info import write_run_description
from sim.store import MemoryStore

WARM_UP_DAYS = 61


@dataclass(frozen=True)
class Window:
    name: str
    start: date
    end: date


WINDOWS = (
    Window("2015-08", date(2015, 8, 3), date(2015, 8, 31)),
    Window("2018-02", date(2018, 2, 1), date(2018, 2, 28)),
    Window("2018-Q4", date(2018, 10, 1), date(2018, 12, 31)),
)


class _Marks:
    """End-of-day unrealised P&L per strategy (open groups at mid), for P&L inside a window."""

    def __init__(self) -> None:
        self.by_day: dict[date, dict[str, float]] = {}

    def after_step(self, system) -> None:  # type: ignore[no-untyped-def]
        return None

    def after_end_of_day(self, day: date, system) -> None:  # type: ignore[no-untyped-def]
        marks: defaultdict[str, float] = defaultdict(float)
        for p in mark_positions(system.book.live(), system.platform.snapshot()):  # the reports' marks
            if p.unrealized_pnl is not None:
                marks[p.strategy] += p.unrealized_pnl
        self.by_day[day] = dict(marks)


def window_figures(result: RunResult, marks: _Marks, window: Window, risk_events: list[dict]) -> dict:
    """The window's figures from a run that started before it; ``risk_events`` as the reports read
    them from its events.jsonl (``analysis.report_data``)."""
    before = [p for p in result.equity if p.day < window.start]
    inside = [p for p in result.equity if window.start <= p.day <= window.end]
    base = before[-1] if before else inside[0]
    nlv = [base.net_liquidation] + [p.net_liquidation for p in inside]
    changes = [(p.day, now - prev, prev) for p, prev, now in zip(inside, nlv[:-1], nlv[1:], strict=True)]
    worst_day, worst, prev_nlv = min(changes, key=lambda c: c[1])
    actions = [
        (e["_time"], str(e.get("action", "")), str(e.get("rule", "")))
        for e in risk_events
        if e.get("kind") == "risk_event" and window.start <= e["_time"].date() <= window.end
    ]
    trips = [f"{t:%Y-%m-%d %H:%M} {rule}" for t, action, rule in actions if action == "trip"]
    forced = [
        f"{t:%Y-%m-%d %H:%M} {rule}" for t, action, rule in actions if action in ("forced_exit", "flatten")
    ]
    pnl: dict[str, float] = defaultdict(float)
    for t in result.recorder.trades:
        if t.closed_at is not None and window.start <= t.closed_at.date() <= window.end:
            pnl[t.strategy] += t.realized_pnl()
    start_marks = marks.by_day.get(base.day, {}) if before else {}
    end_marks = marks.by_day.get(inside[-1].day, {})
    for name in set(start_marks) | set(end_marks):
        pnl[name] += end_marks.get(name, 0.0) - start_marks.get(name, 0.0)
    return {
        "window": window.name, "start": window.start.isoformat(), "end": window.end.isoformat(),
        "nlv_start": round(nlv[0], 2), "nlv_end": round(nlv[-1], 2), "max_drawdown": max_drawdown(returns_from_values(nlv)),
        "breaker_trips": trips, "forced_exits": forced,
        "strategy_pnl": {k: round(v, 2) for k, v in sorted(pnl.items())},
        "worst_day": {"day": worst_day.isoformat(), "pnl": round(worst, 2), "pct": worst / prev_nlv},
    }  # fmt: skip


def run_window(
    window: Window, settings: Settings, out: Path, parameters_from: str = "rulebook defaults"
) -> dict:
    from analysis.report_data import load
    from sim.calendar import ExchangeCalendar

    start = window.start - timedelta(days=WARM_UP_DAYS)
    run_settings = settings.with_overrides(start_date=start.isoformat(), end_date=window.end.isoformat())
    calendar = ExchangeCalendar(start - timedelta(days=7), window.end + timedelta(days=800))
    choice = build_market("history", None, seed=7, vix=None, step_minutes=5, start=start, end=window.end,
                          calendar=calendar)  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    _log_to(out / "run.log")
    write_run_description(out / "run.json", choice.info, run_settings, parameters_from=parameters_from)
    marks = _Marks()
    recorder = RunRecorder(out / "events.jsonl")
    result = run_backtest(run_settings, choice.market, calendar, MemoryStore(), recorder, observers=(marks,))
    write_reports(out, result)
    figures = window_figures(result, marks, window, load(out, run_settings).risk_events)
    outcome = {"closed_trades": len(result.recorder.trades), "crisis": figures}
    write_run_description(out / "run.json", choice.info, run_settings, parameters_from=parameters_from,
                          outcome=outcome)  # fmt: skip
    return figures


def _log_to(path: Path) -> None:
    """Each window's warnings and alerts go to its own run.log, not the console."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    handler = logging.FileHandler(path, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def format_figures(f: dict) -> list[str]:
    worst = f["worst_day"]
    lines = [
        f"== {f['window']} ({f['start']} .. {f['end']}, after {WARM_UP_DAYS} days of warm-up)",
        f"  NLV                {f['nlv_start']:,.2f} -> {f['nlv_end']:,.2f}",
        f"  max drawdown       {f['max_drawdown']:.2%}",
        f"  worst day          {worst['day']}  {worst['pnl']:+,.2f}  ({worst['pct']:+.2%})",
        f"  breaker trips      {len(f['breaker_trips'])}" + "".join(f"\n    {t}" for t in f["breaker_trips"]),
        f"  forced exits       {len(f['forced_exits'])}"
        + "".join(f"\n    {t}" for t in f["forced_exits"][:10]),
        "  P&L by strategy    "
        + (", ".join(f"{k} {v:+,.2f}" for k, v in f["strategy_pnl"].items()) or "none"),
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim.crisis", description=__doc__)
    parser.add_argument("--out", default="reports/crisis", help="one sub-folder per window")
    parser.add_argument("--config", default="config.json")
    parser.add_argument("--window", action="append", choices=[w.name for w in WINDOWS], help="default: all")
    args = parser.parse_args(argv)
    path = Path(args.config)
    settings = Settings.from_config_file(path) if path.exists() else Settings()
    parameters_from = str(path) if path.exists() else "rulebook defaults (no config.json)"
    chosen = [w for w in WINDOWS if not args.window or w.name in args.window]
    out = Path(args.out)
    results = []
    for window in chosen:
        try:
            figures = run_window(window, settings, out / window.name, parameters_from)
        except (OSError, ValueError, RuntimeError) as exc:
            print(f"error: {window.name}: {exc}", file=sys.stderr)
            return 2
        results.append(figures)
        print("\n".join(format_figures(figures)), flush=True)
    (out / "crisis.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"\nper-window reports under {out}/<window>/, figures in {out / 'crisis.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
