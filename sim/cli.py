"""The offline engine's command line: ``backtest`` runs the trading system on a synthetic market
(deterministic by seed), replayed real history (``--market history``) or LEAN-format data and writes
its reports (run.json says which, ``sim.run_info``); ``audit`` checks a backtest's trades against
the rulebook; ``params`` lists every parameter.  Installed as
``tomking`` (``tomking backtest ...``) and runnable as ``python -m sim``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from core.settings import Settings
from sim.cli_config import RunInputs, UsageError, audit_settings, backtest_inputs
from sim.cli_logging import ClockedMarket, SimTimeFilter, run_log
from sim.lab.cli import add_parser as add_lab_parser
from sim.markets.choose import MarketChoice, build_market
from sim.markets.lean_errors import LeanDataError
from sim.report import summary_text, write_reports
from sim.run_info import EventTally, why_nothing_traded, write_run_description

if TYPE_CHECKING:
    from sim.calendar import ExchangeCalendar

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
    from sim.calendar_cache import default_cache_dir

    settings = inputs.settings
    start, end = date.fromisoformat(settings.start_date), date.fromisoformat(settings.end_date)
    calendar = ExchangeCalendar(
        start - timedelta(days=7), end + timedelta(days=800), cache_dir=default_cache_dir()
    )
    try:
        choice = market_choice(args, inputs, calendar)
    except (OSError, ValueError, RuntimeError) as exc:
        return _fail([f"cannot load market data: {exc}"])
    market = ClockedMarket(choice.market)
    sim_time.market = market
    _say(args, f"parameters from {inputs.parameters_from}")
    for line in choice.notes:
        _say(args, line)
    _write_parameters(out / "parameters.json", settings)  # what the auditor checks against
    _write_run_description(out / "run.json", args, inputs, choice)
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
    tally = EventTally()
    try:
        result, wall = run(
            settings, market, calendar, paths_in, identity(settings, inputs.faults, market_id), _progress(args),
            inputs.faults, alerts=inputs.alerts, listeners=(tally,),
        )  # fmt: skip
    except RunRefused as exc:
        return _fail([str(exc)])
    except LeanDataError as exc:  # a bad file met mid-run: one line, the file and the problem
        return _fail([f"cannot read market data: {exc}"])
    write_final(out / "final.json", result)
    outcome = _outcome(result, choice, tally)
    run_file = _write_run_description(out / "run.json", args, inputs, choice, outcome)
    paths = {**write_reports(out, result, wall, html=True), "run": run_file}
    html = paths.pop("html")
    _say(args, summary_text(result, wall))
    for line in outcome.get("why_nothing_traded", []):
        _say(args, f"nothing traded: {line}")
    _say(args, "\nreports: " + ", ".join(str(p) for p in paths.values()))
    _say(args, f"HTML report: {html.resolve()}")
    return 0


def _outcome(result, choice: MarketChoice, tally: EventTally) -> dict:  # type: ignore[no-untyped-def]
    """After the run: how much traded, and why nothing did when nothing did."""
    trades = len(result.recorder.trades)
    outcome = {"closed_trades": trades, "sessions": len(result.equity), "steps": result.steps}
    if trades == 0:
        lean = choice.lean
        outcome["why_nothing_traded"] = why_nothing_traded(
            tally, result.steps, [p.day for p in result.equity],
            None if lean is None else lean.asked_missing, () if lean is None else lean.roots,
        )  # fmt: skip
    return outcome


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
    bt.add_argument(
        "--market", choices=("synthetic", "history"), default="synthetic",
        help="synthetic (default), or history: real SPX, VIX and crude 2014-01-03..2018-12-31 (the 'history' extra)",
    )  # fmt: skip
    bt.add_argument("--data", default="synthetic", metavar="PATH", help="'synthetic' or a LEAN data folder")
    bt.add_argument(
        "--vix", default=None, metavar="LEVEL",
        help="constant VIX for LEAN data runs whose folder has no VIX series (index/usa/*/vix)",
    )  # fmt: skip
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
    "Run the trading system offline and write trades.csv, open_positions.csv, equity.csv, summary.txt, "
    "report.html and run.log to --out.  Parameters come from config.json, then --set, --start and --end; every "
    "problem is reported at once before anything runs."
)
_AUDIT = "Check every trade of a backtest's trades.csv against the rulebook; exit 1 on any violation."


def _write_parameters(path: Path, settings: Settings) -> None:
    import json

    params = settings.as_parameters()
    path.write_text(json.dumps({"parameters": params}, indent=2) + "\n", encoding="utf-8")


def _write_run_description(path: Path, args: argparse.Namespace, inputs: RunInputs, choice: MarketChoice,
                           outcome: dict | None = None) -> Path:  # fmt: skip
    """run.json: what this run was (market source, period, parameters' source, overrides, code
    version; after the run its outcome), read by the reports (analysis/run_info.py) for the top of
    report.html and summary.txt."""
    return write_run_description(path, choice.info, inputs.settings, parameters_from=inputs.parameters_from,
                                 overrides=args.set, faults=args.faults, outcome=outcome)  # fmt: skip


def market_choice(args: argparse.Namespace, inputs: RunInputs, calendar: ExchangeCalendar) -> MarketChoice:
    """The market the arguments name, with what run.json and the console say about it
    (``sim.markets.choose``); the lab's tasks build theirs here too."""
    settings = inputs.settings
    start, end = date.fromisoformat(settings.start_date), date.fromisoformat(settings.end_date)
    data = None if args.data == "synthetic" else args.data
    return build_market(args.market, data, seed=inputs.seed, vix=inputs.vix, step_minutes=inputs.step_minutes,
                        start=start, end=end, calendar=calendar)  # fmt: skip


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
