"""The journal's running checksum: every stored journal is the canonical, fully checked document,
whatever sequence of appends, resumes and restarts built it."""

from __future__ import annotations

import pytest

from persistence.codec import StateError, encode
from persistence.journal import KIND, Journal, parse
from persistence.schema import SCHEMA_VERSION
from sim.store import MemoryStore

KEY = "state/journal"


def _canonical(epoch: int, plains: list[dict]) -> bytes:
    return encode(KIND, SCHEMA_VERSION, {"entries": plains, "epoch": epoch})


def _commit(seq: int, price: float) -> dict:
    return {"seq": seq, "type": "commit", "kind": "step", "time": "2025-03-07T10:00:00",
            "delta": [["set", ["risk", "last"], price]]}  # fmt: skip


def _append(journal: Journal, plain: dict) -> None:
    journal.append(plain["type"], plain["kind"], plain["time"], delta=plain["delta"])


def test_each_append_stores_the_canonical_document_with_its_full_checksum():
    store = MemoryStore()
    journal = Journal(store, KEY)
    journal.start(3, 10)
    assert store.data[KEY] == _canonical(3, [])
    plains = [_commit(10 + i, 100.0 + i) for i in range(5)]
    for i, plain in enumerate(plains):
        _append(journal, plain)
        assert store.data[KEY] == _canonical(3, plains[: i + 1])
        assert journal.bytes == len(store.data[KEY])
    assert [e.seq for e in parse(store.data[KEY], KEY)[1]] == [10, 11, 12, 13, 14]


def test_a_new_epoch_and_a_resume_restart_the_running_checksum():
    store = MemoryStore()
    journal = Journal(store, KEY)
    journal.start(1, 1)
    _append(journal, _commit(1, 1.0))
    journal.start(2, 2)  # compaction: the old entries must leave the body and its hash
    _append(journal, _commit(2, 2.0))
    assert store.data[KEY] == _canonical(2, [_commit(2, 2.0)])

    epoch, entries = parse(store.data[KEY], KEY)
    resumed = Journal(store, KEY)  # a restart continues the stored journal
    resumed.resume(epoch, entries, entries[-1].seq + 1)
    _append(resumed, _commit(3, 3.0))
    assert store.data[KEY] == _canonical(2, [_commit(2, 2.0), _commit(3, 3.0)])

    resumed.epoch = 5  # recovery after quarantine sets the epoch before the next snapshot
    resumed.start(6, 4)
    assert store.data[KEY] == _canonical(6, [])


@pytest.mark.parametrize("cut", [1, 7, 40])
def test_a_torn_or_altered_journal_is_still_refused(cut: int):
    store = MemoryStore()
    journal = Journal(store, KEY)
    journal.start(1, 1)
    for i in range(3):
        _append(journal, _commit(1 + i, float(i)))
    raw = store.data[KEY]
    with pytest.raises(StateError) as torn:
        parse(raw[:-cut], KEY)
    assert torn.value.code == "truncated"
    altered = raw.replace(b"2.0", b"9.0")
    with pytest.raises(StateError) as changed:
        parse(altered, KEY)
    assert changed.value.code == "tampered"
