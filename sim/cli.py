"""The offline engine's command line: ``backtest`` runs the trading system on a synthetic market
(deterministic by seed) or on LEAN-format data and writes its reports; ``audit`` checks a
backtest's trades against the rulebook; ``params`` lists every parameter.  Installed as
``tomking`` (``tomking backtest ...``) and runnable as ``python -m sim``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

from core.settings import Settings
from core.types import MarketSnapshot
from sim.cli_config import RunInputs, UsageError, audit_settings, backtest_inputs
from sim.cli_logging import ClockedMarket, SimTimeFilter, run_log
from sim.engine import MarketSource
from sim.lab.cli import add_parser as add_lab_parser
from sim.report import summary_text, write_reports

log = logging.getLogger("sim.cli")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "params":
        return _params(args.prefix)
    if args.command == "audit":
        return _audit(args)
    if args.command == "lab":
        from sim.lab.cli import main as lab_main

        return lab_main(args)
    try:
        inputs = backtest_inputs(args)
    except UsageError as exc:
        return _fail(exc.problems)
    from sim.run import RunRefused, prepare_out

    out = Path(args.out)
    try:
        prepare_out(out)
    except RunRefused as exc:
        return _fail([str(exc)])
    sim_time = SimTimeFilter()
    with run_log(out / "run.log", sim_time):
        log.info("parameters from %s", inputs.parameters_from)
        return _backtest(args, inputs, out, sim_time)


def _backtest(args: argparse.Namespace, inputs: RunInputs, out: Path, sim_time: SimTimeFilter) -> int:
    from sim.calendar import ExchangeCalendar

    settings = inputs.settings
    start, end = date.fromisoformat(settings.start_date), date.fromisoformat(settings.end_date)
    calendar = ExchangeCalendar(start - timedelta(days=7), end + timedelta(days=800))
    try:
        market = ClockedMarket(_market(args, inputs, calendar))
    except (OSError, ValueError) as exc:
        return _fail([f"cannot load market data: {exc}"])
    sim_time.market = market
    _say(args, f"parameters from {inputs.parameters_from}")
    _write_parameters(out / "parameters.json", settings)  # what the auditor checks against
    _write_run_description(out / "run.json", args, inputs)
    from sim.run import RunPaths, RunRefused, identity, run, write_final

    # crash-safe with --state-dir: persist everything and resume from the folder if it has state
    paths_in = RunPaths(out, Path(args.state_dir) if args.state_dir else None)
    market_id = {
        "data": args.data,
        "seed": str(inputs.seed),
        "vix": str(inputs.vix),
        "step_minutes": str(inputs.step_minutes),
    }
    log.info("alerts to TOMKING_ALERT_URLS: %s", "on" if inputs.alerts else "off (--alerts to send)")
    try:
        result, wall = run(
            settings, market, calendar, paths_in, identity(settings, inputs.faults, market_id), _progress(args),
            inputs.faults, alerts=inputs.alerts,
        )  # fmt: skip
    except RunRefused as exc:
        return _fail([str(exc)])
    write_final(out / "final.json", result)
    paths = write_reports(out, result, wall)
    html = _html_report(out, settings)
    _say(args, summary_text(result, wall))
    _say(args, "\nreports: " + ", ".join(str(p) for p in paths.values()))
    _say(args, f"HTML report: {html.resolve()}")
    return 0


def _audit(args: argparse.Namespace) -> int:
    from analysis.audit import main as audit_main

    trades = Path(args.trades)
    try:
        settings, rules_from = audit_settings(args.config, trades)
    except UsageError as exc:
        return _fail(exc.problems)
    return audit_main(trades, settings, rules_from)


def _params(prefix: str) -> int:
    from sim.cli_params import params_text

    text = params_text(prefix)
    if not text:
        return _fail([f"params: no parameter name starts with {prefix!r}"])
    print(text)
    return 0


def _fail(problems: list[str]) -> int:
    if len(problems) == 1:
        print(f"error: {problems[0]}", file=sys.stderr)
    else:
        print(f"error: {len(problems)} problems:\n  - " + "\n  - ".join(problems), file=sys.stderr)
    return 2


def _say(args: argparse.Namespace, text: str) -> None:
    if not args.quiet:
        print(text)


def _html_report(out: Path, settings: Settings) -> Path:
    from analysis.html_report import write_html_report

    return write_html_report(out, settings)


def build_parser() -> argparse.ArgumentParser:
    prog = "tomking" if Path(sys.argv[0]).name == "tomking" else "python -m sim"
    parser = argparse.ArgumentParser(prog=prog, description=_DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    bt = sub.add_parser("backtest", help="run a backtest and write its reports", description=_BACKTEST)
    bt.add_argument(
        "--config", default=None, metavar="FILE",
        help="LEAN config.json whose parameters to use (default: ./config.json if there is one, "
        "else the rulebook defaults)",
    )  # fmt: skip
    bt.add_argument("--start", metavar="YYYY-MM-DD", help="first day (default: the config's start_date)")
    bt.add_argument("--end", metavar="YYYY-MM-DD", help="last day (default: the config's end_date)")
    bt.add_argument("--seed", default="7", metavar="N", help="synthetic market seed (default: 7)")
    bt.add_argument("--data", default="synthetic", metavar="PATH", help="'synthetic' or a LEAN data folder")
    bt.add_argument(
        "--vix", default=None, metavar="LEVEL", help="constant VIX for LEAN data runs (LEAN data has no VIX)"
    )
    bt.add_argument(
        "--step-minutes", default="5", metavar="N", help="minutes between engine steps, 1..390 (default: 5)"
    )
    bt.add_argument("--out", default="reports", metavar="DIR", help="output folder (default: reports)")
    bt.add_argument(
        "--quiet", action="store_true",
        help="print nothing but errors (no progress, no summary); every report is still written",
    )  # fmt: skip
    bt.add_argument(
        "--state-dir", default="", metavar="DIR",
        help="persist to and resume from this folder (a kill-safe run; keep it outside --out)",
    )  # fmt: skip
    bt.add_argument(
        "--faults", default="", metavar="NAME=RATE,...",
        help="inject broker faults, e.g. partial=0.2,reject=0.05,drop=0.02,duplicate=0.02,delay=0.05,"
        "cancel_race=0.05,seed=1",
    )  # fmt: skip
    bt.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE",
        help="override one config parameter, e.g. --set starting_cash=400000 (repeatable; see 'params')",
    )  # fmt: skip
    bt.add_argument(
        "--alerts", action="store_true",
        help="also send the run's alerts to the apprise URLs in TOMKING_ALERT_URLS, titled "
        "[BACKTEST <simulated time>] (off by default)",
    )  # fmt: skip
    audit = sub.add_parser("audit", help="check a backtest's trades against the rulebook", description=_AUDIT)
    audit.add_argument("trades", nargs="?", default="reports/trades.csv", help="trades.csv of a backtest")
    audit.add_argument(
        "--config", default=None, metavar="FILE",
        help="config.json to check against (default: the parameters.json beside the trades, "
        "else ./config.json, else the rulebook defaults)",
    )  # fmt: skip
    params = sub.add_parser("params", help="list every parameter: default, allowed values, meaning")
    params.add_argument(
        "prefix", nargs="?", default="", help="only parameters starting with this, e.g. lt112"
    )
    add_lab_parser(sub)
    return parser


_DESCRIPTION = (
    "Tom King's options strategies on the offline engine: backtest them, audit a backtest's "
    "trades against the rulebook, list the parameters."
)
_BACKTEST = (
    "Run the trading system offline and write trades.csv, equity.csv, summary.txt, report.html and "
    "run.log to --out.  Parameters come from config.json, then --set, --start and --end; every "
    "problem is reported at once before anything runs."
)
_AUDIT = "Check every trade of a backtest's trades.csv against the rulebook; exit 1 on any violation."


def _write_parameters(path: Path, settings: Settings) -> None:
    import json

    params = settings.as_parameters()
    path.write_text(json.dumps({"parameters": params}, indent=2) + "\n", encoding="utf-8")


def _write_run_description(path: Path, args: argparse.Namespace, inputs: RunInputs) -> None:
    """run.json: what this run was (market source, period, parameters' source, overrides, code
    version), read by the reports (analysis/run_info.py) for the top of report.html and summary.txt."""
    import json

    from analysis.run_info import code_version

    if args.data == "synthetic":
        market = {"source": "synthetic", "seed": inputs.seed, "step_minutes": inputs.step_minutes}
    else:
        market = {"source": "lean_data", "folder": str(Path(args.data).resolve()), "vix": inputs.vix,
                  "step_minutes": inputs.step_minutes}  # fmt: skip
    settings = inputs.settings
    doc = {
        "market": market,
        "period": {"start": settings.start_date, "end": settings.end_date},
        "parameters_from": inputs.parameters_from, "overrides": list(args.set), "faults": args.faults,
        "code_version": code_version(),
    }  # fmt: skip
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")


def _market(args: argparse.Namespace, inputs: RunInputs, calendar) -> MarketSource:  # type: ignore[no-untyped-def]
    settings = inputs.settings
    start, end = date.fromisoformat(settings.start_date), date.fromisoformat(settings.end_date)
    if args.data == "synthetic":
        from sim.markets.synthetic import SyntheticConfig, SyntheticMarket

        config = SyntheticConfig(seed=inputs.seed, start=start, end=end, step_minutes=inputs.step_minutes)
        return SyntheticMarket(config, calendar)
    from sim.markets.lean_data import LeanDataMarket

    return _CalendarSteps(LeanDataMarket(Path(args.data), vix=inputs.vix), calendar, inputs.step_minutes)


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
    if args.quiet:
        return lambda days: days
    if not sys.stderr.isatty():
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
