"""The one policy for state that cannot be trusted: keep the evidence, fail closed, alert, wait for
the operator.

Whatever went wrong - a corrupt, truncated, tampered, mistyped or foreign-version document, an
engine that does not match the saved state, an order sent before a crash that cannot be confirmed -
the same four things happen: the bad bytes are copied to ``<prefix>/quarantine/`` before anything
is overwritten, new entries are paused (the ``persistence:safe_mode`` reason), a critical alert
says what was found and what to do, and the incident is saved with the state so a restart does not
quietly clear it.  Exits keep running.  The operator acknowledges by saving the incident id at
``<prefix>/operator_ack``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from core.pauses import Pauses
from core.ports import StateStore
from persistence.bookkeeping import Bookkeeping, Incident

OWNER, CODE = "persistence", "safe_mode"
OPERATOR_ACTION = (
    "Compare the evidence with the brokerage account; close or adopt any position the book does not "
    "explain and cancel foreign orders by hand; keep the quarantined state for the post-mortem. "
    "Then acknowledge by saving the incident id under the key {ack} in the state store "
    "(ObjectStore in LEAN, the state folder in the sim) and restart: new entries resume only then."
)


class SafeMode:
    def __init__(
        self,
        store: StateStore,
        prefix: str,
        alert: Callable[[str, str], None],
        note: Callable[[str, dict[str, Any]], None],
    ) -> None:
        self.store = store
        self.prefix = prefix
        self.ack_key = f"{prefix}/operator_ack"
        self._alert = alert
        self._note = note

    def quarantine(self, keys: list[str]) -> list[str]:
        """Copy each stored document of ``keys`` aside, unchanged; the copies' keys."""
        kept = []
        for key in dict.fromkeys(keys):
            raw = self.store.load(key)
            if raw is None:
                continue
            name = key.replace("/", "_")
            for n in range(1, 10_000):
                target = f"{self.prefix}/quarantine/{n:04d}-{name}"
                if self.store.load(target) is None:
                    self.store.save(target, raw)
                    kept.append(target)
                    break
            else:
                raise RuntimeError("quarantine is full: 9999 kept states; clear it after the post-mortem")
        return kept

    def open(
        self,
        books: Bookkeeping,
        pauses: Pauses,
        when: str,
        code: str,
        title: str,
        evidence: Mapping[str, Any],
        detail: str | None = None,
    ) -> None:
        """Fail closed: the incident (the first one stays until acknowledged), the pause, the alert."""
        incident = Incident(f"{code}@{when}", code, title, dict(evidence))
        if books.incident is None:
            books.incident = incident
        self.assert_pause(books, pauses)
        text = detail if detail is not None else json.dumps(evidence, sort_keys=True, default=str)
        action = OPERATOR_ACTION.format(ack=self.ack_key)
        self._alert(f"{title}; new entries paused", f"{text}\nIncident {incident.id}. {action}")

    def check_ack(self, books: Bookkeeping, pauses: Pauses) -> None:
        """At start: an acknowledged incident ends safe mode; an open one is announced again."""
        incident = books.incident
        if incident is None:
            return
        raw = self.store.load(self.ack_key)
        if raw is not None and raw.decode("utf-8", "replace").strip() == incident.id:
            self._note("incident_acknowledged", {"id": incident.id})
            books.incident = None
            pauses.clear(OWNER, CODE)
            return
        self._alert(
            "Safe mode continues; new entries paused",
            f"Open incident {incident.id}: {incident.title}. " + OPERATOR_ACTION.format(ack=self.ack_key),
        )

    @staticmethod
    def assert_pause(books: Bookkeeping, pauses: Pauses) -> None:
        if books.incident is not None:
            pauses.add(OWNER, CODE, f"safe mode: {books.incident.code} (incident {books.incident.id})")
