"""The one codec for state values: stdlib dataclasses <-> plain JSON, with types checked on the way in.

``to_plain`` turns a state value (dataclasses, enums, datetimes, tuples, sets, mappings, scalars)
into JSON data; ``from_plain(cls, data)`` builds it back from the type hints of ``cls`` and raises
``DecodeError`` naming the path of the first value whose type is wrong (a string where a number
belongs, a missing or unknown field, an unknown enum member).  A dataclass's own ``__post_init__``
checks its ranges (a negative day, an absurd step), so a value that decodes is a value the code can
use.  Frozen dataclasses are immutable, so ``Encoder`` reuses their plain form between calls: the
state is encoded at every commit and most of it (closed position groups) never changes.

Fields declared ``field(init=False)`` (derived, like a contract's OCC symbol) or with
``metadata={"transient": True}`` are not part of the state.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections import Counter
from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from typing import Any, TypeVar

T = TypeVar("T")
TRANSIENT = {"transient": True}  # ``field(metadata=TRANSIENT)``: a cache, not state


class DecodeError(ValueError):
    """Stored data that does not have the type its place in the state requires."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path or 'state'}: {problem}")
        self.path = path
        self.problem = problem


# --- encoding ----------------------------------------------------------------------------------------
_FIELDS: dict[type, tuple[str, ...]] = {}


def _state_fields(cls: type) -> tuple[str, ...]:
    names = _FIELDS.get(cls)
    if names is None:
        names = tuple(
            f.name for f in dataclasses.fields(cls) if f.init and not f.metadata.get("transient", False)
        )
        _FIELDS[cls] = names
    return names


def _frozen(cls: type) -> bool:
    params = getattr(cls, "__dataclass_params__", None)
    return bool(params is not None and params.frozen)


_SCALARS = frozenset({str, int, float, bool, type(None)})
_KINDS: dict[type, str] = {}  # type -> how it encodes (dataclass types split by frozen-ness)


def _kind_of(cls: type) -> str:
    kind = _KINDS.get(cls)
    if kind is None:
        if dataclasses.is_dataclass(cls):
            kind = "frozen" if _frozen(cls) else "dataclass"
        elif issubclass(cls, Enum):
            kind = "enum"
        elif issubclass(cls, datetime | date):
            kind = "time"
        elif issubclass(cls, list | tuple):
            kind = "list"
        elif issubclass(cls, set | frozenset):
            kind = "set"
        elif issubclass(cls, Mapping):
            kind = "mapping"
        else:
            raise TypeError(f"{cls.__name__} is not a state value (dataclass, enum, time or plain data)")
        _KINDS[cls] = kind
    return kind


class Encoder:
    """``to_plain`` with a memory of frozen dataclasses already encoded (by identity; the memory
    keeps only what the latest call used, so it never grows past the state itself)."""

    def __init__(self) -> None:
        self._memo: dict[int, tuple[Any, Any]] = {}
        self._next: dict[int, tuple[Any, Any]] = {}

    def encode(self, value: Any) -> Any:
        self._next = {}
        try:
            return self._plain(value)
        finally:
            self._memo, self._next = self._next, {}

    def _plain(self, value: Any) -> Any:
        cls = type(value)
        if cls in _SCALARS:
            return value
        kind = _kind_of(cls)
        if kind == "frozen":
            key = id(value)
            hit = self._memo.get(key) or self._next.get(key)
            if hit is not None and hit[0] is value:
                self._next[key] = hit
                return hit[1]
            plain = self._fields(value, cls)
            self._next[key] = (value, plain)
            return plain
        if kind == "dataclass":
            return self._fields(value, cls)
        if kind == "list":
            return [v if type(v) in _SCALARS else self._plain(v) for v in value]
        if kind == "mapping":
            out = {}
            for k, v in value.items():
                if type(k) is not str:
                    raise TypeError(f"state mapping keys must be text, not {type(k).__name__} {k!r}")
                out[k] = v if type(v) in _SCALARS else self._plain(v)
            return out
        if kind == "enum":
            return value.value
        if kind == "time":
            return value.isoformat()
        return sorted((self._plain(v) for v in value), key=_sort_key)  # set

    def _fields(self, value: Any, cls: type) -> dict[str, Any]:
        out = {}
        for name in _state_fields(cls):
            v = getattr(value, name)
            out[name] = v if type(v) in _SCALARS else self._plain(v)
        return out


def _sort_key(value: Any) -> str:
    return repr(value)


def to_plain(value: Any) -> Any:
    return Encoder().encode(value)


# --- decoding ----------------------------------------------------------------------------------------
_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = typing.get_type_hints(cls)
        _HINTS[cls] = hints
    return hints


def from_plain(cls: type[T], data: Any, path: str = "") -> T:
    """``data`` (JSON) as a value of type ``cls``; ``DecodeError`` if it is not one."""
    return _value(cls, data, path)


def _value(tp: Any, data: Any, path: str) -> Any:
    if tp is Any:
        return data
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        options = typing.get_args(tp)
        if data is None and type(None) in options:
            return None
        problems = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _value(option, data, path)
            except DecodeError as exc:
                problems.append(exc.problem)
        raise DecodeError(path, " or ".join(problems))
    if origin is not None:
        return _generic(tp, origin, data, path)
    if tp is type(None):
        if data is not None:
            raise DecodeError(path, f"expected null, got {_kind(data)}")
        return None
    if tp is bool:
        if not isinstance(data, bool):
            raise DecodeError(path, f"expected true/false, got {_kind(data)}")
        return data
    if tp is int:
        if isinstance(data, bool) or not isinstance(data, int):
            raise DecodeError(path, f"expected a whole number, got {_kind(data)}")
        return data
    if tp is float:
        if isinstance(data, bool) or not isinstance(data, int | float):
            raise DecodeError(path, f"expected a number, got {_kind(data)}")
        return float(data)
    if tp is str:
        if not isinstance(data, str):
            raise DecodeError(path, f"expected text, got {_kind(data)}")
        return data
    if isinstance(tp, type) and issubclass(tp, Enum):
        try:
            return tp(data)
        except ValueError:
            raise DecodeError(path, f"{data!r} is not a {tp.__name__}") from None
    if tp is datetime or tp is date:
        if not isinstance(data, str):
            raise DecodeError(path, f"expected an ISO {tp.__name__}, got {_kind(data)}")
        try:
            parsed = tp.fromisoformat(data)
        except ValueError:
            raise DecodeError(path, f"{data!r} is not an ISO {tp.__name__}") from None
        if tp is date and isinstance(parsed, datetime):
            raise DecodeError(path, f"{data!r} is a time where a date belongs")
        return parsed
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _dataclass(tp, data, path)
    raise DecodeError(path, f"no decoder for {tp!r}")


def _generic(tp: Any, origin: Any, data: Any, path: str) -> Any:
    args = typing.get_args(tp)
    if origin in (dict, Mapping, Counter):
        if not isinstance(data, dict):
            raise DecodeError(path, f"expected a mapping, got {_kind(data)}")
        key_type, value_type = (args if len(args) == 2 else (*args, int)) if args else (str, Any)
        if key_type is not str:
            raise DecodeError(path, f"mapping keys of {key_type!r} are not supported")
        out = {k: _value(value_type, v, f"{path}.{k}") for k, v in data.items()}
        return Counter(out) if origin is Counter else out
    if not isinstance(data, list):
        raise DecodeError(path, f"expected a list, got {_kind(data)}")
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_value(args[0], v, f"{path}[{i}]") for i, v in enumerate(data))
        if len(args) != len(data):
            raise DecodeError(path, f"expected {len(args)} items, got {len(data)}")
        return tuple(_value(a, v, f"{path}[{i}]") for i, (a, v) in enumerate(zip(args, data, strict=True)))
    item = args[0] if args else Any
    values = [_value(item, v, f"{path}[{i}]") for i, v in enumerate(data)]
    if origin in (set, frozenset):
        return origin(values)
    if origin is list:
        return values
    raise DecodeError(path, f"no decoder for {tp!r}")


def _dataclass(cls: type, data: Any, path: str) -> Any:
    if not isinstance(data, dict):
        raise DecodeError(path, f"expected a {cls.__name__} object, got {_kind(data)}")
    names = _state_fields(cls)
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise DecodeError(path, f"unknown fields {unknown} for {cls.__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = _hints(cls)
    values = {}
    for name in names:
        if name not in data:
            f = fields[name]
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise DecodeError(f"{path}.{name}" if path else name, "missing")
            continue
        values[name] = _value(hints[name], data[name], f"{path}.{name}" if path else name)
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:  # the class's own range checks (__post_init__)
        raise DecodeError(path, f"{cls.__name__}: {exc}") from None


def _kind(data: Any) -> str:
    text = repr(data)
    return f"{type(data).__name__} {text[:40]}"
