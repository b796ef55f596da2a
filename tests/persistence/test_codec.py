"""Every way stored state goes bad is recognised with its own code, never a crash."""

from __future__ import annotations

import json

import pytest

from persistence.codec import StateError, decode, encode
from persistence.schema import SCHEMA_VERSION, migrate

BODY = {"sections": {"book": {"groups": [], "sequence": {"zero_dte-20250307": 2}}}, "seq": 4, "epoch": 1}


def _code(raw: bytes, kind: str = "snapshot") -> str:
    with pytest.raises(StateError) as info:
        decode(raw, kind, SCHEMA_VERSION, "state/snapshot")
    assert info.value.key == "state/snapshot"
    return info.value.code


def test_round_trip_is_exact_and_canonical():
    raw = encode("snapshot", SCHEMA_VERSION, BODY)
    assert decode(raw, "snapshot", SCHEMA_VERSION) == (SCHEMA_VERSION, BODY)
    assert encode("snapshot", SCHEMA_VERSION, json.loads(json.dumps(BODY))) == raw


def test_corrupt_bytes():
    assert _code(b"\x00\xff garbage") == "corrupt"
    assert _code(b"") == "corrupt"
    assert _code(b'{"format": "tomking-state"}') == "corrupt"  # header only


def test_truncated_write():
    raw = encode("snapshot", SCHEMA_VERSION, BODY)
    assert _code(raw[:-10]) == "truncated"


def test_tampered_body():
    raw = encode("snapshot", SCHEMA_VERSION, BODY)
    assert _code(raw.replace(b'"seq":4', b'"seq":5')) == "tampered"
    assert _code(raw + b" ") == "tampered"


def test_foreign_format_and_kind():
    assert _code(b'{"format": "someone-else", "schema": 1}\n{}') == "foreign_format"
    assert _code(encode("journal", SCHEMA_VERSION, BODY)) == "foreign_format"


def test_foreign_version_is_refused_not_guessed():
    assert _code(encode("snapshot", SCHEMA_VERSION + 1, BODY)) == "foreign_version"
    assert (
        _code(
            encode("snapshot", SCHEMA_VERSION, BODY).replace(
                b'"schema": %d' % SCHEMA_VERSION, b'"schema": "2"'
            )
        )
        == "foreign_version"
    )
    with pytest.raises(StateError) as info:
        migrate(SCHEMA_VERSION + 1, BODY)
    assert info.value.code == "foreign_version"


def test_version_1_book_migrates_to_current_layout():
    legacy = {"groups": [], "sequence": {"zero_dte-20250307": 1}}
    migrated = migrate(1, legacy)
    assert migrated["parts"]["book"] == legacy and (migrated["seq"], migrated["epoch"]) == (0, 0)
    with pytest.raises(StateError):
        migrate(1, {"not": "a book"})


def test_file_store_write_interrupted_before_the_rename_keeps_the_old_value(tmp_path):
    from sim.store import FileStore

    class Died(Exception):
        pass

    def die(point: str) -> None:
        if point == "store.temp_written":
            raise Died

    FileStore(tmp_path).save("state/snapshot", b"old")
    with pytest.raises(Died):
        FileStore(tmp_path, crash_point=die).save("state/snapshot", b"new")
    assert FileStore(tmp_path).load("state/snapshot") == b"old"
    FileStore(tmp_path).save("state/snapshot", b"newer")  # a leftover temp file is simply replaced
    assert FileStore(tmp_path).load("state/snapshot") == b"newer"


def test_snapshot_assembled_from_section_texts_is_the_canonical_encoding():
    from testing.persistence_fakes import condor_group, start

    store = __import__("sim.store", fromlist=["MemoryStore"]).MemoryStore()
    manager, system = start(store)
    system.book.put(condor_group())
    manager.checkpoint()
    raw = store.data["state/snapshot"]
    _, body = decode(raw, "snapshot", SCHEMA_VERSION)
    assert encode("snapshot", SCHEMA_VERSION, body) == raw
