"""File-backed state store for the offline engine.

Writes are atomic (temp file, fsync, rename, fsync of the folder), so a crash at any instant
leaves either the old or the new value, never a torn file.  A write the file system refuses (no
space, read-only, a file where a folder belongs) raises ``StoreError`` with one line naming the
path and the reason, and leaves no temp file behind.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable
from pathlib import Path

_SAFE_KEY = re.compile(r"^[A-Za-z0-9_.\-/]+$")


class StoreError(Exception):
    """The file system refused a state read or write (one line for the operator)."""


class FileStore:
    """``durable=False`` skips the fsyncs: the temp-file-and-rename still makes every write atomic
    against a killed process (the page cache survives it), which is all a backtest needs; only a
    lost machine needs the fsyncs, and they cost milliseconds per write."""

    def __init__(
        self, root: Path, crash_point: Callable[[str], None] | None = None, durable: bool = True
    ) -> None:
        self.root = root
        self.durable = durable
        self._crash = crash_point or (lambda name: None)  # chaos tests kill the process here

    def _path(self, key: str) -> Path:
        if not _SAFE_KEY.match(key) or ".." in key.split("/") or key.startswith("/"):
            raise ValueError(f"state key {key!r} must be a relative path of letters, digits, _ . - /")
        return self.root / key

    def save(self, key: str, data: bytes) -> None:
        path = self._path(key)
        tmp = path.with_name(path.name + ".tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                if self.durable:
                    os.fsync(fh.fileno())
            self._crash("store.temp_written")
            os.replace(tmp, path)
            self._crash("store.renamed")
            if self.durable:
                dir_fd = os.open(path.parent, os.O_RDONLY)
                try:
                    os.fsync(dir_fd)
                finally:
                    os.close(dir_fd)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from None

    def load(self, key: str) -> bytes | None:
        path = self._path(key)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from None


class MemoryStore:
    """In-memory store for tests and throwaway runs."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}

    def save(self, key: str, data: bytes) -> None:
        self.data[key] = bytes(data)

    def load(self, key: str) -> bytes | None:
        return self.data.get(key)
