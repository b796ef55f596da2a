"""State sections the persistence layer owns: the book, and a key/value view of the state store
for components that keep their own documents there (their writes become part of the journaled,
atomic state instead of separate files that could disagree with it after a crash)."""

from __future__ import annotations

import base64
from typing import Any

from core.book import Book, group_to_json
from persistence.codec import dumps


class BookSection:
    """The trading system's book (position groups, campaigns, group-id sequences), in the form of
    ``Book.to_json``.  Groups are immutable, so each one's JSON is cached until it is replaced."""

    state_section = "book"

    def __init__(self, system: Any) -> None:
        self.system = system
        self._cache: dict[str, tuple[Any, dict[str, Any], bytes]] = {}

    def _entries(self) -> list[tuple[Any, dict[str, Any], bytes]] | None:
        groups = getattr(self.system.book, "_groups", None)
        if not isinstance(groups, dict):
            return None
        cache = {}
        for gid, group in groups.items():
            hit = self._cache.get(gid)
            if hit is None or hit[0] is not group:
                doc = group_to_json(group)
                hit = (group, doc, dumps(doc))
            cache[gid] = hit
        self._cache = cache
        return list(cache.values())

    def to_json(self) -> Any:
        entries = self._entries()
        if entries is None:
            return self.system.book.to_json()
        return {"groups": [e[1] for e in entries], "sequence": dict(self.system.book._sequence)}

    def canonical(self) -> bytes:
        """``codec.dumps(self.to_json())``, built from each group's cached text."""
        entries = self._entries()
        if entries is None:
            return dumps(self.to_json())
        sequence = dumps(dict(self.system.book._sequence))
        return b'{"groups":[' + b",".join(e[2] for e in entries) + b'],"sequence":' + sequence + b"}"

    def load_json(self, doc: Any) -> None:
        self.system.book = Book.from_json(doc)


class KeyValueSection:
    """``StateStore`` whose keys live inside the saved state; durable at the next commit."""

    state_section = "kv"

    def __init__(self) -> None:
        self.data: dict[str, dict[str, str]] = {}

    def save(self, key: str, data: bytes) -> None:
        try:
            self.data[key] = {"text": data.decode("utf-8")}
        except UnicodeDecodeError:
            self.data[key] = {"b64": base64.b64encode(data).decode("ascii")}

    def load(self, key: str) -> bytes | None:
        item = self.data.get(key)
        if item is None:
            return None
        if "text" in item:
            return item["text"].encode("utf-8")
        return base64.b64decode(item["b64"])

    def to_json(self) -> Any:
        return {k: dict(v) for k, v in self.data.items()}

    def load_json(self, doc: Any) -> None:
        if not isinstance(doc, dict) or not all(
            isinstance(v, dict) and ("text" in v or "b64" in v) for v in doc.values()
        ):
            raise ValueError("kv section malformed")
        self.data = {str(k): dict(v) for k, v in doc.items()}
