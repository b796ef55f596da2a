"""The lab report reads a study folder and shows what a trader decides on: percentiles of the
distributions, the probability of each breaker tripping, a sweep's cells per parameter pair, the
walk-forward folds with their degradation ratio and the stitched out-of-sample curve."""

from __future__ import annotations

import csv
import json
import re
from datetime import date
from pathlib import Path

import pytest

from analysis.lab_data import (
    degradation,
    fold_rows,
    heat_maps,
    load_study,
    percentiles,
    stitched_out_of_sample,
)
from analysis.lab_report import summary_text, write_lab_report
from sim.lab.results import ResultStore


def _result(ret: float, sharpe: float | None = 1.0, trips: dict | None = None, pnl: dict | None = None,
            equity: list | None = None) -> dict:  # fmt: skip
    return {"total_return": ret, "max_drawdown": min(0.0, ret) - 0.01, "sharpe": sharpe, "worst_day": -0.005,
            "worst_day_date": "2025-01-03", "start_value": 200_000.0, "end_value": 200_000 * (1 + ret),
            "breaker_trips": trips or {}, "strategy_pnl": pnl or {}, "forced_exits": 0, "trades": 3,
            "equity": equity or [], "trades_sha256": "ab" * 32}  # fmt: skip


def _write(folder: Path, doc: dict, results: dict[str, dict], errors: dict[str, str]) -> None:
    folder.mkdir(parents=True)
    (folder / "study.json").write_text(json.dumps(doc))
    for entry in doc["tasks"]:
        if entry["id"] in results:
            body = {"id": entry["id"], "tags": entry["tags"], "spec": {}, "result": results[entry["id"]]}
            (folder / "tasks").mkdir(exist_ok=True)
            (folder / "tasks" / f"{entry['id']}.json").write_text(json.dumps(body))
    for task_id, error in errors.items():
        (folder / "failed").mkdir(exist_ok=True)
        (folder / "failed" / f"{task_id}.json").write_text(json.dumps({"id": task_id, "error": error}))


@pytest.fixture
def sweep(tmp_path):
    grid = {"a": ["1", "2"], "b": ["x", "y"]}
    tasks, results = [], {}
    returns = {("1", "x"): [0.01, 0.02, 0.03], ("2", "x"): [0.04, 0.05, 0.06], ("1", "y"): [-0.01, 0.0, 0.01],
               ("2", "y"): [0.1, 0.2, 0.3]}  # fmt: skip
    point = 0
    for b in grid["b"]:
        for a in grid["a"]:
            point += 1
            for path, ret in enumerate(returns[(a, b)], start=1):
                task_id = f"p{point:03d}-path{path:04d}-h"
                tasks.append(
                    {"id": task_id, "tags": {"point": point, "params": {"a": a, "b": b}, "path": path}}
                )
                trips = {"loss_daily": 1} if (a, b, path) == ("1", "y", 1) else {}
                results[task_id] = _result(ret, trips=trips, pnl={"strangle": 100.0 * path})
    tasks.append({"id": "p004-path0004-h", "tags": {"point": 4, "params": {"a": "2", "b": "y"}, "path": 4}})
    doc = {"kind": "sweep", "grid": grid, "tasks": tasks, "breaker_rules": ["loss_daily", "loss_weekly"],
           "starting_cash": 200_000.0, "market": "synthetic", "paths": 4, "first_seed": 1}  # fmt: skip
    _write(tmp_path / "sweep", doc, results, {"p004-path0004-h": "WorkerCrashedError after 4 attempts: boom"})
    return tmp_path / "sweep"


@pytest.mark.slow  # renders the sweep report's charts (matplotlib)
def test_a_sweep_report_has_every_task_percentiles_breakers_and_the_pair_heat_map(sweep):
    html_path, csv_path = write_lab_report(sweep)
    with csv_path.open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 13, "one row per task, the unfinished one included"
    failed = [r for r in rows if r["status"] == "failed"]
    assert len(failed) == 1 and "WorkerCrashedError" in failed[0]["error"] and failed[0]["total_return"] == ""
    assert {r["pnl_strangle"] for r in rows if r["status"] == "done"} == {"100.0", "200.0", "300.0"}
    study = load_study(sweep)
    [median] = heat_maps(study, "total_return", 50)
    assert (median.x, median.y) == ("a", "b")
    assert median.cells == [
        [pytest.approx(0.02), pytest.approx(0.05)],
        [pytest.approx(0.0), pytest.approx(0.2)],
    ]
    [p5] = heat_maps(study, "total_return", 5)
    assert p5.cells[1][0] == pytest.approx(-0.009)  # linear percentile of -1%, 0%, +1%
    page = html_path.read_text()
    assert "Tasks that did not finish" in page and "WorkerCrashedError" in page
    assert _cell(page, "8.33%"), "loss_daily tripped in 1 of 12 finished tasks"
    assert _cell(page, "0.00%"), "a known rule that never tripped is shown at 0%"
    assert "p004-path0004-h" in summary_text(sweep)


def test_percentiles_are_the_5_25_50_75_95_linear_ones():
    assert percentiles([0.0, 10.0]) == {5: 0.5, 25: 2.5, 50: 5.0, 75: 7.5, 95: 9.5}
    assert percentiles([]) == {}


def _cell(page: str, shown: str) -> bool:
    return re.search(rf"<td[^>]*>{re.escape(shown)}</td>", page) is not None


def _equity(days: list[str], values: list[float]) -> list:
    return [[d, v] for d, v in zip(days, values, strict=True)]


@pytest.mark.slow  # renders the walk-forward report's charts (matplotlib)
def test_walk_forward_folds_degradation_and_the_stitched_out_of_sample_curve(tmp_path):
    folds = [
        {"fold": 1, "train": ["2025-01-01", "2025-01-31"], "test": ["2025-02-01", "2025-02-14"], "params": {"a": "1"},
         "in_sample_task": "f01-is", "out_of_sample_task": "f01-oos"},
        {"fold": 2, "train": ["2025-01-15", "2025-02-14"], "test": ["2025-02-15", "2025-02-28"], "params": {"a": "2"},
         "in_sample_task": "f02-is", "out_of_sample_task": "f02-oos"},
    ]  # fmt: skip
    tasks = [{"id": i, "tags": {"fold": int(i[2]), "phase": "in_sample" if "is" in i[4:] else "out_of_sample",
                                "point": int(i[2]), "params": {"a": i[2]}}}
             for i in ("f01-is", "f01-oos", "f02-is", "f02-oos")]  # fmt: skip
    results = {
        "f01-is": _result(0.05, sharpe=2.0), "f02-is": _result(0.04, sharpe=1.0),
        "f01-oos": _result(0.10, sharpe=1.0, equity=_equity(["2025-02-03", "2025-02-14"], [210_000, 220_000])),
        "f02-oos": _result(-0.05, sharpe=-0.5, equity=_equity(["2025-02-18", "2025-02-28"], [195_000, 190_000])),
    }  # fmt: skip
    doc = {
        "kind": "walkforward",
        "metric": "sharpe",
        "folds": folds,
        "tasks": tasks,
        "starting_cash": 200_000.0,
    }
    _write(tmp_path / "wf", doc, results, {})
    rows = fold_rows(load_study(tmp_path / "wf"))
    assert [r.ratio("sharpe") for r in rows] == [0.5, -0.5]
    assert degradation(rows, "sharpe") == pytest.approx((1.0 - 0.5) / 2 / ((2.0 + 1.0) / 2))
    curve = stitched_out_of_sample(rows, 200_000.0)
    assert curve == [(date(2025, 2, 3), 210_000.0), (date(2025, 2, 14), 220_000.0),
                     (date(2025, 2, 18), 214_500.0), (date(2025, 2, 28), 209_000.0)]  # fmt: skip
    html_path, _ = write_lab_report(tmp_path / "wf")
    page = html_path.read_text()
    assert "degradation ratio" in page and _cell(page, "0.17")
    assert _cell(page, "+4.50%"), "stitched out-of-sample return 220k x 0.95 / 200k - 1"
    assert "degradation ratio (OOS/IS sharpe): 0.17" in summary_text(tmp_path / "wf")
    assert "In-sample sharpe of every grid point" in page and re.search(r"<th[^>]*>a=2</th>", page)


def test_a_folder_without_a_study_is_a_clear_error(tmp_path):
    ResultStore(tmp_path).write_study({"kind": "sweep"})
    with pytest.raises(ValueError, match="not a lab study"):
        load_study(tmp_path)
