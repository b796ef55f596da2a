"""The journal: what happened since the last snapshot, written before it is acted on.

Entries are ``commit`` (a stable point: the state delta since the previous commit) or ``act``
(an order about to be sent or cancelled; written *before* the engine is called, so after a crash
the system knows what may have reached the broker).  The journal is one document, rewritten
atomically on every append; compaction (a new snapshot, then an empty journal of the next epoch)
keeps it small.
"""

from __future__ import annotations

import itertools
from typing import Any

from core.ports import StateStore
from persistence.codec import StateError, decode, encode
from persistence.schema import SCHEMA_VERSION

KIND = "journal"


def parse(raw: bytes, key: str) -> tuple[int, list[dict[str, Any]]]:
    """(epoch, entries) of a stored journal; ``StateError`` if it is bad in any way."""
    _, body = decode(raw, KIND, SCHEMA_VERSION, key)
    if not isinstance(body, dict) or not isinstance(body.get("epoch"), int):
        raise StateError("corrupt", "journal without an epoch", key)
    entries = body.get("entries")
    if not isinstance(entries, list) or not all(
        isinstance(e, dict) and isinstance(e.get("seq"), int) and e.get("type") in ("commit", "act")
        for e in entries
    ):
        raise StateError("corrupt", "journal entries malformed", key)
    for before, after in itertools.pairwise(entries):
        if after["seq"] != before["seq"] + 1:
            raise StateError("corrupt", f"journal jumps from {before['seq']} to {after['seq']}", key)
    return body["epoch"], entries


class Journal:
    def __init__(self, store: StateStore, key: str) -> None:
        self.store = store
        self.key = key
        self.epoch = 0
        self.entries: list[dict[str, Any]] = []
        self.next_seq = 1
        self.bytes = 0

    def resume(self, epoch: int, entries: list[dict[str, Any]], next_seq: int) -> None:
        """Continue an existing journal (recovery keeps it: its acts may still be in flight)."""
        self.epoch, self.entries, self.next_seq = epoch, list(entries), next_seq

    def start(self, epoch: int, next_seq: int) -> None:
        """A new, empty journal following a snapshot of ``epoch``."""
        self.epoch, self.entries, self.next_seq = epoch, [], next_seq
        self._write()

    def append(self, entry: dict[str, Any]) -> int:
        entry = {**entry, "seq": self.next_seq}
        self.next_seq += 1
        self.entries.append(entry)
        self._write()
        return entry["seq"]

    def _write(self) -> None:
        data = encode(KIND, SCHEMA_VERSION, {"epoch": self.epoch, "entries": self.entries})
        self.bytes = len(data)
        self.store.save(self.key, data)
