"""File store: atomic replace, safe keys, missing keys."""

from __future__ import annotations

import pytest

from sim.store import FileStore


def test_save_load_replace(tmp_path):
    store = FileStore(tmp_path)
    assert store.load("a/b.json") is None
    store.save("a/b.json", b"one")
    store.save("a/b.json", b"two")
    assert store.load("a/b.json") == b"two"
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["b.json"]  # no temp file left behind


@pytest.mark.parametrize("key", ["../escape", "/abs", "a/../../b", "sp ace", ""])
def test_unsafe_keys_are_refused(tmp_path, key):
    with pytest.raises(ValueError, match="state key"):
        FileStore(tmp_path).save(key, b"x")
