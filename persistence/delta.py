"""Small JSON deltas, so the journal records what changed rather than the whole state.

A delta is a list of operations on paths of dict keys / list indexes:
``["set", path, value]``, ``["put", path, {key: value, ...}]`` (several existing keys of one dict
replaced at once: one path instead of one per key), ``["del", path]`` (dict key) and
``["cut", path, length]`` (shorten a list).  Lists are compared index by index, which suits the
append-mostly lists state is made of.  A value whose id is in ``atoms`` (the encoder's flat frozen
values, e.g. a quote) is not walked: its changed fields are put whole (a quote's unchanged contract
is not written again).  A flat list (scalars only, e.g. a stuck-quote record) of which more than one
item and more than half of them changed is set whole: each step rewrites most of such a value, and
one operation with one path is a fraction of the bytes of one per item.  Dicts are never set whole
for size, and a ``put`` only replaces keys the dict already has: the journal's JSON sorts keys, and
a dict rebuilt from it, or grown by it, would lose the insertion order the live one iterates in.
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
    if old is new or (old == new and type(old) is type(new)):  # the encoder hands back the same
        return []  # object for an unchanged immutable value; else one comparison in C, not a walk
    return _changed(old, new, path, atoms)


def _changed(old: Any, new: Any, path: Path, atoms: AbstractSet[int]) -> list[list[Any]]:
    """The operations turning ``old`` into ``new``, which differ."""
    if type(old) is dict and type(new) is dict:
        return _dict_diff(old, new, path, atoms)
    if type(old) is list and type(new) is list:
        return _list_diff(old, new, path, atoms)
    return [["set", path, new]]


_SCALARS = (str, int, float, bool, type(None))


def _dict_diff(
    old: dict[str, Any], new: dict[str, Any], path: Path, atoms: AbstractSet[int]
) -> list[list[Any]]:
    whole = id(new) in atoms  # a flat frozen value: its changed fields are replaced, not walked
    ops: list[list[Any]] = []
    put: dict[str, Any] = {}  # existing keys replaced whole, written as one operation
    for key, value in new.items():
        if key not in old:
            ops.append(["set", [*path, key], value])
            continue
        before = old[key]
        if before is value or before == value:
            continue
        kind = type(value)
        if whole or kind is not type(before) or (kind is not dict and kind is not list):
            put[key] = value  # a scalar, a new type, a field of a flat value: replaced whole
            continue
        sub = _changed(before, value, [*path, key], atoms)
        if len(sub) == 1 and sub[0][0] == "set" and len(sub[0][1]) == len(path) + 1:
            put[key] = value  # a list rewritten whole
        else:
            ops.extend(sub)
    if len(put) > 1:
        ops.append(["put", path, put])
    else:
        ops.extend(["set", [*path, key], value] for key, value in put.items())
    ops.extend(["del", [*path, key]] for key in old if key not in new)
    return ops


def _list_diff(old: list[Any], new: list[Any], path: Path, atoms: AbstractSet[int]) -> list[list[Any]]:
    if _mostly_rewritten(old, new):
        return [["set", path, new]]
    ops = []
    for i in range(min(len(old), len(new))):
        if old[i] is not new[i] and old[i] != new[i]:
            ops.extend(_changed(old[i], new[i], [*path, i], atoms))
    ops.extend(["set", [*path, i], new[i]] for i in range(len(old), len(new)))
    if len(new) < len(old):
        ops.append(["cut", path, len(new)])
    return ops


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
            if name == "put":
                _put(_at(doc, path), op[2])
                continue
            if not path:
                if name == "set":
                    doc = copy.deepcopy(op[2])
                elif name == "cut" and isinstance(doc, list):
                    del doc[int(op[2]) :]
                else:
                    raise ValueError(f"cannot {name} the root")
                continue
            parent = _at(doc, path[:-1])
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


def _at(doc: Any, path: Path) -> Any:
    for part in path:
        doc = doc[part]
    return doc


def _put(target: Any, values: Any) -> None:
    """Replace existing keys only: a key the state does not have means the delta is not its own."""
    if not isinstance(target, dict) or not isinstance(values, dict):
        raise TypeError("put needs a mapping of values into a mapping")
    unknown = [key for key in values if key not in target]
    if unknown:
        raise KeyError(f"put of keys the state lacks: {unknown[:3]}")
    for key, value in values.items():
        target[key] = copy.deepcopy(value)
