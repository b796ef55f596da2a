"""What makes a set of parameters valid, in one place for both engines (LEAN's ``main.py`` and the
offline engine build ``Settings`` the same way, so both refuse the same mistakes).

Rules of one parameter live in its field's metadata (``lo``/``hi`` for numbers and times,
``choices`` for symbols and words, ``names`` for ``NAME:NUMBER`` lists, ``length``, ``ascending``);
rules between parameters are the ``RELATIONS`` below.  ``constraints`` renders both as text for
``python -m sim params``.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass
from datetime import date, time
from typing import Any

from core.settings_text import format_value, named_values, parse_date, parse_ex_dividends

# Regular session of the US index and equity options the strategies trade (New York time).
SESSION_OPEN, SESSION_CLOSE = time(9, 30), time(16, 0)
LAST_ENTRY = time(15, 59)  # an entry needs a minute of session left
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri")
STRATEGIES = ("zero_dte", "lt112", "strangle", "ipmcc", "leap_ladder")
# Backtest dates: the span the exchange calendar and LEAN's US data cover sensibly.
FIRST_DATE, LAST_DATE = date(1990, 1, 1), date(2099, 12, 31)

# Symbols each parameter may name: the rulebook's underlyings that the engines list (main.py's
# subscriptions; sim/markets/synthetic/listings.py).  An engine that learns a new product adds it here.
ETFS = ("SPY", "QQQ", "IWM")
STRANGLE_FUTURES = ("ES", "CL", "GC")
MICRO_ROOTS = ("ES:MES", "CL:MCL", "GC:MGC")


@dataclass(frozen=True)
class Problem:
    """One broken rule: the parameters involved (to say where they came from) and what is wrong."""

    names: tuple[str, ...]
    message: str

    def __str__(self) -> str:
        return f"{self.names[0]}: {self.message}" if len(self.names) == 1 else self.message


@dataclass(frozen=True)
class Relation:
    """``lower <= upper`` (``<`` when strict) between two parameters; ``name[i]`` is a list item."""

    lower: str
    upper: str
    strict: bool
    why: str

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(ref.partition("[")[0] for ref in (self.lower, self.upper)))

    @property
    def op(self) -> str:
        return "<" if self.strict else "<="


def _le(lower: str, upper: str, why: str) -> Relation:
    return Relation(lower, upper, False, why)


def _lt(lower: str, upper: str, why: str) -> Relation:
    return Relation(lower, upper, True, why)


def _window(prefix: str, what: str) -> tuple[Relation, ...]:
    return (
        _le(f"{prefix}_min_dte", f"{prefix}_target_dte", f"the {what} target expiry lies outside its window"),
        _le(f"{prefix}_target_dte", f"{prefix}_max_dte", f"the {what} target expiry lies outside its window"),
    )


def _band(value: str, band: str) -> tuple[Relation, ...]:
    why = "the target delta lies outside its accepted band"
    return _le(f"{band}[0]", value, why), _le(value, f"{band}[1]", why)


RELATIONS: tuple[Relation, ...] = (
    _le("zero_dte_first_entry", "zero_dte_last_entry", "the 0DTE entry window would be empty"),
    _lt("zero_dte_last_entry", "zero_dte_close_time", "0DTE entries would open after the forced close"),
    _lt("zero_dte_long_delta", "zero_dte_short_delta", "the wings must be further out than the shorts"),
    *_window("lt112", "LT112"),
    _lt("lt112_spread_exit_dte", "lt112_min_dte", "a new LT112 unit would be closed at once"),
    _lt("lt112_naked_delta", "lt112_long_delta", "the naked puts must be further out than the long put"),
    *_window("strangle", "strangle"),
    _lt("strangle_exit_dte", "strangle_min_dte", "a new strangle would be closed at once"),
    *_band("strangle_put_delta", "strangle_put_delta_range"),
    *_band("strangle_call_delta", "strangle_call_delta_range"),
    _le("ipmcc_long_min_dte", "ipmcc_long_target_dte", "the IPMCC long call target is below its minimum"),
    _lt("ipmcc_long_min_hold_dte", "ipmcc_long_min_dte", "a new IPMCC long call would be rolled at once"),
    _lt(
        "ipmcc_short_dte", "ipmcc_long_min_hold_dte", "the weekly call would outlive the long call it covers"
    ),
    *_band("ipmcc_long_delta", "ipmcc_long_delta_range"),
    _lt("ipmcc_short_delta", "ipmcc_long_delta", "the weekly call must be further out than the long call"),
    *_window("leap", "LEAP"),
    _lt("leap_roll_dte", "leap_min_dte", "a new LEAP rung would be rolled at once"),
    _le(
        "leap_skip_below_vix", "leap_double_above_vix", "a VIX between them would both skip and double a rung"
    ),
    _le("leap_bp_per_rung", "leap_bp_total", "one rung may not use more than the whole ladder"),
    _le("risk_daily_loss_halt", "risk_weekly_loss_halt", "the weekly halt would fire before the daily one"),
    _le(
        "risk_weekly_loss_halt", "risk_monthly_loss_halt", "the monthly halt would fire before the weekly one"
    ),
    _le(
        "risk_underperformance_min_trades",
        "risk_underperformance_window",
        "the window never holds enough trades, so the check never runs",
    ),
    _le("start_date", "end_date", "the backtest period would be empty"),
)
# (name, other, why): pairs that must not be equal
DISTINCT = (
    (
        "zero_dte_mini_root",
        "zero_dte_root",
        "it is the smaller contract used when a full-size condor does not fit",
    ),
)


def problems(settings: Any) -> list[Problem]:
    """Every rule ``settings`` breaks: each field's own rules, then the relations between fields
    (a relation involving a field that is itself invalid is not checked)."""
    out: list[Problem] = []
    for f in dataclasses.fields(settings):
        out += [Problem((f.name,), m) for m in field_problems(f, getattr(settings, f.name))]
    bad = {p.names[0] for p in out}
    for rel in RELATIONS:
        if bad.isdisjoint(rel.names):
            lower, upper = _ref(settings, rel.lower), _ref(settings, rel.upper)
            if not (lower < upper if rel.strict else lower <= upper):
                verb = _ORDER_WORDS[isinstance(lower, time | date), rel.strict]
                text = f"{rel.lower} ({_text(lower)}) must be {verb} {rel.upper} ({_text(upper)}): {rel.why}"
                out.append(Problem(rel.names, text))
    for first, second, why in DISTINCT:
        if bad.isdisjoint((first, second)) and getattr(settings, first) == getattr(settings, second):
            text = f"{first} must differ from {second} ({getattr(settings, second)}): {why}"
            out.append(Problem((first, second), text))
    return out


def field_problems(f: dataclasses.Field[Any], value: Any) -> list[str]:
    """What is wrong with one parameter's value on its own (empty when nothing)."""
    meta = f.metadata
    items = value if isinstance(value, tuple) else (value,)
    out: list[str] = []
    for item in items:
        try:
            _check_range(meta, item)
        except ValueError as exc:
            out.append(f"{item} is not a weekday Mon=0 .. Fri=4" if meta.get("weekday") else str(exc))
    if meta.get("names"):
        out += _named_problems(items, meta["names"], meta.get("lo"), meta.get("hi"))
    choices = meta.get("choices")
    if choices is not None:
        unknown = [v for v in items if v not in choices]
        if unknown:
            allowed = ", ".join(c if c else "'' (none)" for c in choices)
            out.append(f"{', '.join(map(repr, unknown))} not allowed here; allowed: {allowed}")
    if isinstance(value, tuple):
        repeated = sorted({format_value(v) for v in value if value.count(v) > 1})
        if repeated and choices is not None:
            out.append(f"{', '.join(repeated)} listed twice")
        if meta.get("length") is not None and len(value) != meta["length"]:
            out.append(f"needs {meta['length']} values, got {len(value)}")
        if meta.get("ascending") and any(a >= b for a, b in itertools.pairwise(value)):
            out.append(f"must be strictly ascending, got {format_value(value)}")
    if meta.get("kind") == "date":
        out += _date_problems(str(value))
    if meta.get("kind") == "ex_dividends":
        try:
            unknown = sorted(set(parse_ex_dividends(str(value))) - set(ETFS))
            if unknown:
                out.append(f"{', '.join(unknown)} not allowed here; allowed: {', '.join(ETFS)}")
        except ValueError as exc:
            out.append(str(exc))
    return out


def constraints(f: dataclasses.Field[Any]) -> str:
    """The rules of one parameter as short text, e.g. ``0.01..0.5; < zero_dte_short_delta``."""
    meta, parts = f.metadata, []
    lo, hi = meta.get("lo"), meta.get("hi")
    span = f"{'' if lo is None else _text(lo)}..{'' if hi is None else _text(hi)}"
    if meta.get("weekday"):
        parts.append("0..4 (Mon..Fri)")
    elif meta.get("names") == ("*",):
        parts.append(f"SYMBOL:NUMBER,... with NUMBER in {span}")
    elif meta.get("names"):
        parts.append(f"NAME:NUMBER,... with NAME one of {', '.join(meta['names'])} and NUMBER in {span}")
    elif lo is not None or hi is not None:
        parts.append(span)
    if meta.get("choices") is not None:
        parts.append("one of " + ", ".join(c if c else "'' (none)" for c in meta["choices"]))
    if meta.get("length") is not None:
        parts.append(f"{meta['length']} values")
    if meta.get("ascending"):
        parts.append("strictly ascending")
    if meta.get("kind") == "date":
        parts.append(f"YYYY-MM-DD in {FIRST_DATE}..{LAST_DATE}")
    if meta.get("kind") == "ex_dividends":
        parts.append("SYMBOL:YYYY-MM-DD:AMOUNT;... with SYMBOL one of " + ", ".join(ETFS))
    for rel in RELATIONS:
        for mine, other, op in ((rel.lower, rel.upper, rel.op), (rel.upper, rel.lower, _flip(rel.op))):
            if mine == f.name:
                parts.append(f"{op} {other}")
    parts += [f"!= {second}" for first, second, _ in DISTINCT if first == f.name]
    return "; ".join(parts)


# --- internals -------------------------------------------------------------------------------
def _check_range(meta: Any, value: Any) -> None:
    lo, hi = meta.get("lo"), meta.get("hi")
    if isinstance(value, bool) or not isinstance(value, int | float | time):
        return
    if isinstance(value, time) != isinstance(lo if lo is not None else hi, time):
        return
    if lo is not None and value < lo:
        raise ValueError(f"{_text(value)} is {_below(value)} the minimum {_text(lo)}")
    if hi is not None and value > hi:
        raise ValueError(f"{_text(value)} is {_above(value)} the maximum {_text(hi)}")


def _below(value: Any) -> str:
    return "before" if isinstance(value, time) else "below"


def _above(value: Any) -> str:
    return "after" if isinstance(value, time) else "above"


def _named_problems(items: tuple[Any, ...], names: tuple[str, ...], lo: Any, hi: Any) -> list[str]:
    try:
        values = named_values(items)
    except ValueError as exc:
        return [str(exc)]
    out = [f"{k}={v} is outside {lo}..{hi}" for k, v in values.items() if not lo <= v <= hi]
    unknown = [k for k in values if names != ("*",) and k not in names]
    if unknown:
        out.append(f"{', '.join(unknown)} not allowed here; allowed: {', '.join(names)}")
    return out


def _date_problems(text: str) -> list[str]:
    try:
        day = parse_date(text)
    except ValueError as exc:
        return [str(exc)]
    if not FIRST_DATE <= day <= LAST_DATE:
        return [f"{day} is outside the supported range {FIRST_DATE}..{LAST_DATE}"]
    return []


def _ref(settings: Any, ref: str) -> Any:
    name, _, index = ref.partition("[")
    value = getattr(settings, name)
    if index:
        value = value[int(index.rstrip("]"))]
    return parse_date(value) if name in ("start_date", "end_date") else value


def _text(value: Any) -> str:
    return format_value(value)


_ORDER_WORDS = {
    (False, True): "below",
    (False, False): "at most",
    (True, True): "before",
    (True, False): "no later than",
}


def _flip(op: str) -> str:
    return {"<": ">", "<=": ">="}[op]
