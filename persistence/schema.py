"""The saved state's layout, its version, and the migrations from older versions.

Version history:

* **1** - what ``core.system`` wrote before this package: the book alone, plain JSON at
  ``trading_system/book.json`` (``{"groups": [...], "sequence": {...}}``), no header.
* **2** - a snapshot document (see ``persistence.codec``) whose body is
  ``{"sections": {name: data}, "seq": last journal sequence folded in, "epoch": compaction count}``.
  Sections: ``book`` (position groups and campaigns), ``orders`` (our orders still working:
  the pending intents), ``system`` (steps done, events applied, counters, safe-mode incident),
  ``kv`` (components that keep their own documents in the state store) and one per registered
  component (executor, breaker, strategies, ...).

A migration turns version ``n`` into ``n + 1``; ``migrate`` chains them.  Versions newer than
``SCHEMA_VERSION`` are refused (see ``codec.decode``), never guessed at.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from persistence.codec import StateError

SCHEMA_VERSION = 2
LEGACY_BOOK_KEY = "trading_system/book.json"


def _v1_to_v2(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or "groups" not in body:
        raise StateError("corrupt", "version 1 state is not a book (no 'groups')")
    return {"sections": {"book": body}, "seq": 0, "epoch": 0}


MIGRATIONS: dict[int, Callable[[Any], Any]] = {1: _v1_to_v2}


def migrate(schema: int, body: Any) -> dict[str, Any]:
    """The body of a version-``schema`` document in the current layout."""
    if schema > SCHEMA_VERSION:
        raise StateError("foreign_version", f"schema {schema} is newer than {SCHEMA_VERSION}")
    while schema < SCHEMA_VERSION:
        step = MIGRATIONS.get(schema)
        if step is None:
            raise StateError("foreign_version", f"no migration from schema {schema}")
        body, schema = step(body), schema + 1
    if not isinstance(body, dict) or not isinstance(body.get("sections"), dict):
        raise StateError("corrupt", "snapshot has no sections")
    if not isinstance(body.get("seq"), int) or not isinstance(body.get("epoch"), int):
        raise StateError("corrupt", "snapshot lacks its journal position")
    return body
