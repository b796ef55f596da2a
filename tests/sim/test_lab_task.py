"""The lab's building blocks without Ray: a task is the backtest command run alone, grids and
folds mean what the docs say, bad input stops before any worker starts, and the study folder
never trusts a result that is not exactly the task's."""

from __future__ import annotations

import argparse
import csv
import hashlib
import itertools
import json
import logging
from datetime import date, datetime
from pathlib import Path

import pytest

from core.settings import Settings, SettingsError
from risk.events import Action, RiskEvent, RiskLog
from sim.cli import build_parser, main
from sim.engine import EquityPoint, RunResult
from sim.lab.results import ResultStore
from sim.lab.runner import quiet_logging
from sim.lab.spec import Task, add_period, grid_points, make_spec, parse_grid, parse_period
from sim.lab.summary import RiskCounts, summarize
from sim.lab.task import run_task
from sim.lab.walkforward import WalkForward, folds
from sim.recorder import RunRecorder

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config.json"


@pytest.mark.slow
def test_a_task_equals_the_backtest_command_run_alone(tmp_path):
    code = main(["backtest", "--quiet", "--config", str(CONFIG), "--out", str(tmp_path), "--seed", "3",
                 "--start", "2025-01-02", "--end", "2025-01-31", "--set", "strangle_profit_target=0.6"])  # fmt: skip
    assert code == 0
    base = Settings.from_config_file(CONFIG)
    spec = make_spec(base, date(2025, 1, 2), date(2025, 1, 31), {"strangle_profit_target": "0.6"}, seed=3)
    result = run_task(spec)
    trades = (tmp_path / "trades.csv").read_bytes()
    assert trades.count(b"\n") > 2, "the month should close trades, or the hash compares nothing"
    assert result["trades_sha256"] == hashlib.sha256(trades).hexdigest()
    with (tmp_path / "equity.csv").open() as fh:
        equity = [[row["day"], float(row["net_liquidation"])] for row in csv.DictReader(fh)]
    assert result["equity"] == equity
    assert result["trades"] == trades.count(b"\n") - 1


def test_grid_values_split_on_commas_or_on_semicolons_for_list_parameters():
    grid = parse_grid(
        ["strangle_profit_target=0.4,0.5", "regime_max_bp=0.4,0.5,0.6,0.6,0.6,0.6;0.5,0.6,0.8,0.8,0.8,0.8"]
    )
    assert grid == {"strangle_profit_target": ["0.4", "0.5"],
                    "regime_max_bp": ["0.4,0.5,0.6,0.6,0.6,0.6", "0.5,0.6,0.8,0.8,0.8,0.8"]}  # fmt: skip
    points = grid_points(grid)
    assert len(points) == 4 and points[0] == {
        "strangle_profit_target": "0.4",
        "regime_max_bp": grid["regime_max_bp"][0],
    }
    assert points[1]["strangle_profit_target"] == "0.4", "the first name varies slowest"
    for bad in (["x"], ["x="], ["a=1", "a=2"], ["a=1,1"]):
        with pytest.raises(SettingsError):
            parse_grid(bad)


def test_a_bad_grid_value_names_the_parameter_before_any_task_runs():
    with pytest.raises(
        SettingsError, match=r"strangle_profit_targt: unknown parameter.*strangle_profit_target"
    ):
        make_spec(Settings(), date(2025, 1, 2), date(2025, 2, 28), {"strangle_profit_targt": "0.5"})
    with pytest.raises(SettingsError, match="starting_cash"):
        make_spec(Settings(), date(2025, 1, 2), date(2025, 2, 28), {"starting_cash": "-5"})


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["sweep", "--grid", "no_such_parameter=1,2", "--paths", "2"],
            "no_such_parameter: unknown parameter",
        ),
        (["montecarlo", "--paths", "0"], "--paths 0"),
        (["montecarlo", "--paths", "2", "--first-seed", "-1"], "--first-seed -1"),
        (["montecarlo", "--paths", "2", "--step-minutes", "0"], "--step-minutes"),
        (["montecarlo", "--paths", "2", "--set", "starting_cash=lots"], "starting_cash"),
        (["montecarlo", "--paths", "5", "--market", "history"], "--market history is one path"),
        (
            ["sweep", "--grid", "strangle_profit_target=0.4,0.5", "--paths", "2", "--market", "history"],
            "one path",
        ),
        (["montecarlo", "--paths", "2", "--years", "0.3"], "--years 0.3"),
        (
            ["walkforward", "--grid", "strangle_profit_target=0.4,0.5", "--train", "12x", "--test", "3m"],
            "--train",
        ),
        (
            [
                "walkforward",
                "--grid",
                "strangle_profit_target=0.4",
                "--train",
                "12m",
                "--test",
                "3m",
                "--metric",
                "luck",
            ],
            "--metric 'luck'",
        ),
        (
            [
                "walkforward",
                "--grid",
                "strangle_profit_target=0.4",
                "--train",
                "12m",
                "--test",
                "3m",
                "--start",
                "2025-01-02",
                "--end",
                "2025-06-30",
            ],
            "too short for one fold",
        ),
    ],
)
def test_bad_study_input_is_one_clear_error_and_no_cluster(argv, message, tmp_path, capsys):
    code = main(["lab", *argv, "--config", str(CONFIG), "--out", str(tmp_path / "study")])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "study").exists(), "nothing is written for a study that cannot start"


def test_periods_add_calendar_months_and_clamp_to_the_month_end():
    assert parse_period("12m", "--train") == (12, "m") and parse_period(" 6W ", "x") == (6, "w")
    assert add_period(date(2025, 1, 31), (1, "m")) == date(2025, 2, 28)
    assert add_period(date(2024, 2, 29), (1, "y")) == date(2025, 2, 28)
    assert add_period(date(2025, 1, 2), (3, "m"), times=2) == date(2025, 7, 2)
    assert add_period(date(2025, 1, 2), (2, "w")) == date(2025, 1, 16)
    for bad in ("0m", "m", "12", "3q"):
        with pytest.raises(SettingsError):
            parse_period(bad, "--test")


def test_folds_roll_by_the_test_length_and_their_tests_tile_the_period():
    plan = folds(date(2014, 1, 1), date(2018, 12, 31), parse_period("12m", ""), parse_period("3m", ""))
    assert len(plan) == 16
    assert plan[0].train == (date(2014, 1, 1), date(2014, 12, 31))
    assert plan[0].test == (date(2015, 1, 1), date(2015, 3, 31))
    for a, b in itertools.pairwise(plan):
        assert (b.test[0] - a.test[1]).days == 1, "out-of-sample windows neither overlap nor leave gaps"
        assert b.train[0] == add_period(a.train[0], (3, "m"))
        assert a.train[1] < a.test[0]
    assert plan[-1].test[1] <= date(2018, 12, 31)


def _wf() -> WalkForward:
    plan = folds(date(2025, 1, 2), date(2025, 3, 1), (1, "m"), (2, "w"))
    return WalkForward(Settings(), plan, {"strangle_profit_target": ["0.4", "0.5", "0.6"]})


def test_the_in_sample_winner_is_the_best_metric_and_undefined_ranks_last():
    wf = _wf()
    fold = wf.folds[0]
    tasks = [t for t in wf.in_sample_tasks() if t.tags["fold"] == 1]
    results = {tasks[0].id: {"sharpe": None}, tasks[1].id: {"sharpe": 0.4}, tasks[2].id: {"sharpe": 1.3}}
    assert wf.choose(fold, results) == tasks[2]
    results[tasks[2].id] = {"sharpe": 0.4}
    assert wf.choose(fold, results) == tasks[1], "a tie goes to the earlier grid point"
    assert wf.choose(fold, {tasks[0].id: {"sharpe": None}}) == tasks[0], "all undefined: the only one left"
    assert wf.choose(fold, {}) is None
    oos = wf.out_of_sample_task(fold, tasks[1])
    assert oos.spec.parameters["strangle_profit_target"] == "0.5"
    assert (oos.spec.start, oos.spec.end) == fold.test


def test_a_ruined_account_is_a_result_not_an_error():
    days = [date(2025, 1, 2), date(2025, 1, 3)]
    result = RunResult(
        RunRecorder(), equity=[EquityPoint(days[0], 50_000, 0, 0), EquityPoint(days[1], -20_000, 0, 0)]
    )
    summary = summarize(result, RiskCounts(), 100_000, b"")
    assert summary["total_return"] == pytest.approx(-1.2)
    assert summary["max_drawdown"] == -1.0 and summary["sharpe"] is None
    assert summary["worst_day"] == pytest.approx(-1.4) and summary["worst_day_date"] == "2025-01-03"
    json.dumps(summary, allow_nan=False)


def test_the_folder_trusts_only_a_complete_result_of_exactly_this_task(tmp_path):
    store = ResultStore(tmp_path)
    spec = make_spec(Settings(), date(2025, 1, 2), date(2025, 1, 31), seed=4)
    task = Task(spec, {"path": 1}, "path0001")
    assert store.done(task) is None
    store.fail(task, "boom")
    assert (tmp_path / "failed" / f"{task.id}.json").exists()
    store.save(task, {"total_return": 0.01})
    assert store.done(task) == {"total_return": 0.01}
    assert not (tmp_path / "failed" / f"{task.id}.json").exists(), "a success clears the old failure"
    assert sorted(p.name for p in (tmp_path / "tasks").iterdir()) == [f"{task.id}.json"], "no temp files left"
    other = Task(make_spec(Settings(), date(2025, 1, 2), date(2025, 1, 31), seed=5), {}, "path0001")
    path = tmp_path / "tasks" / f"{task.id}.json"
    doc = json.loads(path.read_text())
    path.write_text(json.dumps({**doc, "spec": other.spec.as_json()}))
    assert store.done(task) is None, "a file holding another spec is not this task's result"
    path.write_text(path.read_text()[:40])
    assert store.done(task) is None, "a torn file is run again, not trusted"
    assert task.id != other.id and task.id.startswith("path0001-")


def test_the_study_file_keeps_the_grid_in_the_order_given(tmp_path):
    path = ResultStore(tmp_path).write_study({"grid": {"z_first": ["1"], "a_second": ["2"]}})
    assert list(json.loads(path.read_text())["grid"]) == ["z_first", "a_second"], (
        "the heat maps' axes follow it"
    )


def test_a_worker_keeps_the_systems_alerts_off_the_studys_terminal():
    root = logging.getLogger()
    level = root.level
    try:
        quiet_logging()
        assert not logging.getLogger("risk.monitors").isEnabledFor(logging.CRITICAL), "no trip line per path"
    finally:
        root.setLevel(level)


def test_every_lab_option_has_plain_help():
    parser = build_parser()
    # argparse has no public way to list its options: its documented Action objects are in _actions
    top = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    lab = top.choices["lab"]
    studies = next(a for a in lab._actions if isinstance(a, argparse._SubParsersAction))
    assert sorted(studies.choices) == ["montecarlo", "report", "sweep", "walkforward"]
    for p in [lab, *studies.choices.values()]:
        assert "`" not in p.format_help()
        for action in p._actions:
            assert action.help, f"{p.prog}: {action.option_strings or action.dest} has no help"


def test_breaker_trips_and_forced_exits_are_counted_from_the_risk_layers_events():
    recorder, counts = RunRecorder(), RiskCounts()
    recorder.subscribe(counts)
    log = RiskLog(recorder)
    when = datetime(2025, 1, 6, 10, 0)
    for rule, action in [("loss_daily", Action.TRIP), ("loss_daily", Action.TRIP), ("greeks_delta", Action.BLOCK_ENTRY),
                         ("expiry_itm", Action.FORCED_EXIT), ("loss_daily", Action.RESET)]:  # fmt: skip
        log.emit(RiskEvent(when, rule, action, "test"))
    result = RunResult(recorder, equity=[EquityPoint(date(2025, 1, 6), 99_000, 0, 0)])
    summary = summarize(result, counts, 100_000, b"")
    assert summary["breaker_trips"] == {"loss_daily": 2} and summary["forced_exits"] == 1
