"""Run a study's tasks on Ray: one backtest per task in a worker process, results streamed back
as they finish and saved one file each, a progress line or bar, failures reported, not fatal.

Why Ray: ``ray.init()`` starts a cluster on this machine with one worker per core, and
``ray.init(address=...)`` joins an existing cluster, so the same command scales from a laptop to
many machines.  A worker that dies (killed, out of memory, lost machine) has its task retried by
Ray up to ``max_retries`` times; an error inside the backtest is not retried (it would fail the
same way) and is reported with its message, and the other tasks complete either way.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.lab.results import ResultStore
from sim.lab.spec import Task, TaskSpec
from sim.lab.task import run_task

TaskFn = Callable[[TaskSpec], dict[str, Any]]
PROJECT_ROOT = Path(__file__).resolve().parents[2]


class LabUnavailable(RuntimeError):
    """Ray is missing or the cluster cannot be reached."""


@dataclass
class Outcome:
    results: dict[str, dict[str, Any]] = field(default_factory=dict)  # task id -> result
    failures: dict[str, str] = field(default_factory=dict)  # task id -> error
    skipped: int = 0  # already done in the folder


@contextmanager
def ray_cluster(address: str | None = None, workers: int | None = None) -> Iterator[None]:
    """A local cluster (``workers`` CPUs, default all) or the one at ``address``; one that is already
    initialised in this process (a test's, a notebook's) is used as it is and left running."""
    try:
        import ray
    except ImportError:
        raise LabUnavailable("ray is not installed: pip install 'tomking-lean[lab]'") from None
    if ray.is_initialized():
        yield
        return
    try:
        if address:  # workers elsewhere get this project's code; their Python needs its packages
            excludes = [".git", ".venv", ".venv-lean", "reports", "__pycache__", ".*_cache", "*.egg-info"]
            env = {"working_dir": str(PROJECT_ROOT), "excludes": excludes}
            ray.init(address=address, runtime_env=env, logging_level=logging.WARNING)
        else:  # Ray adds 15 to its workers' niceness; here they are the work: the driver's priority
            os.environ.setdefault("RAY_worker_niceness", "0")
            ray.init(num_cpus=workers, include_dashboard=False, logging_level=logging.WARNING)
    except (ConnectionError, ValueError, RuntimeError) as exc:
        raise LabUnavailable(f"cannot start or reach the Ray cluster: {exc}") from None
    try:
        yield
    finally:
        ray.shutdown()


def execute(task_fn: TaskFn, spec: dict[str, Any]) -> dict[str, Any]:
    """Worker side: the task's result, or its error as data (an exception would cost Ray a retry)."""
    quiet_logging()
    try:
        return {"result": task_fn(TaskSpec.from_json(spec))}
    except Exception as exc:
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return {"error": f"{type(exc).__name__}: {exc} (at {Path(where.filename).name}:{where.lineno})"}


def quiet_logging() -> None:
    """Silence the trading system's log in this process: its alerts (a backtest writes them to
    run.log) would reach the driver's terminal from every worker, once per breaker trip of every
    path; what a study needs of them is counted in each result.  Ray's own loggers keep their
    levels, and a task's failure comes back as its error."""
    logging.getLogger().setLevel(logging.CRITICAL + 1)


def run_tasks(
    tasks: Sequence[Task],
    store: ResultStore,
    task_fn: TaskFn = run_task,
    max_retries: int = 3,
    progress: bool = True,
    desc: str = "lab",
) -> Outcome:
    """Run the tasks not already done in ``store`` on the current Ray cluster (see ``ray_cluster``)."""
    import ray
    from ray.exceptions import RayError

    outcome, todo = Outcome(), []
    for task in _unique(tasks):
        done = store.done(task)
        if done is None:
            todo.append(task)
        else:
            outcome.results[task.id] = done
            outcome.skipped += 1
    bar = _Progress(len(outcome.results) + len(todo), outcome.skipped, desc, progress)
    remote = ray.remote(num_cpus=1, max_retries=max_retries)(execute)
    pending = {remote.remote(task_fn, task.spec.as_json()): task for task in todo}
    try:
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            task = pending.pop(ready[0])
            try:
                reply: dict[str, Any] = ray.get(ready[0])
            except RayError as exc:  # the worker died on every attempt, or the cluster went away
                reply = {
                    "error": f"{type(exc).__name__} after {max_retries + 1} attempts: {_first_line(exc)}"
                }
            if "result" in reply:
                store.save(task, reply["result"])
                outcome.results[task.id] = reply["result"]
            else:
                store.fail(task, str(reply["error"]))
                outcome.failures[task.id] = str(reply["error"])
                bar.note(f"task {task.id} failed: {reply['error']}")
            bar.advance(len(outcome.failures))
    finally:
        for ref in pending:  # interrupted: finished tasks are saved, a re-run does the rest
            ray.cancel(ref, force=True)
        bar.close()
    return outcome


def _unique(tasks: Sequence[Task]) -> list[Task]:
    seen: dict[str, Task] = {}
    for task in tasks:
        seen.setdefault(task.id, task)
    return list(seen.values())


def _first_line(exc: BaseException) -> str:
    lines = [s.strip() for s in str(exc).splitlines() if s.strip()]
    return lines[0][:300] if lines else type(exc).__name__


class _Progress:
    """A tqdm bar on a terminal; otherwise one line per finished task (CI logs, pipes)."""

    def __init__(self, total: int, initial: int, desc: str, enabled: bool) -> None:
        self.total, self.count, self.desc, self.enabled = total, initial, desc, enabled
        self.bar: Any = None
        if enabled and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=initial, desc=desc, unit="backtest", file=sys.stderr)
        elif enabled and initial:
            print(f"{desc}: {initial}/{total} already done, skipped", file=sys.stderr, flush=True)

    def note(self, text: str) -> None:
        if self.bar is not None:
            self.bar.write(text, file=sys.stderr)
        elif self.enabled:
            print(f"{self.desc}: {text}", file=sys.stderr, flush=True)

    def advance(self, failed: int) -> None:
        self.count += 1
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(failed=failed, refresh=False)
        elif self.enabled:
            print(
                f"{self.desc}: {self.count}/{self.total} done, {failed} failed", file=sys.stderr, flush=True
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
