"""The saved state's layout, its version, and the migrations from older versions.

Version history:

* **1** - what ``core.system`` wrote before this package: the book alone, plain JSON at
  ``trading_system/book.json`` (``{"groups": [...], "sequence": {...}}``), no header.
* **2** - a snapshot document (see ``persistence.codec``) whose body is
  ``{"sections": {name: data}, "seq": last journal sequence folded in, "epoch": compaction count}``;
  execution and risk kept their own documents inside a ``kv`` section.
* **3** - ``{"parts": {name: data}, "seq", "epoch"}``: one typed part per stateful component
  (``book``, ``pauses``, ``execution``, ``risk``, ...) plus ``persistence`` (steps done, events
  applied, counters, the safe-mode incident, our orders still working), each the plain form of its
  owner's state dataclass (``persistence.typed``).
* **4** - the same snapshot; journal deltas may hold ``put`` operations (``persistence.delta``),
  which code of version 3 cannot replay, so it refuses them as a newer version instead.

A migration turns version ``n`` into ``n + 1``; ``migrate`` chains them.  Versions newer than
``SCHEMA_VERSION`` are refused (see ``codec.decode``), never guessed at.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from persistence.codec import StateError

SCHEMA_VERSION = 4
LEGACY_BOOK_KEY = "trading_system/book.json"
_V2_RISK = "risk/state.json"
_V2_EXECUTION_INDEX = "execution/index.json"


def _v1_to_v2(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or "groups" not in body:
        raise StateError("corrupt", "version 1 state is not a book (no 'groups')")
    return {"sections": {"book": body}, "seq": 0, "epoch": 0}


def _v2_to_v3(body: Any) -> dict[str, Any]:
    """The book, the bookkeeping and the working orders carry over; the risk memory is re-shaped.
    Execution groups still working cannot be carried (their old documents lack what the typed
    state needs): such a state is refused, so it is kept aside and the start is in safe mode."""
    if not isinstance(body, dict) or not isinstance(body.get("sections"), dict):
        raise StateError("corrupt", "version 2 snapshot has no sections")
    sections = body["sections"]
    parts: dict[str, Any] = {}
    if "book" in sections:
        parts["book"] = sections["book"]
    system = sections.get("system") or {}
    orders = sections.get("orders") or {}
    if not isinstance(system, dict) or not isinstance(orders, dict):
        raise StateError("invalid_types", "version 2 system or orders section is not a mapping")
    parts["persistence"] = {
        "last_step": system.get("last_step"),
        "seen": system.get("seen", []),
        "counters": system.get("counters", {}),
        "incident": system.get("incident"),
        "working": {
            tag: {"order": _v2_order(v.get("order")), "cancel": bool(v.get("cancel"))}
            for tag, v in orders.items()
            if isinstance(v, dict)
        },
    }
    kv = sections.get("kv") or {}
    index = _kv_json(kv, _V2_EXECUTION_INDEX)
    if isinstance(index, dict) and index.get("active"):
        raise StateError(
            "foreign_version",
            f"version 2 state with execution groups still working ({index['active']}): they cannot be carried",
        )
    risk = _kv_json(kv, _V2_RISK)
    if isinstance(risk, dict):
        parts["risk"] = _v2_risk(risk)
    return {"parts": parts, "seq": body.get("seq", 0), "epoch": body.get("epoch", 0)}


def _v2_order(order: Any) -> Any:
    if not isinstance(order, dict):
        return order
    return {
        "tag": order.get("tag"),
        "legs": order.get("legs"),
        "quantity": order.get("quantity"),
        "limit_price": order.get("limit_price"),
        "submitted": order.get("submitted"),
    }


def _kv_json(kv: Any, key: str) -> Any:
    item = kv.get(key) if isinstance(kv, dict) else None
    if not isinstance(item, dict) or "text" not in item:
        return None
    try:
        return json.loads(item["text"])
    except ValueError:
        raise StateError("corrupt", f"version 2 document {key} is not JSON") from None


def _v2_risk(doc: dict[str, Any]) -> dict[str, Any]:
    breaker = dict(doc.get("breaker") or {})
    breaker["trips"] = {t.get("rule"): t for t in breaker.get("trips", []) if isinstance(t, dict)}
    strategies = doc.get("strategies") or {}
    return {
        "breaker": breaker,
        "guard": {"health": strategies},
        "jumps": {
            "last": doc.get("last_prices", {}),
            "halted_until": doc.get("jump_halt_until") or None,
            "reason": doc.get("jump_reason", ""),
        },
        "reset_token": doc.get("reset_token", ""),
        "flattened": doc.get("flattened", {}),
    }


def _v3_to_v4(body: Any) -> Any:
    """Nothing to change: version 4 only adds a journal operation."""
    return body


MIGRATIONS: dict[int, Callable[[Any], Any]] = {1: _v1_to_v2, 2: _v2_to_v3, 3: _v3_to_v4}


def migrate(schema: int, body: Any) -> dict[str, Any]:
    """The body of a version-``schema`` document in the current layout."""
    if schema > SCHEMA_VERSION:
        raise StateError("foreign_version", f"schema {schema} is newer than {SCHEMA_VERSION}")
    while schema < SCHEMA_VERSION:
        step = MIGRATIONS.get(schema)
        if step is None:
            raise StateError("foreign_version", f"no migration from schema {schema}")
        body, schema = step(body), schema + 1
    if not isinstance(body, dict) or not isinstance(body.get("parts"), dict):
        raise StateError("corrupt", "snapshot has no parts")
    for name in ("seq", "epoch"):
        value = body.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise StateError("invalid_types", f"snapshot {name} {value!r} is not a journal position")
    return body
