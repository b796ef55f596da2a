"""Reading the saved state back: the last snapshot plus every commit journaled after it, as plain
JSON parts, with every problem found along the way (the caller applies the one corruption policy).

A journal means nothing without the snapshot it follows: when the snapshot is bad the journal is
kept aside with it and not applied; a journal entry that does not fit the state ends the replay at
the last good commit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from core.ports import StateStore
from persistence import delta
from persistence.codec import StateError, decode
from persistence.journal import Entry, parse
from persistence.schema import LEGACY_BOOK_KEY, SCHEMA_VERSION, migrate

SNAPSHOT_KIND = "snapshot"


@dataclass
class Recovered:
    parts: dict[str, Any] = field(default_factory=dict)  # plain JSON per part, as of the last commit
    seq: int = 0  # last journal sequence folded into ``parts``
    epoch: int = 0
    entries: list[Entry] = field(default_factory=list)  # the journal after the snapshot (kept)
    in_flight: list[Entry] = field(default_factory=list)  # acts after the last commit
    last_time: str = ""  # when the last stable point was reached
    fresh: bool = True  # nothing was saved before (first start)
    problems: list[StateError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def read(store: StateStore, snapshot_key: str, journal_key: str) -> Recovered:
    out = Recovered()
    body = _snapshot(store, snapshot_key, out)
    if body is not None:
        out.fresh = False
        out.parts, out.seq, out.epoch = body["parts"], body["seq"], body["epoch"]
        out.last_time = str(body.get("time") or "")
    raw = store.load(journal_key)
    if raw is None:
        return out
    out.fresh = False
    if body is None and not out.problems:
        out.problems.append(
            StateError("orphan_journal", "a journal without the snapshot it follows", journal_key)
        )
        return out
    try:
        journal_epoch, entries = parse(raw, journal_key)
    except StateError as exc:
        out.problems.append(exc)
        return out
    if out.problems:
        out.problems.append(StateError("orphan_journal", "journal kept aside with its snapshot", journal_key))
        out.epoch = max(out.epoch, journal_epoch)
        return out
    if journal_epoch > out.epoch:
        out.problems.append(
            StateError(
                "foreign_format",
                f"journal epoch {journal_epoch} after snapshot epoch {out.epoch}",
                journal_key,
            )
        )
        out.epoch = journal_epoch
        return out
    entries = [e for e in entries if e.seq > out.seq]
    if entries and (journal_epoch < out.epoch or entries[0].seq != out.seq + 1):
        out.problems.append(
            StateError("corrupt", f"journal does not continue snapshot sequence {out.seq}", journal_key)
        )
        return out
    _replay(out, entries, journal_key)
    return out


def _snapshot(store: StateStore, key: str, out: Recovered) -> dict[str, Any] | None:
    raw = store.load(key)
    if raw is None:
        legacy = store.load(LEGACY_BOOK_KEY)
        if legacy is None:
            return None
        try:
            body = migrate(1, json.loads(legacy.decode("utf-8")))
            out.notes.append(f"migrated {LEGACY_BOOK_KEY} from schema 1")
            return body
        except (StateError, ValueError) as exc:
            out.problems.append(_as_state_error(exc, LEGACY_BOOK_KEY))
            return None
    try:
        schema, doc = decode(raw, SNAPSHOT_KIND, SCHEMA_VERSION, key)
        body = migrate(schema, doc)
        if schema < SCHEMA_VERSION:
            out.notes.append(f"migrated {key} from schema {schema}")
        return body
    except StateError as exc:
        exc.key = exc.key or key
        out.problems.append(exc)
        return None


def _replay(out: Recovered, entries: list[Entry], key: str) -> None:
    state = out.parts  # freshly decoded: ours to modify
    last_commit = -1
    for i, entry in enumerate(entries):
        if entry.type != "commit":
            continue
        try:
            state = delta.apply_in_place(state, entry.ops())
        except ValueError as exc:
            out.problems.append(StateError("corrupt", f"journal entry {entry.seq}: {exc}", key))
            entries = entries[:i]
            break
        last_commit = i
    if not isinstance(state, dict):
        out.problems.append(StateError("corrupt", "the journal replaced the state with a non-mapping", key))
        return
    out.parts = state
    out.entries = entries
    out.in_flight = entries[last_commit + 1 :]
    if last_commit >= 0:
        out.seq = entries[last_commit].seq
        out.last_time = entries[last_commit].time or ""


def _as_state_error(exc: Exception, key: str) -> StateError:
    if isinstance(exc, StateError):
        exc.key = exc.key or key
        return exc
    return StateError("corrupt", f"unreadable: {exc}", key)
