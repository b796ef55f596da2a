"""How parameter text becomes values: LEAN hands every parameter over as a string, so each
setting is parsed and formatted back here (``core.settings`` declares them, ``core.settings_rules``
checks them).  Parsing is strict: Python's ``int("1_0")`` is 10 and ``date.fromisoformat("20250102")``
is a date, but neither is what a user who typed it into config.json meant, so neither is accepted."""

from __future__ import annotations

import dataclasses
import math
import re
from datetime import date, time
from typing import Any

_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?(nan|inf|infinity)", re.IGNORECASE)
_TIME = re.compile(r"(\d{1,2}):(\d{2})")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, tuple):
        return ",".join(format_value(v) for v in value)
    return str(value)


def kind_of(f: dataclasses.Field[Any]) -> str:
    """``"int"``, ``"float"``, ``"time"``, ``"str"``, ``"bool"`` or ``"tuple[float,...]"`` etc."""
    return str(f.type).replace(" ", "")


def parse_value(f: dataclasses.Field[Any], raw: Any) -> Any:
    """The typed value of one parameter's text; ValueError says what is wrong with its form.
    Whether the value is allowed (ranges, symbols, relations) is ``core.settings_rules``' job."""
    kind = kind_of(f)
    text = str(raw).strip()
    if kind.startswith("tuple["):
        inner = kind[len("tuple[") : kind.index(",")]
        items = [s.strip() for s in text.split(",")] if text else []
        if not items:
            raise ValueError("expected a comma-separated list, got nothing")
        if "" in items:
            raise ValueError(f"{text!r} has an empty item")
        return tuple(_scalar(inner, s) for s in items)
    return _scalar(kind, text)


def _scalar(kind: str, text: str) -> Any:
    if kind == "bool":
        lowered = text.lower()
        if lowered in ("true", "1", "yes", "on"):
            return True
        if lowered in ("false", "0", "no", "off"):
            return False
        raise ValueError(f"{text!r} is not true/false")
    if kind == "int":
        if not _INT.fullmatch(text):
            raise ValueError(f"{text!r} is not a whole number")
        return int(text)
    if kind == "float":
        return parse_number(text)
    if kind == "time":
        match = _TIME.fullmatch(text)
        try:
            if match is None:
                raise ValueError
            return time(int(match[1]), int(match[2]))
        except ValueError:
            raise ValueError(f"{text!r} is not a time HH:MM") from None
    return text


def parse_number(text: str) -> float:
    """A finite decimal number, written as people write them (no ``1_0``, no ``nan``/``inf``)."""
    if not _FLOAT.fullmatch(text.strip()):
        raise ValueError(f"{text!r} is not a number")
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number")
    return value


def parse_date(text: str) -> date:
    """``YYYY-MM-DD`` exactly (``date.fromisoformat`` also takes ``20250102`` and week dates)."""
    try:
        if not _DATE.fullmatch(text.strip()):
            raise ValueError
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a date YYYY-MM-DD") from None


def named_values(items: tuple[str, ...]) -> dict[str, float]:
    """``("zero_dte:0.88", ...)`` -> ``{"zero_dte": 0.88}``; raises ValueError naming a bad item
    or a name listed twice (the second would silently win)."""
    out: dict[str, float] = {}
    for item in items:
        name, sep, value = (part.strip() for part in item.partition(":"))
        try:
            number = parse_number(value)
        except ValueError:
            number = math.nan
        if not sep or not name or not math.isfinite(number):
            raise ValueError(f"{item!r} is not NAME:NUMBER")
        if name in out:
            raise ValueError(f"{name} is listed twice")
        out[name] = number
    return out


def parse_ex_dividends(text: str) -> dict[str, list[tuple[date, float]]]:
    """``"SPY:2025-03-21:1.70;QQQ:..."`` -> ``{"SPY": [(date, 1.70)]}``; ValueError on a bad entry."""
    out: dict[str, list[tuple[date, float]]] = {}
    for item in (part.strip() for part in text.split(";")):
        if not item:
            continue
        try:
            symbol, day, amount = item.split(":")
            parsed = (parse_date(day), parse_number(amount))
        except ValueError:
            raise ValueError(f"{item!r} is not SYMBOL:YYYY-MM-DD:AMOUNT") from None
        if parsed[1] < 0:
            raise ValueError(f"{item!r}: the amount must be a non-negative number")
        out.setdefault(symbol.strip(), []).append(parsed)
    return out
