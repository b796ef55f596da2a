"""LEAN's local ObjectStore: writes buffered in memory, flushed to disk every few seconds.

Mirrors Engine/Storage/LocalObjectStore.cs: a key must match ``_pathRegex`` (:115) and hold at most
100 '/' (:330-337), else ArgumentException; a save marks the store dirty and a timer persists every
``Controls.PersistenceIntervalSeconds`` (Common/Packets/Controls.cs:153, 5 s; <= 0 = synchronous,
:164-168, :344-351); ``GetFilePath`` of an existing key persists at once (:484-497); saving beyond
StorageFileCount (10,000) or StorageLimit (10 GiB) (Controls.cs:151-152) fails with an error
(:377-425) and returns False; everything under ``./storage`` is shared by every project and run
(:76, :176).  ``crash()`` loses what was not persisted yet, as a killed process would; ``disk`` is
what survives it.  Time is injected: the engine calls ``tick(now)``.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

KEY = re.compile(r"^\.?[a-zA-Z0-9\\/_#\-\$= ]+\.?[a-zA-Z0-9]*$")
MAX_FILES = 10_000
MAX_BYTES = 10 * 1024**3


def _normalise(key: str) -> str:
    return key.lstrip(".").lstrip("/\\").replace("\\", "/")


class LocalObjectStore:
    def __init__(
        self, now: datetime, persistence_seconds: int = 5, disk: dict[str, bytes] | None = None
    ) -> None:
        self.disk: dict[str, bytes] = {} if disk is None else disk  # the storage folder
        self._memory: dict[str, bytes] = dict(self.disk)
        self._dirty: set[str] = set()
        self._deleted: set[str] = set()
        self._interval = timedelta(seconds=persistence_seconds)
        self._due: datetime | None = None
        self._now = now
        self.errors: list[str] = []
        self.persists = 0

    # --- the API the algorithm uses ----------------------------------------------------------------
    def save_string(self, key: str, text: str) -> bool:
        return self.save_bytes(key, text.encode("utf-8"))

    def save_bytes(self, key: str, data: bytes) -> bool:
        if not KEY.match(key) or key.count("/") > 100 or key.count("\\") > 100:
            raise ValueError(f"LocalObjectStore: path is not supported: '{key}'")  # ArgumentException
        key = _normalise(key)
        files = len(set(self._memory) | {key})
        size = sum(len(v) for k, v in self._memory.items() if k != key) + len(data)
        if files > MAX_FILES or size > MAX_BYTES:
            self.errors.append(f"You have reached the ObjectStore limit: {files} files, {size} bytes")
            return False
        self._memory[key] = bytes(data)
        self._deleted.discard(key)
        self._dirty.add(key)
        if self._interval <= timedelta(0):
            self._persist()
        elif self._due is None:
            self._due = self._now + self._interval
        return True

    def read_string(self, key: str) -> str:
        key = _normalise(key)
        if key not in self._memory:
            raise KeyError(f"LocalObjectStore.ReadBytes(): No entry found for key: {key}")
        return self._memory[key].decode("utf-8")

    def contains_key(self, key: str) -> bool:
        return _normalise(key) in self._memory

    def delete(self, key: str) -> bool:
        key = _normalise(key)
        found = self._memory.pop(key, None) is not None
        self._dirty.discard(key)
        if found:
            self._deleted.add(key)
            if self._due is None:
                self._due = self._now + self._interval
        return found

    def get_file_path(self, key: str) -> str:
        if self.contains_key(key):
            self._persist()  # LocalObjectStore.GetFilePath: "Persist to ensure our files are up to date"
        return f"/Storage/{_normalise(key)}"

    @property
    def keys(self) -> list[str]:
        return sorted(self._memory)

    # --- engine side -------------------------------------------------------------------------------
    def tick(self, now: datetime) -> None:
        self._now = now
        if self._due is not None and now >= self._due:
            self._persist()

    def _persist(self) -> None:
        for key in self._dirty:
            self.disk[key] = self._memory[key]
        for key in self._deleted:
            self.disk.pop(key, None)
        self._dirty.clear()
        self._deleted.clear()
        self._due = None
        self.persists += 1

    def dispose(self) -> None:
        """LocalObjectStore.Dispose: a last persist at a normal end of the algorithm."""
        self._persist()

    def crash(self) -> LocalObjectStore:
        """The store a restarted process sees after a kill: only what reached the disk."""
        return LocalObjectStore(self._now, int(self._interval.total_seconds()), dict(self.disk))
