"""Small JSON deltas, so the journal records what changed rather than the whole state.

A delta is a list of operations on paths of dict keys / list indexes:
``["set", path, value]``, ``["del", path]`` (dict key) and ``["cut", path, length]`` (shorten a
list).  Lists are compared index by index, which suits the append-mostly lists state is made of.
A value whose id is in ``atoms`` (the encoder's flat frozen values, e.g. a quote) is set whole when
it changes: one short operation instead of one per field.  So is a flat list (scalars only, e.g. a
stuck-quote record) of which more than one item and more than half of them changed: each step
rewrites most of such a value, and one operation with one path is a fraction of the bytes of one per
item.  Dicts are never set whole for size: the journal's JSON sorts keys, and a dict rebuilt from it
would lose the insertion order the live one iterates in (records written from it would differ).
"""

from __future__ import annotations

import copy
from collections.abc import Set as AbstractSet
from typing import Any

Path = list[Any]


def diff(
    old: Any, new: Any, path: Path | None = None, atoms: AbstractSet[int] = frozenset()
) -> list[list[Any]]:
    path = path or []
    if old is new:  # the encoder hands back the same object for an unchanged immutable value
        return []
    if isinstance(old, dict) and isinstance(new, dict):
        if old == new:  # one comparison in C instead of a walk when nothing below changed
            return []
        if id(new) in atoms:
            return [["set", path, new]]
        ops: list[list[Any]] = []
        for key, value in new.items():
            if key not in old:
                ops.append(["set", [*path, key], value])
            elif old[key] is not value and old[key] != value:
                ops.extend(diff(old[key], value, [*path, key], atoms))
        ops.extend(["del", [*path, key]] for key in old if key not in new)
        return ops
    if isinstance(old, list) and isinstance(new, list):
        if old == new:
            return []
        if _mostly_rewritten(old, new):
            return [["set", path, new]]
        ops = []
        for i in range(min(len(old), len(new))):
            if old[i] is not new[i] and old[i] != new[i]:
                ops.extend(diff(old[i], new[i], [*path, i], atoms))
        ops.extend(["set", [*path, i], new[i]] for i in range(len(old), len(new)))
        if len(new) < len(old):
            ops.append(["cut", path, len(new)])
        return ops
    if old == new and type(old) is type(new):
        return []
    return [["set", path, new]]


_SCALARS = (str, int, float, bool, type(None))


def _mostly_rewritten(old: list[Any], new: list[Any]) -> bool:
    """Whether ``new`` holds scalars only and more than one, and more than half, of its items
    differ from ``old``'s (a cut item counts as one)."""
    changed = max(0, len(old) - len(new))
    for i, value in enumerate(new):
        if type(value) not in _SCALARS:
            return False
        if i >= len(old) or type(old[i]) is not type(value) or old[i] != value:
            changed += 1
    return changed > 1 and 2 * changed > len(new)


def apply(doc: Any, ops: list[list[Any]]) -> Any:
    """``doc`` with ``ops`` applied (``doc`` itself is not modified)."""
    return apply_in_place(copy.deepcopy(doc), ops)


def apply_in_place(doc: Any, ops: list[list[Any]]) -> Any:
    """Apply ``ops`` to ``doc`` (modified) and return it.  Raises ValueError on an operation that
    does not fit the document (a journal that does not belong to this snapshot)."""
    if not isinstance(ops, list | tuple):
        raise ValueError(f"a delta is a list of operations, not {type(ops).__name__}")
    for op in ops:
        try:
            name, path = op[0], op[1]
            if not path:
                if name == "set":
                    doc = copy.deepcopy(op[2])
                elif name == "cut" and isinstance(doc, list):
                    del doc[int(op[2]) :]
                else:
                    raise ValueError(f"cannot {name} the root")
                continue
            parent = doc
            for part in path[:-1]:
                parent = parent[part]
            last = path[-1]
            if name == "set":
                if isinstance(parent, list) and last == len(parent):
                    parent.append(copy.deepcopy(op[2]))
                else:
                    parent[last] = copy.deepcopy(op[2])
            elif name == "del":
                del parent[last]
            elif name == "cut":
                target = parent[last]
                del target[int(op[2]) :]
            else:
                raise ValueError(f"unknown operation {name!r}")
        except (KeyError, IndexError, TypeError) as exc:
            raise ValueError(f"delta operation {op[:2]} does not fit the state: {exc!r}") from None
    return doc
