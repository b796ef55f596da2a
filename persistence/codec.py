"""Bytes <-> state documents, with a header that makes bad state recognisable.

A document is one header line and a canonical JSON body::

    {"format": "tomking-state", "kind": "snapshot", "schema": 2, "length": 1234, "sha256": "..."}
    {...body...}

``decode`` tells apart the ways stored state goes bad (each with its own ``StateError.code``):
``corrupt`` (no readable header), ``foreign_format`` (someone else's data or another kind),
``truncated`` (fewer bytes than the header promised), ``tampered`` (checksum mismatch, so the body
was changed without recomputing it) and ``foreign_version`` (a schema this code does not know).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

FORMAT = "tomking-state"


class StateError(Exception):
    """Stored state that cannot be used; ``code`` says how it is bad, ``key`` where it was."""

    def __init__(self, code: str, message: str, key: str = "") -> None:
        super().__init__(f"{key + ': ' if key else ''}{message}")
        self.code = code
        self.message = message
        self.key = key


def dumps(body: Any) -> bytes:
    """Canonical JSON: sorted keys, no spaces, so equal state gives equal bytes."""
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")


def encode(kind: str, schema: int, body: Any) -> bytes:
    return encode_payload(kind, schema, dumps(body))


def encode_payload(kind: str, schema: int, payload: bytes) -> bytes:
    """``encode`` for a body already in canonical form (``dumps``)."""
    return header_line(kind, schema, len(payload), hashlib.sha256(payload).hexdigest()) + payload


def header_line(kind: str, schema: int, length: int, sha256: str) -> bytes:
    """The header (newline included) of a ``length``-byte payload whose checksum the caller has
    already computed (the journal keeps a running hash instead of re-hashing on every append)."""
    header = {"format": FORMAT, "kind": kind, "schema": schema, "length": length, "sha256": sha256}
    return json.dumps(header, sort_keys=True).encode("utf-8") + b"\n"


def decode(raw: bytes, kind: str, supported: int, key: str = "") -> tuple[int, Any]:
    """(schema, body) of a document written by ``encode``; raises ``StateError`` otherwise.

    A schema newer than ``supported`` is refused (``foreign_version``): this code cannot know what
    a later version means, and guessing could trade on misread positions.
    """
    head, sep, payload = raw.partition(b"\n")
    try:
        header = json.loads(head.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise StateError("corrupt", "unreadable header (not a state document)", key) from None
    if not sep or not isinstance(header, dict):
        raise StateError("corrupt", "no header line", key)
    if header.get("format") != FORMAT:
        raise StateError("foreign_format", f"format {header.get('format')!r} is not {FORMAT!r}", key)
    if header.get("kind") != kind:
        raise StateError("foreign_format", f"a {header.get('kind')!r} document where a {kind!r} belongs", key)
    schema, length, digest = header.get("schema"), header.get("length"), header.get("sha256")
    if not isinstance(schema, int) or isinstance(schema, bool) or schema < 1:
        raise StateError("foreign_version", f"schema {schema!r} is not a version number", key)
    if schema > supported:
        raise StateError("foreign_version", f"schema {schema} is newer than this code's {supported}", key)
    if not isinstance(length, int) or not isinstance(digest, str):
        raise StateError("corrupt", "header lacks length or checksum", key)
    if len(payload) < length:
        raise StateError("truncated", f"{len(payload)} of {length} bytes", key)
    if len(payload) > length or hashlib.sha256(payload).hexdigest() != digest:
        raise StateError("tampered", "checksum does not match the content", key)
    try:
        return schema, json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise StateError("corrupt", f"body is not JSON: {exc}", key) from None
