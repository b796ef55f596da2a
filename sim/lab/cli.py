"""``python -m sim lab ...``: robustness studies of the trading system on Ray.

    lab montecarlo --paths N [--years Y]                 N synthetic paths of the same settings
    lab sweep --grid NAME=V1,V2 [--grid ...] --paths N   every grid point on the same N paths
    lab walkforward --train 12m --test 3m --grid ...     rolling in-sample choice, out-of-sample test
    lab report FOLDER                                    rebuild a study's HTML report and CSV

Every study takes the backtest's --config/--set/--start/--end, runs on a local Ray cluster (or
joins one with --address), writes one result file per task into --out and resumes from it.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from core.settings import Settings, SettingsError
from sim.lab.spec import MARKETS, Task, add_period, parse_grid, parse_period

_DESCRIPTION = """Robustness studies: many backtests of the trading system on a Ray cluster.

  lab montecarlo --paths N [--years Y]                 N synthetic paths of the same settings
  lab sweep --grid NAME=V1,V2 [--grid ...] --paths N   every grid point on the same N paths
  lab walkforward --train 12m --test 3m --grid ...     rolling in-sample choice, out-of-sample test
  lab report FOLDER                                    rebuild a study's HTML report and CSV

One result file per backtest in --out; the same command again resumes.  See docs/LAB.md."""


def add_parser(sub: Any) -> None:
    """Register ``lab`` and its subcommands on the ``python -m sim`` parser."""
    lab = sub.add_parser("lab", help="robustness studies on Ray: Monte Carlo, sweeps, walk-forward", description=_DESCRIPTION,
                         formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    studies = lab.add_subparsers(dest="study", required=True, metavar="STUDY", help="what to run")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default=None, metavar="FILE", help="LEAN config.json whose parameters "
                        "to use (default: ./config.json if there is one, else the rulebook defaults)")  # fmt: skip
    common.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="override one config parameter for every task (repeatable)")  # fmt: skip
    common.add_argument("--start", help="first day YYYY-MM-DD (default: config start_date)")
    common.add_argument("--end", help="last day YYYY-MM-DD (default: config end_date)")
    common.add_argument("--market", choices=MARKETS, default="synthetic", help="market of every task")
    common.add_argument("--step-minutes", default="5", metavar="N", help="minutes between engine steps")
    common.add_argument("--out", help="study folder (default reports/lab/STUDY); a re-run resumes it")
    common.add_argument("--address", help="join this Ray cluster (e.g. auto, ray://head:10001)")
    common.add_argument("--workers", type=int, help="CPUs of the local cluster (default: all)")
    common.add_argument("--retries", type=int, default=3, help="re-runs of a task whose worker died")
    common.add_argument("--quiet", action="store_true", help="no progress output")
    paths = argparse.ArgumentParser(add_help=False)
    paths.add_argument("--paths", type=int, required=True, help="synthetic paths (seeds) per setting")
    paths.add_argument("--first-seed", type=int, default=1, help="seed of the first path")
    paths.add_argument("--years", type=float, help="window length from --start (instead of --end)")
    grid = argparse.ArgumentParser(add_help=False)
    grid.add_argument("--grid", action="append", default=[], required=True, metavar="NAME=V1,V2,...",
                      help="values of one parameter (repeatable; ';' separates list values)")  # fmt: skip
    studies.add_parser("montecarlo", parents=[common, paths], help="N paths of the same settings")
    studies.add_parser("sweep", parents=[common, paths, grid], help="every grid point on the same paths")
    wf = studies.add_parser("walkforward", parents=[common, grid], help="rolling in/out-of-sample folds")
    wf.add_argument("--train", required=True, help="in-sample length, e.g. 12m")
    wf.add_argument("--test", required=True, help="out-of-sample length and step, e.g. 3m")
    wf.add_argument("--metric", default="sharpe", help="in-sample choice: sharpe (default), sortino, "
                    "calmar, total_return, annual_return, max_drawdown, worst_day")  # fmt: skip
    wf.add_argument("--seed", default="7", metavar="N", help="synthetic market seed (all folds)")
    report = studies.add_parser("report", help="rebuild the HTML report and CSV of a study folder")
    report.add_argument("folder", help="study folder")


def main(args: argparse.Namespace) -> int:
    if args.study == "report":
        return _report(Path(args.folder))
    from sim.cli_config import UsageError
    from sim.lab.runner import LabUnavailable

    try:
        study = _study(args)
    except (SettingsError, UsageError) as exc:
        problems = exc.problems
        print(
            "error: " + (problems[0] if len(problems) == 1 else "\n  - ".join(["", *problems])),
            file=sys.stderr,
        )
        return 2
    out = Path(args.out or f"reports/lab/{args.study}")
    began = time.perf_counter()
    try:
        failures = study.run(out, args)
    except LabUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"interrupted: finished tasks are saved in {out}; the same command continues", file=sys.stderr)
        return 130
    wall = time.perf_counter() - began
    code = _report(out)
    print(f"wall time {wall:.1f} s")
    return 1 if failures or code else 0


def _report(folder: Path) -> int:
    from analysis.lab_report import summary_text, write_lab_report

    try:
        paths = write_lab_report(folder)
    except (OSError, ValueError) as exc:
        print(f"error: cannot report {folder}: {exc}", file=sys.stderr)
        return 2
    print(summary_text(folder))
    print("\nreport: " + ", ".join(str(p) for p in paths))
    return 0


def _study(args: argparse.Namespace) -> Any:
    from sim.cli_config import backtest_inputs
    from sim.lab.study import Study, WalkForwardStudy
    from sim.lab.task import backtest_args
    from sim.lab.walkforward import METRICS, WalkForward, folds

    _years_to_end(args)
    inputs = backtest_inputs(_as_backtest(args))  # config.json, --set, window, step, seed: as the backtest
    base, step = inputs.settings, inputs.step_minutes
    start, end = date.fromisoformat(base.start_date), date.fromisoformat(base.end_date)
    if args.study == "walkforward":
        if args.metric not in METRICS:
            raise SettingsError([f"--metric {args.metric!r}: choose one of {', '.join(METRICS)}"])
        plan = folds(start, end, parse_period(args.train, "--train"), parse_period(args.test, "--test"))
        wf = WalkForward(base, plan, parse_grid(args.grid), args.metric, inputs.seed, args.market, step)
        study: Any = WalkForwardStudy(wf, _header(args, base, start, end))
    else:
        tasks = _path_tasks(args, base, start, end, step)
        study = Study(args.study, tasks, _header(args, base, start, end))
    backtest_args(study.first_spec())  # the backtest command accepts this market, or say so now
    return study


def _as_backtest(args: argparse.Namespace) -> argparse.Namespace:
    """The lab's options as the backtest command's, for its own checks."""
    return argparse.Namespace(config=args.config, set=args.set, start=args.start, end=args.end, faults="",
                              vix=None, step_minutes=args.step_minutes, seed=getattr(args, "seed", "7"),
                              alerts=False)  # fmt: skip


def _path_tasks(args: argparse.Namespace, base: Settings, start: date, end: date, step: int) -> list[Task]:
    from sim.lab.studies import montecarlo_tasks, sweep_tasks

    if args.paths < 1:
        raise SettingsError([f"--paths {args.paths}: need at least 1"])
    if not 0 <= args.first_seed <= 2**32 - args.paths:
        raise SettingsError([f"--first-seed {args.first_seed}: seeds must stay in 0..{2**32 - 1}"])
    if args.market != "synthetic" and (args.study == "montecarlo" or args.paths > 1):
        raise SettingsError([f"--market {args.market} is one path: Monte Carlo paths need the synthetic "
                             "market (a sweep or walk-forward runs on it with --paths 1)"])  # fmt: skip
    common = {"first_seed": args.first_seed, "market": args.market, "step_minutes": step}
    if args.study == "sweep":
        return sweep_tasks(base, start, end, parse_grid(args.grid), args.paths, **common)
    return montecarlo_tasks(base, start, end, args.paths, **common)


def _header(args: argparse.Namespace, base: Settings, start: date, end: date) -> dict[str, Any]:
    header = {"kind": args.study, "window": [start.isoformat(), end.isoformat()], "market": args.market,
              "grid": parse_grid(args.grid) if args.study != "montecarlo" else {},
              "starting_cash": base.starting_cash, "overrides": list(args.set)}  # fmt: skip
    if args.study != "walkforward":
        header.update(paths=args.paths, first_seed=args.first_seed)
    return header


def _years_to_end(args: argparse.Namespace) -> None:
    """``--years Y`` sets ``--end`` to Y years (whole months) after the start, less a day."""
    from sim.cli_config import settings_from

    years = getattr(args, "years", None)
    if years is None:
        return
    months = years * 12
    if args.end or years <= 0 or abs(months - round(months)) > 1e-9:
        raise SettingsError([f"--years {years}: a positive whole number of months, and no --end with it"])
    first = args.start or settings_from(args.config, {}, {})[0].start_date
    try:
        start = date.fromisoformat(first)
    except ValueError:
        raise SettingsError([f"--start {first!r}: expected YYYY-MM-DD"]) from None
    args.end = (add_period(start, (round(months), "m")) - timedelta(days=1)).isoformat()
