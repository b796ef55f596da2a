"""How parameter text becomes values: LEAN hands every parameter over as a string, so each
setting is parsed, range-checked and formatted back here (``core.settings`` declares them)."""

from __future__ import annotations

import dataclasses
import math
from datetime import date, time
from typing import Any


def format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, tuple):
        return ",".join(format_value(v) for v in value)
    return str(value)


def _kind(f: dataclasses.Field[Any]) -> str:
    return str(f.type).replace(" ", "")


def parse_value(f: dataclasses.Field[Any], raw: Any) -> Any:
    kind = _kind(f)
    text = str(raw).strip()
    if kind.startswith("tuple["):
        inner = kind[len("tuple[") : kind.index(",")]
        items = [s.strip() for s in text.split(",") if s.strip()] if text else []
        if not items:
            raise ValueError("expected a comma-separated list, got nothing")
        parsed = tuple(_scalar(inner, s) for s in items)
        for v in parsed:
            check_range(f, v)
        return parsed
    value = _scalar(kind, text)
    check_range(f, value)
    return value


def _scalar(kind: str, text: str) -> Any:
    if kind == "bool":
        lowered = text.lower()
        if lowered in ("true", "1", "yes", "on"):
            return True
        if lowered in ("false", "0", "no", "off"):
            return False
        raise ValueError(f"{text!r} is not true/false")
    if kind == "int":
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a whole number") from None
    if kind == "float":
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a number") from None
        if not math.isfinite(value):
            raise ValueError(f"{text!r} is not a finite number")
        return value
    if kind == "time":
        try:
            hh, mm = text.split(":")
            return time(int(hh), int(mm))
        except ValueError:
            raise ValueError(f"{text!r} is not a time HH:MM") from None
    return text


def check_range(f: dataclasses.Field[Any], value: Any) -> None:
    lo, hi = f.metadata.get("lo"), f.metadata.get("hi")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return
    if lo is not None and value < lo:
        raise ValueError(f"{value} is below the minimum {lo}")
    if hi is not None and value > hi:
        raise ValueError(f"{value} is above the maximum {hi}")


def named_values(items: tuple[str, ...]) -> dict[str, float]:
    """``("zero_dte:0.88", ...)`` -> ``{"zero_dte": 0.88}``; raises ValueError naming a bad item."""
    out: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition(":")
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not sep or not name.strip() or not math.isfinite(number):
            raise ValueError(f"{item!r} is not NAME:NUMBER")
        out[name.strip()] = number
    return out


def parse_ex_dividends(text: str) -> dict[str, list[tuple[date, float]]]:
    """``"SPY:2025-03-21:1.70;QQQ:..."`` -> ``{"SPY": [(date, 1.70)]}``; ValueError on a bad entry."""
    out: dict[str, list[tuple[date, float]]] = {}
    for item in (part.strip() for part in text.split(";")):
        if not item:
            continue
        try:
            symbol, day, amount = item.split(":")
            parsed = (date.fromisoformat(day.strip()), float(amount))
        except ValueError:
            raise ValueError(f"{item!r} is not SYMBOL:YYYY-MM-DD:AMOUNT") from None
        if not math.isfinite(parsed[1]) or parsed[1] < 0:
            raise ValueError(f"{item!r}: the amount must be a non-negative number")
        out.setdefault(symbol.strip(), []).append(parsed)
    return out
