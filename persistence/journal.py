"""The journal: what happened since the last snapshot, written before it is acted on.

Entries are ``commit`` (a stable point: the state delta since the previous commit) or ``act``
(an order about to be sent, cancelled or liquidated; written *before* the engine is called, so
after a crash the system knows what may have reached the broker).  The journal is one document,
rewritten atomically on every append (the state store's only write is a whole key); each entry is
encoded once and appended to the kept body text, whose checksum is a running hash (the header's
sha256 of the whole body costs one hash of the new entry, not of the document), and compaction (a
new snapshot, then an empty journal of the next epoch) keeps the document small.  Entries are
typed (``Entry``): one whose fields have the wrong types is a corrupt journal, never a traceback.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.ports import StateStore
from persistence.codec import StateError, decode, dumps, header_line
from persistence.schema import SCHEMA_VERSION
from persistence.typed import DecodeError, from_plain

KIND = "journal"
ACTS = ("submit", "cancel", "liquidate")


@dataclass(frozen=True)
class Entry:
    seq: int
    type: str  # commit | act
    kind: str  # commit: what made the stable point (step, order_event, ...); act: one of ACTS
    time: str | None = None
    delta: tuple[tuple[Any, ...], ...] = ()  # commit: ``persistence.delta`` operations
    payload: Mapping[str, Any] = field(default_factory=dict)  # act: the order (its tag at least)

    def __post_init__(self) -> None:
        if self.seq < 1:
            raise ValueError(f"sequence {self.seq} is not positive")
        if self.type not in ("commit", "act"):
            raise ValueError(f"entry type {self.type!r} is neither commit nor act")
        if self.type == "act" and (self.kind not in ACTS or not isinstance(self.payload.get("tag"), str)):
            raise ValueError(f"act {self.kind!r} without a known kind and an order tag")
        if self.type == "commit" and any(len(op) < 2 or not isinstance(op[1], list) for op in self.delta):
            raise ValueError("commit delta operations need a name and a path")

    @property
    def tag(self) -> str:
        return str(self.payload.get("tag", ""))

    def ops(self) -> list[list[Any]]:
        return [list(op) for op in self.delta]


def parse(raw: bytes, key: str) -> tuple[int, list[Entry]]:
    """(epoch, entries) of a stored journal; ``StateError`` if it is bad in any way."""
    _, body = decode(raw, KIND, SCHEMA_VERSION, key)
    if not isinstance(body, dict) or set(body) != {"epoch", "entries"}:
        raise StateError("corrupt", "journal is not an epoch and its entries", key)
    epoch, items = body["epoch"], body["entries"]
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0 or not isinstance(items, list):
        raise StateError("invalid_types", "journal epoch or entries of the wrong type", key)
    try:
        entries = [from_plain(Entry, item, f"entries[{i}]") for i, item in enumerate(items)]
    except DecodeError as exc:
        raise StateError("invalid_types", f"journal {exc}", key) from None
    for before, after in itertools.pairwise(entries):
        if after.seq != before.seq + 1:
            raise StateError("corrupt", f"journal jumps from {before.seq} to {after.seq}", key)
    return epoch, entries


class Journal:
    def __init__(self, store: StateStore, key: str) -> None:
        self.store = store
        self.key = key
        self.epoch = 0
        self.entries: list[Entry] = []
        self.next_seq = 1
        self.bytes = 0
        self._body = bytearray(_OPEN)  # the canonical body without its closing epoch tail
        self._hash = hashlib.sha256(_OPEN)  # of ``_body``: extended by each append

    def resume(self, epoch: int, entries: list[Entry], next_seq: int) -> None:
        """Continue an existing journal (recovery keeps it: its acts may still be in flight)."""
        self.epoch, self.next_seq = epoch, next_seq
        self._restart()
        for entry in entries:
            self._add(entry, dumps(_plain(entry)))

    def start(self, epoch: int, next_seq: int) -> None:
        """A new, empty journal following a snapshot of ``epoch``."""
        self.epoch, self.next_seq = epoch, next_seq
        self._restart()
        self._write()

    def append(self, type_: str, kind: str, time: str | None, **body: Any) -> int:
        plain = {"seq": self.next_seq, "type": type_, "kind": kind, "time": time, **body}
        delta = tuple(tuple(op) for op in body.get("delta", ()))
        entry = Entry(self.next_seq, type_, kind, time, delta, body.get("payload", {}))
        self.next_seq += 1
        self._add(entry, dumps(plain))
        self._write()
        return entry.seq

    def _restart(self) -> None:
        self.entries = []
        self._body = bytearray(_OPEN)
        self._hash = hashlib.sha256(_OPEN)

    def _add(self, entry: Entry, text: bytes) -> None:
        piece = b"," + text if self.entries else text
        self.entries.append(entry)
        self._body += piece
        self._hash.update(piece)

    def _write(self) -> None:
        """The canonical document (equal to ``codec.encode`` of the body): the running hash of the
        body so far, finished with the closing tail on a copy."""
        tail = b'],"epoch":%d}' % self.epoch
        digest = self._hash.copy()
        digest.update(tail)
        length = len(self._body) + len(tail)
        data = header_line(KIND, SCHEMA_VERSION, length, digest.hexdigest()) + self._body + tail
        self.bytes = len(data)
        self.store.save(self.key, data)


_OPEN = b'{"entries":['


def _plain(entry: Entry) -> dict[str, Any]:
    out: dict[str, Any] = {"seq": entry.seq, "type": entry.type, "kind": entry.kind, "time": entry.time}
    if entry.delta:
        out["delta"] = entry.ops()
    if entry.payload:
        out["payload"] = dict(entry.payload)
    return out
