"""A study run end to end: write what it is to study.json, run its tasks, record the outcome.

study.json is written before any task runs (an interrupted study's folder still says what it
was) and again at the end; the report reads only it and the task files.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from risk.breaker import RULES as BREAKER_RULES
from sim.lab.results import ResultStore
from sim.lab.runner import Outcome, TaskFn, ray_cluster, run_tasks
from sim.lab.spec import Task, TaskSpec
from sim.lab.task import run_task
from sim.lab.walkforward import WalkForward


def _task_list(tasks: Sequence[Task]) -> list[dict[str, Any]]:
    return [{"id": t.id, "tags": dict(t.tags)} for t in tasks]


def _common(header: Mapping[str, Any], tasks: Sequence[Task]) -> dict[str, Any]:
    return {**header, "breaker_rules": sorted(BREAKER_RULES), "tasks": _task_list(tasks)}


class Study:
    """Monte Carlo or sweep: a fixed list of independent tasks."""

    def __init__(self, kind: str, tasks: list[Task], header: Mapping[str, Any]) -> None:
        self.kind, self.tasks, self.header = kind, tasks, header

    def first_spec(self) -> TaskSpec:
        return self.tasks[0].spec

    def run(self, out: Path, args: argparse.Namespace, task_fn: TaskFn = run_task) -> int:
        store = ResultStore(out)
        doc = _common(self.header, self.tasks)
        store.write_study({**doc, "status": "running"})
        with ray_cluster(args.address, args.workers):
            outcome = run_tasks(self.tasks, store, task_fn, args.retries, not args.quiet, self.kind)
        store.write_study({**doc, "status": "done", **_counts(outcome)})
        return len(outcome.failures)


class WalkForwardStudy:
    """Two rounds: every fold's in-sample grid, then each fold's winner out of sample."""

    def __init__(self, wf: WalkForward, header: Mapping[str, Any]) -> None:
        self.wf = wf
        self.header = {**header, "kind": "walkforward", "seed": wf.seed, "metric": wf.metric,
                       "grid": dict(wf.grid)}  # fmt: skip

    def first_spec(self) -> TaskSpec:
        return self.wf.in_sample_tasks()[0].spec

    def run(self, out: Path, args: argparse.Namespace, task_fn: TaskFn = run_task) -> int:
        store = ResultStore(out)
        in_sample = self.wf.in_sample_tasks()
        folds = [f.as_json() for f in self.wf.folds]
        store.write_study({**_common(self.header, in_sample), "folds": folds, "status": "running"})
        with ray_cluster(args.address, args.workers):
            first = run_tasks(in_sample, store, task_fn, args.retries, not args.quiet, "in-sample")
            out_of_sample, folds = self._choices(first.results)
            second = run_tasks(out_of_sample, store, task_fn, args.retries, not args.quiet, "out-of-sample")
        outcome = Outcome({**first.results, **second.results}, {**first.failures, **second.failures},
                          first.skipped + second.skipped)  # fmt: skip
        doc = _common(self.header, in_sample + out_of_sample)
        store.write_study({**doc, "folds": folds, "status": "done", **_counts(outcome)})
        return len(outcome.failures)

    def _choices(self, results: Mapping[str, dict[str, Any]]) -> tuple[list[Task], list[dict[str, Any]]]:
        tasks, docs = [], []
        for fold in self.wf.folds:
            doc = fold.as_json()
            winner = self.wf.choose(fold, results)
            if winner is None:
                doc["error"] = "no in-sample run of this fold finished: nothing to test out of sample"
            else:
                task = self.wf.out_of_sample_task(fold, winner)
                tasks.append(task)
                doc.update(point=winner.tags["point"], params=dict(winner.tags["params"]),
                           in_sample_task=winner.id, out_of_sample_task=task.id)  # fmt: skip
            docs.append(doc)
        return tasks, docs


def _counts(outcome: Outcome) -> dict[str, int]:
    return {"finished": len(outcome.results), "failed": len(outcome.failures), "skipped": outcome.skipped}
