"""A debug cross-check of the incremental commit (``StateManager(check=True)``, or the environment
variable ``TOMKING_STATE_CHECK=1``): after every commit the state is also encoded from scratch, and
the journaled delta is replayed the way recovery replays it (through JSON).  Commits skip parts
whose change stamp stands still and reuse the plain form of frozen values by identity; a component
that mutates its state without moving its stamp, or a frozen value changed in place, would be
missed silently - here it raises, naming the first path that differs."""

from __future__ import annotations

import json
import os
from typing import Any

from persistence import delta
from persistence.codec import dumps

CHECK_ENV = "TOMKING_STATE_CHECK"


class MissedChange(RuntimeError):
    """The incremental commit does not match the state encoded in full."""


def enabled_by_environment() -> bool:
    return os.environ.get(CHECK_ENV, "") == "1"


def verify(before: Any, ops: list[list[Any]], current: Any, fresh: Any) -> None:
    """``current`` (incremental) must equal ``fresh`` (encoded in full), and ``before`` with ``ops``
    applied after a JSON round trip must give the same bytes as ``fresh``."""
    _same("incremental encoding", current, fresh)
    replayed = delta.apply_in_place(json.loads(dumps(before)), json.loads(dumps(ops)))
    _same("journal replay", replayed, json.loads(dumps(fresh)))


def _same(what: str, got: Any, want: Any) -> None:
    if dumps(got) == dumps(want):
        return
    first = delta.diff(got, want)[:1] or [["?", ["(key order)"]]]
    path = "/".join(str(p) for p in first[0][1]) or "(root)"
    raise MissedChange(f"{what} differs from the full state at {path}: a change was missed")
