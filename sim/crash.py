"""Chaos injection: SIGKILL this process at the N-th crash point passed.

Crash points mark the instants a real process can die at: inside an order submission or cancel
(before or after the broker took it), inside a state write (temp file written, or renamed), after
an order event was applied but before the engine forgot it, after a step.  ``TOMKING_CHAOS_KILL_AT``
picks the point, optionally counting only points whose name starts with ``TOMKING_CHAOS_KIND``;
``TOMKING_CHAOS_COUNT`` names a file the run writes its point counts to (the chaos harness plans
its kills with them).
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path


def no_crash(point: str) -> None:
    return None


class CrashPoints:
    def __init__(self, kill_at: int = 0, kind: str = "", count_path: str = "") -> None:
        self.kill_at, self.kind, self.passed = kill_at, kind, 0
        self.count_path = count_path
        self.counts: dict[str, int] = {}  # points passed per kind prefix ("submit", "store", ...)
        self.by_step: list[tuple[int, dict[str, int]]] = []  # (world steps, counts) at each day end

    @classmethod
    def from_env(cls) -> CrashPoints | None:
        at = int(os.environ.get("TOMKING_CHAOS_KILL_AT", "0") or 0)
        count_path = os.environ.get("TOMKING_CHAOS_COUNT", "")
        if at <= 0 and not count_path:
            return None
        return cls(at, os.environ.get("TOMKING_CHAOS_KIND", ""), count_path)

    def __call__(self, name: str) -> None:
        prefix = name.split(".", 1)[0]
        self.counts[prefix] = self.counts.get(prefix, 0) + 1
        self.counts[""] = self.counts.get("", 0) + 1
        if self.kind and not name.startswith(self.kind):
            return
        self.passed += 1
        if self.passed == self.kill_at:
            if os.environ.get("TOMKING_CHAOS_DEBUG"):  # where exactly, for replaying a failure
                import traceback

                print(f"chaos kill at {name}:\n{''.join(traceback.format_stack()[-8:-1])}", file=sys.stderr)
                sys.stderr.flush()
            os.kill(os.getpid(), signal.SIGKILL)

    def day_done(self, steps: int) -> None:
        self.by_step.append((steps, dict(self.counts)))

    def write_counts(self) -> None:
        if self.count_path:
            Path(self.count_path).write_text(
                json.dumps({"total": self.counts, "by_step": self.by_step}), "utf-8"
            )
