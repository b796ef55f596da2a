"""``python -m sim backtest``: run the trading system offline and write a readable report.

Synthetic market by default (deterministic by seed), or LEAN-format data with ``--data PATH``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

from core.settings import Settings, SettingsError
from core.types import MarketSnapshot
from sim.broker.faults import FaultConfig
from sim.engine import MarketSource
from sim.report import summary_text, write_reports


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "audit":
        from analysis.audit import main as audit_main

        return audit_main(Path(args.trades), Path(args.config))
    try:
        settings = _settings(args)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        faults = FaultConfig.parse(args.faults) if args.faults else None
    except ValueError as exc:
        print(f"error: --faults: {exc}", file=sys.stderr)
        return 2
    from sim.run import RunPaths, RunRefused, identity, prepare_out, run, write_final

    out = Path(args.out)
    try:
        prepare_out(out)
    except RunRefused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        filename=out / "run.log",
        filemode="w",
        level=logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    from sim.calendar import ExchangeCalendar

    start, end = date.fromisoformat(settings.start_date), date.fromisoformat(settings.end_date)
    calendar = ExchangeCalendar(start - timedelta(days=7), end + timedelta(days=800))
    try:
        market = _market(args, settings, calendar)
    except (OSError, ValueError) as exc:
        print(f"error: cannot load market data: {exc}", file=sys.stderr)
        return 2
    _write_parameters(out / "parameters.json", settings)  # what the auditor checks against
    # crash-safe with --state-dir: persist everything and resume from the folder if it has state
    paths = RunPaths(out, Path(args.state_dir) if args.state_dir else None)
    market_id = {
        "data": args.data,
        "seed": str(args.seed),
        "vix": str(args.vix),
        "step_minutes": str(args.step_minutes),
    }
    try:
        result, wall = run(
            settings, market, calendar, paths, identity(settings, faults, market_id), _progress(args), faults
        )
    except RunRefused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    reports = write_reports(out, result, wall)
    write_final(out / "final.json", result)
    print(summary_text(result, wall))
    print("\nreports: " + ", ".join(str(p) for p in reports.values()))
    print(_html_report(out, settings))
    return 0


def _html_report(out: Path, settings: Settings) -> str:
    from analysis.html_report import write_html_report

    return f"HTML report: {write_html_report(out, settings).resolve()}"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sim", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    bt = sub.add_parser("backtest", help="run a backtest and write reports")
    bt.add_argument("--config", default="config.json", help="LEAN config.json whose parameters to use")
    bt.add_argument("--start", help="first day YYYY-MM-DD (default: config start_date)")
    bt.add_argument("--end", help="last day YYYY-MM-DD (default: config end_date)")
    bt.add_argument("--seed", type=int, default=7, help="synthetic market seed")
    bt.add_argument("--data", default="synthetic", help="'synthetic' or a LEAN data folder")
    bt.add_argument(
        "--vix", type=float, default=None, help="constant VIX for LEAN data runs (no VIX data there)"
    )
    bt.add_argument("--step-minutes", type=int, default=5)
    bt.add_argument("--out", default="reports", help="output folder")
    bt.add_argument("--quiet", action="store_true", help="no progress bar")
    bt.add_argument(
        "--state-dir",
        default="",
        help="persist to and resume from this folder (kill-safe run, sim/run.py); keep it outside --out",
    )
    bt.add_argument(
        "--faults", default="", metavar="NAME=RATE,...",
        help="inject broker faults, e.g. partial=0.2,reject=0.05,drop=0.02,duplicate=0.02,delay=0.05,"
        "cancel_race=0.05,seed=1 (see sim/broker/faults.py)",
    )  # fmt: skip
    bt.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE",
        help="override one config parameter, e.g. --set starting_cash=400000 (repeatable)",
    )  # fmt: skip
    audit = sub.add_parser("audit", help="check a backtest's trades against the rulebook")
    audit.add_argument("trades", nargs="?", default="reports/trades.csv", help="trades.csv of a backtest")
    audit.add_argument("--config", default="config.json", help="config.json the backtest used")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    path = Path(args.config)
    settings = Settings.from_config_file(path) if path.exists() else Settings()
    overrides: dict[str, object] = {}
    if args.set:
        settings = _with_set(settings, args.set)
    if args.start:
        overrides["start_date"] = args.start
    if args.end:
        overrides["end_date"] = args.end
    if overrides:
        try:
            return settings.with_overrides(**overrides)
        except SettingsError as exc:
            raise SettingsError([f"command line: {p}" for p in exc.problems]) from None
    return settings


def _with_set(settings: Settings, items: list[str]) -> Settings:
    """Apply ``--set NAME=VALUE`` overrides with the same parsing and checks as config.json."""
    params = settings.as_parameters()
    problems = []
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            problems.append(f"--set {item!r}: expected NAME=VALUE")
            continue
        params[name.strip()] = value.strip()
    if problems:
        raise SettingsError(problems)
    return Settings.from_parameters(params, source="command line --set")


def _write_parameters(path: Path, settings: Settings) -> None:
    import json

    params = settings.as_parameters()
    path.write_text(json.dumps({"parameters": params}, indent=2) + "\n", encoding="utf-8")


def _market(args: argparse.Namespace, settings: Settings, calendar) -> MarketSource:  # type: ignore[no-untyped-def]
    start, end = date.fromisoformat(settings.start_date), date.fromisoformat(settings.end_date)
    if args.data == "synthetic":
        from sim.markets.synthetic import SyntheticConfig, SyntheticMarket

        config = SyntheticConfig(seed=args.seed, start=start, end=end, step_minutes=args.step_minutes)
        return SyntheticMarket(config, calendar)
    from sim.markets.lean_data import LeanDataMarket

    return _CalendarSteps(LeanDataMarket(Path(args.data), vix=args.vix), calendar, args.step_minutes)


class _CalendarSteps:
    """Gives a data source without its own clock the engine's step times from the calendar."""

    def __init__(self, source, calendar, step_minutes: int) -> None:  # type: ignore[no-untyped-def]
        self.source, self.calendar, self.step = source, calendar, timedelta(minutes=step_minutes)

    def trading_days(self) -> list[date]:
        return [d for d in self.source.trading_days() if self.calendar.is_trading_day(d)]

    def step_times(self, day: date) -> list[datetime]:
        t, close = self.calendar.session_open(day), self.calendar.session_close(day)
        times = []
        while t is not None and close is not None and t + self.step <= close:
            t = t + self.step
            times.append(t)
        return times

    def snapshot_at(self, t: datetime) -> MarketSnapshot:
        return self.source.snapshot_at(t)


def _progress(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    if args.quiet or not sys.stderr.isatty():
        return lambda days: _plain_progress(days)
    from tqdm import tqdm

    return lambda days: tqdm(days, desc="backtest", unit="day", file=sys.stderr)


def _plain_progress(days):  # type: ignore[no-untyped-def]
    """Non-interactive progress: one line per month, so CI logs and pipes still show movement."""
    month = None
    for day in days:
        if day.month != month:
            month = day.month
            print(f"backtest: {day:%Y-%m}", file=sys.stderr, flush=True)
        yield day
