"""The study folder: one JSON file per finished task, written atomically, so a killed or
interrupted study loses nothing it had finished and a re-run skips exactly those tasks.

    OUT/study.json          what the study is (kind, grid, folds, every task's id and tags)
    OUT/tasks/<id>.json     {"id", "tags", "spec", "result"} of a task that ran to the end
    OUT/failed/<id>.json    {"id", "tags", "spec", "error"} of its last failed attempt

A task file whose spec differs from the task's (a hash collision, a hand edit) or that does not
parse is not trusted: the task runs again and overwrites it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from sim.lab.spec import Task

STUDY_FILE = "study.json"


class ResultStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.tasks = root / "tasks"
        self.failed = root / "failed"

    def done(self, task: Task) -> dict[str, Any] | None:
        """The finished result of ``task`` if the folder has a trustworthy one."""
        try:
            doc = json.loads((self.tasks / f"{task.id}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(doc, dict) or doc.get("spec") != task.spec.as_json():
            return None
        result = doc.get("result")
        return result if isinstance(result, dict) else None

    def save(self, task: Task, result: dict[str, Any]) -> None:
        doc = {"id": task.id, "tags": dict(task.tags), "spec": task.spec.as_json(), "result": result}
        write_json(self.tasks / f"{task.id}.json", doc)
        (self.failed / f"{task.id}.json").unlink(missing_ok=True)

    def fail(self, task: Task, error: str) -> None:
        doc = {"id": task.id, "tags": dict(task.tags), "spec": task.spec.as_json(), "error": error}
        write_json(self.failed / f"{task.id}.json", doc)

    def write_study(self, doc: dict[str, Any]) -> Path:
        path = self.root / STUDY_FILE
        write_json(path, doc)
        return path


def write_json(path: Path, doc: Any) -> None:
    """Temp file, fsync, rename: a reader (or a re-run after a crash) sees the old file or the new
    one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=1, allow_nan=False)  # key order kept: grid order is meaningful
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
