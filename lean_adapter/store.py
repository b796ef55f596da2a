"""``StateStore`` over LEAN's ObjectStore (it receives the ObjectStore from ``lean_adapter.platform``).

LEAN's local ObjectStore buffers writes and flushes them to disk every 5 s
(Engine/Storage/LocalObjectStore.cs, Controls.PersistenceIntervalSeconds); ``GetFilePath`` of an
existing key flushes at once.  ``save`` therefore asks for the file path after every write so a
journal entry is on disk before the act it records is sent (where an ObjectStore has no such
flush - QuantConnect Cloud's - the documented window is those 5 s; docs/LEAN.md).  Bytes are kept
as base64 text (the portable string API).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lean_adapter.translate import decode_bytes, encode_bytes


class LeanStore:
    def __init__(self, store: Any, key: Callable[[str], str], alert: Callable[[str], None]) -> None:
        self._store = store
        self._key = key
        self._alert = alert
        self._flushes = True

    def save(self, key: str, data: bytes) -> None:
        path = self._key(key)
        if not self._store.save_string(path, encode_bytes(data)):
            self._alert(f"ObjectStore refused to save {key!r}")
            return
        if not self._flushes:
            return
        try:
            self._store.get_file_path(path)  # LocalObjectStore: persists every pending write now
        except Exception as exc:  # an ObjectStore without files: the periodic flush still runs
            self._flushes = False
            self._alert(
                f"ObjectStore cannot flush at once ({type(exc).__name__}); writes reach disk within 5 s"
            )

    def load(self, key: str) -> bytes | None:
        path = self._key(key)
        if not self._store.contains_key(path):
            return None
        text = self._store.read_string(path)
        try:
            return decode_bytes(text)
        except ValueError:
            return text.encode("utf-8")  # undecodable: the caller's parser reports it as corrupt

    def clear(self, prefix: str) -> int:
        """Delete every key under ``prefix`` (a backtest's namespace at its start)."""
        doomed = [k for k in list(self._store.keys) if str(k).startswith(prefix)]
        for k in doomed:
            self._store.delete(k)
        return len(doomed)
