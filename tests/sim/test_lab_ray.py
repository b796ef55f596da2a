"""The lab on a real local Ray cluster (2 CPUs): each task's result equals the same backtest run
alone, a worker killed mid-study costs nothing (the task is retried, or reported when it keeps
dying, and the others finish), and a re-run resumes from the folder instead of starting over."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import pytest

from core.settings import Settings
from sim.cli import main
from sim.lab.results import ResultStore
from sim.lab.runner import ray_cluster, run_tasks
from sim.lab.spec import TaskSpec
from sim.lab.studies import montecarlo_tasks
from sim.lab.task import run_task

ray = pytest.importorskip("ray", reason="the lab needs ray (pip install 'tomking-lean[lab]')")

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config.json"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster():
    """One local cluster for the module (starting one can take a while on a loaded machine)."""
    if ray.is_initialized():
        ray.shutdown()
    with ray_cluster(workers=2):  # the lab's own local cluster, used by every study below
        yield


def test_workers_run_at_the_priority_of_the_study_not_rays_nice_15(cluster, tmp_path):
    def niceness(_spec: TaskSpec) -> dict:
        return {"nice": os.nice(0)}

    tasks = montecarlo_tasks(Settings(), date(2025, 1, 6), date(2025, 1, 10), 2)
    outcome = run_tasks(tasks, ResultStore(tmp_path), niceness, progress=False)
    assert [r["nice"] for r in outcome.results.values()] == [os.nice(0)] * 2


def _task_docs(folder: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in (folder / "tasks").glob("*.json")}


def _same_as_alone(doc: dict) -> None:
    alone = run_task(TaskSpec.from_json(doc["spec"]))
    assert doc["result"] == alone, f"task {doc['id']} differs from the same backtest run alone"


def test_a_four_path_month_of_monte_carlo_equals_each_path_run_alone(cluster, tmp_path):
    out = tmp_path / "mc"
    argv = ["lab", "montecarlo", "--paths", "4", "--start", "2025-01-02", "--end", "2025-01-31",
            "--config", str(CONFIG), "--out", str(out), "--quiet"]  # fmt: skip
    assert main(argv) == 0
    docs = _task_docs(out)
    assert sorted(d["spec"]["seed"] for d in docs.values()) == [1, 2, 3, 4]
    assert len({d["result"]["trades_sha256"] for d in docs.values()}) == 4, "four paths, four trade logs"
    for doc in docs.values():
        assert doc["spec"]["parameters"]["end_date"] == "2025-01-31"
        _same_as_alone(doc)
    assert (out / "lab_report.html").exists() and (out / "results.csv").read_text().count("\n") == 5


def test_a_two_fold_walk_forward_tests_each_in_sample_winner_out_of_sample(cluster, tmp_path):
    out = tmp_path / "wf"
    argv = ["lab", "walkforward", "--train", "1m", "--test", "2w", "--grid", "strangle_profit_target=0.4,0.6",
            "--start", "2025-01-02", "--end", "2025-03-01", "--config", str(CONFIG), "--out", str(out),
            "--quiet"]  # fmt: skip
    assert main(argv) == 0
    docs = _task_docs(out)
    study = json.loads((out / "study.json").read_text())
    assert [f["test"] for f in study["folds"]] == [["2025-02-02", "2025-02-15"], ["2025-02-16", "2025-03-01"]]
    for fold in study["folds"]:
        tags = [(d, d["tags"]) for d in docs.values()]
        in_sample = [d for d, t in tags if t["fold"] == fold["fold"] and t["phase"] == "in_sample"]
        in_sample.sort(key=lambda d: d["tags"]["point"])  # max() keeps the first of equals: the earlier point
        assert len(in_sample) == 2
        best = max(
            in_sample, key=lambda d: d["result"]["sharpe"] if d["result"]["sharpe"] is not None else -1e9
        )
        assert fold["in_sample_task"] == best["id"]
        oos = docs[fold["out_of_sample_task"]]
        assert (
            oos["spec"]["parameters"]["strangle_profit_target"]
            == best["spec"]["parameters"]["strangle_profit_target"]
        )
        assert [oos["spec"]["parameters"]["start_date"], oos["spec"]["parameters"]["end_date"]] == fold[
            "test"
        ]
    assert len(docs) == 6
    for doc in docs.values():
        _same_as_alone(doc)
    assert "degradation ratio" in (out / "lab_report.html").read_text()


def test_a_killed_worker_loses_nothing_and_a_re_run_resumes(cluster, tmp_path):
    base = Settings.from_config_file(CONFIG)
    tasks = montecarlo_tasks(base, date(2025, 1, 6), date(2025, 1, 10), 4, step_minutes=30)
    died, calls = tmp_path / "died", tmp_path / "calls"
    died.mkdir()

    def flaky(spec: TaskSpec) -> dict:
        """Path 2's worker dies on its first attempt, path 3's on every attempt; path 4 raises."""
        marker = died / f"seed{spec.seed}"
        if spec.seed == 3 or (spec.seed == 2 and not marker.exists()):
            marker.touch()
            os._exit(1)
        with (tmp_path / "calls").open("a") as fh:
            fh.write(f"{spec.seed}\n")
        if spec.seed == 4:
            raise RuntimeError("quote feed broke")
        return run_task(spec)

    store = ResultStore(tmp_path / "study")
    first = run_tasks(tasks, store, flaky, max_retries=1, progress=False)
    assert (died / "seed2").exists() and (died / "seed3").exists(), "both workers really died"
    assert sorted(first.results) == sorted(t.id for t in tasks[:2]), "the retried task finished"
    assert sorted(first.failures) == sorted([tasks[2].id, tasks[3].id])
    assert first.failures[tasks[2].id].startswith("WorkerCrashedError after 2 attempts")
    assert first.failures[tasks[3].id].startswith("RuntimeError: quote feed broke (at test_lab_ray.py:")
    failed = json.loads((tmp_path / "study" / "failed" / f"{tasks[2].id}.json").read_text())
    assert failed["tags"] == {"path": 3, "seed": 3} and failed["error"] == first.failures[tasks[2].id]

    def counted(spec: TaskSpec) -> dict:
        with (tmp_path / "calls").open("a") as fh:
            fh.write(f"{spec.seed}\n")
        return run_task(spec)

    lines = calls.read_text().split()
    assert sorted(lines) == ["1", "2", "4"], "an error inside the backtest is not retried"
    second = run_tasks(tasks, store, counted, progress=False)
    assert second.skipped == 2 and not second.failures
    lines = calls.read_text().split()
    assert sorted(lines[3:]) == ["3", "4"], "the re-run ran only the tasks that had failed"
    assert not list((tmp_path / "study" / "failed").iterdir())
    for doc in _task_docs(tmp_path / "study").values():
        _same_as_alone(doc)
