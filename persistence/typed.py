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
import operator
import types
import typing
from collections import Counter
from collections.abc import Callable, Mapping
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

    def within(self, segment: str) -> DecodeError:
        """The same problem one level up (paths are built only on the way out of a failure)."""
        if not self.path:
            path = segment
        else:
            path = segment + (self.path if self.path.startswith("[") else "." + self.path)
        return DecodeError(path, self.problem)


# --- encoding ----------------------------------------------------------------------------------------
_PLANS: dict[type, tuple[tuple[str, ...], Callable[[Any], tuple[Any, ...]]]] = {}


def _state_fields(cls: type) -> tuple[str, ...]:
    return _plan(cls)[0]


def _plan(cls: type) -> tuple[tuple[str, ...], Callable[[Any], tuple[Any, ...]]]:
    """A dataclass's state field names and one getter reading all of them at once (in C)."""
    plan = _PLANS.get(cls)
    if plan is None:
        names = tuple(
            f.name for f in dataclasses.fields(cls) if f.init and not f.metadata.get("transient", False)
        )
        getter = operator.attrgetter(*names) if names else (lambda value: ())
        plan = _PLANS[cls] = (names, (lambda value: (getter(value),)) if len(names) == 1 else getter)
    return plan


def _frozen(cls: type) -> bool:
    params = getattr(cls, "__dataclass_params__", None)
    return bool(params is not None and params.frozen)


_SCALARS = frozenset({str, int, float, bool, type(None)})
_KINDS: dict[type, str] = {}  # type -> how it encodes (dataclass types split by frozen-ness)
_IMMUTABLE = ("enum", "time")  # kinds whose values never change in place (besides scalars)


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


# A remembered encoding: (value, its plain form, flat?, the remembered values directly inside it).
_Hit = tuple[Any, Any, bool, tuple[Any, ...]]


class Encoder:
    """``to_plain`` with a memory of frozen dataclasses and flat tuples already encoded (by
    identity, holding the value so its id stays its own).  The memory keeps what the latest call
    used - a reused value together with the values inside it (a quote's contract), which the call
    did not visit but will need when the quote next changes - so it never grows past the state.

    ``atoms`` holds the ids of the latest call's objects that are the plain form of a *flat* frozen
    value (every field a scalar, enum, time or flat frozen value, e.g. a quote): a diff need not
    walk such a value, only compare its fields (``delta.diff``)."""

    def __init__(self) -> None:
        self._memo: dict[int, _Hit] = {}
        self._next: dict[int, _Hit] = {}
        self._inside: list[_Hit] = []  # remembered values met inside the one being encoded
        self.atoms: set[int] = set()

    def encode(self, value: Any) -> Any:
        self._next, self.atoms, self._inside = {}, set(), []  # atoms: plains ``_next`` keeps alive
        try:
            return self._plain(value)
        finally:
            self._memo, self._next = self._next, {}

    def _remembered(self, value: Any) -> _Hit | None:
        hit = self._memo.get(id(value)) or self._next.get(id(value))
        return hit if hit is not None and hit[0] is value else None

    def _keep(self, hit: _Hit) -> None:
        """Carry ``hit`` and everything inside it into the next call's memory."""
        self._next[id(hit[0])] = hit
        if hit[2]:
            self.atoms.add(id(hit[1]))
        for inner in hit[3]:
            self._keep(inner)

    def _plain(self, value: Any) -> Any:
        cls = type(value)
        if cls in _SCALARS:
            return value
        kind = _KINDS.get(cls) or _kind_of(cls)
        if kind == "frozen":
            hit = self._remembered(value)
            if hit is None:
                outer, self._inside = self._inside, []
                try:
                    plain, flat = self._fields(value, cls)
                    hit = (value, plain, flat, tuple(self._inside))
                finally:
                    self._inside = outer
                self._next[id(value)] = hit
                if flat:
                    self.atoms.add(id(plain))
            else:
                self._keep(hit)
            self._inside.append(hit)
            return hit[1]
        if kind == "dataclass":
            return self._fields(value, cls)[0]
        if kind == "list":
            if cls is tuple:
                return self._tuple(value)
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

    def _tuple(self, value: tuple[Any, ...]) -> list[Any]:
        """A tuple of scalars, enums and times is immutable all the way down (e.g. a stuck-quote
        record): its plain form is reused by identity like a frozen value's."""
        hit = self._remembered(value)
        if hit is None:
            plain = [v if type(v) in _SCALARS else self._plain(v) for v in value]
            if not all(type(v) in _SCALARS or _KINDS.get(type(v)) in _IMMUTABLE for v in value):
                return plain  # holds a list, a dataclass, ...: may change in place, never reused
            hit = (value, plain, False, ())
        self._keep(hit)
        self._inside.append(hit)
        return hit[1]

    def _fields(self, value: Any, cls: type) -> tuple[dict[str, Any], bool]:
        """The plain form of a dataclass, and whether it is flat (every field a scalar or an atom)."""
        names, getter = _plan(cls)
        values = getter(value)
        out = dict(zip(names, values, strict=True))
        flat = True
        for name, v in zip(names, values, strict=True):
            if type(v) not in _SCALARS:
                plain = out[name] = self._plain(v)
                flat = flat and (type(plain) in _SCALARS or id(plain) in self.atoms)
        return out, flat


def _sort_key(value: Any) -> str:
    return repr(value)


def to_plain(value: Any) -> Any:
    return Encoder().encode(value)


# --- decoding ----------------------------------------------------------------------------------------
Decoder = Callable[[Any], Any]
_DECODERS: dict[Any, Decoder] = {}


def from_plain(cls: type[T], data: Any, path: str = "") -> T:
    """``data`` (JSON) as a value of type ``cls``; ``DecodeError`` if it is not one."""
    try:
        return _decoder(cls)(data)
    except DecodeError as exc:
        raise exc.within(path) if path else exc from None


def _decoder(tp: Any) -> Decoder:
    """The decoder of ``tp``, built once per type (a restart decodes thousands of values)."""
    found = _DECODERS.get(tp)
    if found is None:
        found = _DECODERS[tp] = _build(tp)
    return found


def _build(tp: Any) -> Decoder:
    if tp is Any:
        return lambda data: data
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        return _union(typing.get_args(tp))
    if origin is not None:
        return _generic(tp, origin)
    if tp in _SCALAR_DECODERS:
        return _SCALAR_DECODERS[tp]
    if isinstance(tp, type) and issubclass(tp, Enum):
        return _enum(tp)
    if tp is datetime or tp is date:
        return _time(tp)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _dataclass(tp)
    raise TypeError(f"no decoder for {tp!r}")


def _null(data: Any) -> None:
    if data is not None:
        raise DecodeError("", f"expected null, got {_kind(data)}")


def _bool(data: Any) -> bool:
    if type(data) is not bool:
        raise DecodeError("", f"expected true/false, got {_kind(data)}")
    return data


def _int(data: Any) -> int:
    if type(data) is not int:
        raise DecodeError("", f"expected a whole number, got {_kind(data)}")
    return data


def _float(data: Any) -> float:
    if type(data) is float:
        return data
    if type(data) is not int:
        raise DecodeError("", f"expected a number, got {_kind(data)}")
    return float(data)


def _str(data: Any) -> str:
    if type(data) is not str:
        raise DecodeError("", f"expected text, got {_kind(data)}")
    return data


_SCALAR_DECODERS: dict[Any, Decoder] = {type(None): _null, bool: _bool, int: _int, float: _float, str: _str}


def _union(options: tuple[Any, ...]) -> Decoder:
    nullable = type(None) in options
    decoders = [_decoder(o) for o in options if o is not type(None)]

    def decode(data: Any) -> Any:
        if data is None and nullable:
            return None
        problems = []
        for decoder in decoders:
            try:
                return decoder(data)
            except DecodeError as exc:
                problems.append(exc.problem)
        raise DecodeError("", " or ".join(problems))

    return decode


def _enum(tp: type[Enum]) -> Decoder:
    members = {m.value: m for m in tp}

    def decode(data: Any) -> Any:
        try:
            return members[data]
        except (KeyError, TypeError):
            raise DecodeError("", f"{data!r} is not a {tp.__name__}") from None

    return decode


def _time(tp: type[date]) -> Decoder:
    def decode(data: Any) -> Any:
        if type(data) is not str:
            raise DecodeError("", f"expected an ISO {tp.__name__}, got {_kind(data)}")
        try:
            parsed = tp.fromisoformat(data)
        except ValueError:
            raise DecodeError("", f"{data!r} is not an ISO {tp.__name__}") from None
        if tp is date and isinstance(parsed, datetime):
            raise DecodeError("", f"{data!r} is a time where a date belongs")
        return parsed

    return decode


def _generic(tp: Any, origin: Any) -> Decoder:
    args = typing.get_args(tp)
    if origin in (dict, Mapping, Counter):
        key_type, value_type = (args if len(args) == 2 else (*args, int)) if args else (str, Any)
        if key_type is not str:
            raise TypeError(f"mapping keys of {key_type!r} are not supported")
        value = _decoder(value_type)
        counter = origin is Counter

        def mapping(data: Any) -> Any:
            if type(data) is not dict:
                raise DecodeError("", f"expected a mapping, got {_kind(data)}")
            out = {}
            for k, v in sorted(data.items()):  # the order a snapshot's sorted keys give, replayed or not
                try:
                    out[k] = value(v)
                except DecodeError as exc:
                    raise exc.within(k) from None
            return Counter(out) if counter else out

        return mapping
    if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
        items = [_decoder(a) for a in args]

        def fixed(data: Any) -> Any:
            if type(data) is not list or len(data) != len(items):
                raise DecodeError("", f"expected a list of {len(items)} items, got {_kind(data)}")
            return tuple(_items(items, data))

        return fixed
    if origin not in (list, tuple, set, frozenset):
        raise TypeError(f"no decoder for {tp!r}")
    item = _decoder(args[0] if args else Any)
    build = list if origin is tuple else origin  # tuple[X, ...]: built below

    def sequence(data: Any) -> Any:
        if type(data) is not list:
            raise DecodeError("", f"expected a list, got {_kind(data)}")
        try:
            values = [item(v) for v in data]
        except DecodeError:
            values = _items([item] * len(data), data)  # again, to name the item
        return tuple(values) if origin is tuple else build(values)

    return sequence


def _dataclass(cls: type) -> Decoder:
    names = _state_fields(cls)
    allowed = frozenset(names)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    required = frozenset(
        n
        for n in names
        if fields[n].default is dataclasses.MISSING and fields[n].default_factory is dataclasses.MISSING
    )
    hints = typing.get_type_hints(cls)
    decoders: dict[str, Decoder] = {}

    def decode(data: Any) -> Any:
        if type(data) is not dict:
            raise DecodeError("", f"expected a {cls.__name__} object, got {_kind(data)}")
        if not allowed.issuperset(data):
            raise DecodeError("", f"unknown fields {sorted(set(data) - allowed)} for {cls.__name__}")
        if not required.issubset(data):
            raise DecodeError(sorted(required - set(data))[0], "missing")
        if not decoders:  # built on first use: a dataclass may refer to itself or to later ones
            decoders.update({n: _decoder(hints[n]) for n in names})
        values = {}
        for k, v in data.items():
            try:
                values[k] = decoders[k](v)
            except DecodeError as exc:
                raise exc.within(k) from None
        try:
            return cls(**values)
        except (TypeError, ValueError) as exc:  # the class's own range checks (__post_init__)
            raise DecodeError("", f"{cls.__name__}: {exc}") from None

    return decode


def _items(decoders: list[Decoder], data: list[Any]) -> list[Any]:
    out = []
    for i, (decode, v) in enumerate(zip(decoders, data, strict=True)):
        try:
            out.append(decode(v))
        except DecodeError as exc:
            raise exc.within(f"[{i}]") from None
    return out


def _kind(data: Any) -> str:
    text = repr(data)
    return f"{type(data).__name__} {text[:40]}"
