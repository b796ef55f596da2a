"""Engine-neutral helpers of the LEAN adapter, kept here so they are unit-tested without LEAN.

Nothing in this module imports LEAN: ``lean_adapter.platform`` reads LEAN objects into plain values and
hands them to these functions (state-store key namespacing, adapter-only parameters, option
quotes with a Greeks fallback, day opens, log-line formatting; combo order events are
``lean_adapter.combo_events``).
"""

from __future__ import annotations

import base64
import dataclasses
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import Enum
from typing import Any

import numpy as np

from core.option_math import black76_greeks, black76_implied_vol, bs_greeks, implied_vol
from core.ports import Severity
from core.settings import Settings, SettingsError
from core.types import (
    ExerciseStyle,
    OptionContract,
    OptionQuote,
    Right,
    SecurityKind,
    Settlement,
)

# --------------------------------------------------------------------------------- state store keys

STORE_NAMESPACE = "tomking"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _segment(text: str) -> str:
    cleaned = _UNSAFE.sub("_", text.strip()).strip(".")
    return cleaned or "default"


def store_key(project: str, live: bool, key: str) -> str:
    """ObjectStore key for ``key``, namespaced by project and mode.

    Local LEAN shares one ObjectStore (``storage/``) between every project and run, so keys carry
    the project.  Live state must survive restarts and redeploys: ``tomking/<project>/live/<key>``.
    A backtest starts from an empty book: its namespace ``tomking/<project>/backtest/`` is cleared
    when it starts (``store_prefix``), so backtests never see each other's state nor pile up one
    namespace per run in ``storage/``.
    """
    parts = [p for p in key.split("/") if p]
    if not parts or any(p in (".", "..") for p in parts):
        raise ValueError(f"invalid state key {key!r}")
    return store_prefix(project, live) + "/".join(_segment(p) for p in parts)


def store_prefix(project: str, live: bool) -> str:
    return f"{STORE_NAMESPACE}/{_segment(project)}/{'live' if live else 'backtest'}/"


def encode_bytes(data: bytes) -> str:
    """Bytes as ASCII text (the ObjectStore's string API is the portable one in Python)."""
    return base64.b64encode(data).decode("ascii")


def decode_bytes(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


# ------------------------------------------------------------------------ adapter-only parameters

# Optional parameters the LEAN adapter reads itself (they configure LEAN's Notify, not the
# rulebook), with their default text and description.  They are not in config.json (which holds
# exactly the Settings parameters, as the offline engine reads it too): set them as project
# parameters in QuantConnect Cloud or add them to config.json for a local live deployment.
ADAPTER_PARAMETERS: dict[str, tuple[str, str]] = {
    "notify_email": ("", "address for LEAN email alerts in live trading; empty = log only"),
    "notify_web_url": (
        "",
        "URL LEAN posts alerts to in live trading; empty = off. A URL that embeds a token is a "
        "secret: set it in the cloud project's parameters, never in the committed config.json",
    ),
    "notify_min_severity": ("warning", "lowest severity sent to email/web: info, warning or critical"),
    "live_order_deadline_seconds": (
        "300",
        "live: an order still only Submitted after this many seconds is suspect (Tastytrade reports no rejections)",
    ),
}

_SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


@dataclass(frozen=True, slots=True)
class AdapterOptions:
    notify_email: str = ""
    notify_web_url: str = ""
    notify_min_severity: Severity = Severity.WARNING
    live_order_deadline_seconds: int = 300

    def should_send(self, severity: Severity) -> bool:
        return _SEVERITY_RANK[severity] >= _SEVERITY_RANK[self.notify_min_severity]


def split_parameters(params: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """(Settings parameters, adapter parameters) from LEAN's flat parameter mapping."""
    settings: dict[str, str] = {}
    adapter: dict[str, str] = {}
    for name, value in params.items():
        (adapter if name in ADAPTER_PARAMETERS else settings)[str(name)] = str(value)
    return settings, adapter


def parse_adapter_options(params: Mapping[str, str], source: str = "parameters") -> AdapterOptions:
    problems: list[str] = []
    severity = Severity.WARNING
    raw = params.get("notify_min_severity", ADAPTER_PARAMETERS["notify_min_severity"][0]).strip().lower()
    try:
        severity = Severity(raw)
    except ValueError:
        problems.append(f"{source}.notify_min_severity: {raw!r} is not one of info, warning, critical")
    email = params.get("notify_email", "").strip()
    if email and "@" not in email:
        problems.append(f"{source}.notify_email: {email!r} is not an email address")
    url = params.get("notify_web_url", "").strip()
    if url and not url.startswith(("https://", "http://")):
        problems.append(f"{source}.notify_web_url: must start with https:// or http://")
    raw_deadline = params.get("live_order_deadline_seconds", "300").strip()
    deadline = int(raw_deadline) if raw_deadline.isdigit() else 0
    if not 30 <= deadline <= 86_400:
        problems.append(
            f"{source}.live_order_deadline_seconds: {raw_deadline!r} is not a whole number 30..86400"
        )
    if problems:
        raise SettingsError(problems)
    return AdapterOptions(email, url, severity, deadline)


def load_parameters(params: Mapping[str, Any], source: str) -> tuple[Settings, AdapterOptions]:
    """Settings and adapter options together; one SettingsError lists every problem of both."""
    settings_params, adapter_params = split_parameters(params)
    problems: list[str] = []
    settings: Settings | None = None
    options: AdapterOptions | None = None
    try:
        settings = Settings.from_parameters(settings_params, source)
    except SettingsError as exc:
        problems += exc.problems
    try:
        options = parse_adapter_options(adapter_params, source)
    except SettingsError as exc:
        problems += exc.problems
    if problems or settings is None or options is None:
        raise SettingsError(problems)
    return settings, options


# ------------------------------------------------------------------------------ option contracts

_SETTLEMENT = {
    SecurityKind.INDEX_OPTION: Settlement.CASH,
    SecurityKind.EQUITY_OPTION: Settlement.SHARES,
    SecurityKind.FUTURE_OPTION: Settlement.FUTURE,
}


def make_option_contract(
    root: str,
    underlying: str,
    is_call: bool,
    strike: float,
    expiry: date,
    multiplier: float,
    kind: SecurityKind,
    american: bool,
) -> OptionContract:
    if kind not in _SETTLEMENT:
        raise ValueError(f"{kind} is not an option kind")
    return OptionContract(
        root=root,
        underlying=underlying,
        right=Right.CALL if is_call else Right.PUT,
        strike=float(strike),
        expiry=expiry,
        multiplier=float(multiplier),
        kind=kind,
        style=ExerciseStyle.AMERICAN if american else ExerciseStyle.EUROPEAN,
        settlement=_SETTLEMENT[kind],
    )


# ------------------------------------------------------------------------------ universe bands


@dataclass(frozen=True, slots=True)
class StrikeBand:
    """Contracts a universe keeps: ``min_dte..max_dte`` days out, strikes within ``low..high``
    times the underlying price (moneyness, e.g. 0.60..0.95 for far OTM puts), of ``right``
    (None = calls and puts)."""

    min_dte: int
    max_dte: int
    low: float
    high: float
    right: Right | None = None


def in_bands(
    strike: float, expiry: date, is_call: bool, spot: float, today: date, bands: Sequence[StrikeBand]
) -> bool:
    """True when the contract falls in any band (always False without a positive spot)."""
    if not (spot > 0.0 and math.isfinite(spot)):
        return False
    dte = (expiry - today).days
    ratio = strike / spot
    right = Right.CALL if is_call else Right.PUT
    return any(
        b.min_dte <= dte <= b.max_dte and b.low <= ratio <= b.high and b.right in (None, right) for b in bands
    )


# --------------------------------------------------------------------- quotes and Greeks fallback

SETTLEMENT_TIME = time(16, 0)
_MIN_YEARS = 1.0 / (365.0 * 24.0 * 60.0)  # one minute: Greeks stay defined on expiry day


def years_to_expiry(now: datetime, expiry: date, settle: time = SETTLEMENT_TIME) -> float:
    """Calendar-year fraction from ``now`` to ``expiry`` at ``settle`` (never below one minute)."""
    seconds = (datetime.combine(expiry, settle) - now).total_seconds()
    return max(_MIN_YEARS, seconds / (365.0 * 86400.0))


@dataclass(frozen=True, slots=True)
class RawOptionQuote:
    """One contract as read from LEAN: top of book plus LEAN's own IV and Greeks.

    ``theta`` is per calendar day (LEAN's ``greeks.theta_per_day``); delta and gamma per point and
    vega per volatility point, as LEAN's default (indicator-based) option price model reports them.
    """

    contract: OptionContract
    time: datetime
    bid: float
    ask: float
    bid_size: int
    ask_size: int
    volume: int
    open_interest: int
    underlying_price: float
    iv: float
    delta: float
    gamma: float
    theta: float
    vega: float


def _finite(*values: float) -> bool:
    return all(math.isfinite(v) for v in values)


def greeks_usable(raw: RawOptionQuote) -> bool:
    """LEAN's values are used unless missing: zero/invalid IV, non-finite or impossible Greeks, or
    all-zero Greeks (what LEAN reports before its price model has data)."""
    if not _finite(raw.iv, raw.delta, raw.gamma, raw.theta, raw.vega):
        return False
    if raw.iv <= 0.0 or raw.iv > 5.0 or abs(raw.delta) > 1.0:
        return False
    return not (raw.delta == 0.0 and raw.gamma == 0.0 and raw.vega == 0.0)


def _mid_or_nan(bid: float, ask: float) -> float:
    if _finite(bid, ask) and bid > 0.0 and ask > 0.0 and ask >= bid:
        return 0.5 * (bid + ask)
    return math.nan


def build_quotes(
    raws: Sequence[RawOptionQuote], now: datetime, rate: float, dividend_yield: float = 0.0
) -> list[OptionQuote]:
    """Core quotes, with Greeks recomputed by ``core.option_math`` where LEAN's are missing.

    Fallback: sigma = LEAN's IV when valid, else implied from the mid; Black-76 on the futures
    price for futures options, Black-Scholes-Merton otherwise (European formulas also for American
    contracts, an approximation that is close for the OTM strikes the strategies trade).  Quotes
    whose IV cannot be found keep NaN Greeks, which the data-quality rules reject for entries.
    """
    out: list[OptionQuote | None] = [None] * len(raws)
    missing: list[int] = []
    for i, raw in enumerate(raws):
        if greeks_usable(raw):
            out[i] = _to_quote(raw, raw.iv, raw.delta, raw.gamma, raw.theta, raw.vega)
        else:
            missing.append(i)
    if missing:
        for i, vals in zip(
            missing, _fallback([raws[i] for i in missing], now, rate, dividend_yield), strict=True
        ):
            out[i] = _to_quote(raws[i], *vals)
    return [q for q in out if q is not None]


def _fallback(
    raws: Sequence[RawOptionQuote], now: datetime, rate: float, q: float
) -> list[tuple[float, float, float, float, float]]:
    """(iv, delta, gamma, theta, vega) per raw quote, vectorised per model."""
    nan5 = (math.nan, math.nan, math.nan, math.nan, math.nan)
    results: list[tuple[float, float, float, float, float]] = [nan5 for _ in raws]
    futures = [i for i, r in enumerate(raws) if r.contract.kind is SecurityKind.FUTURE_OPTION]
    others = [i for i, r in enumerate(raws) if r.contract.kind is not SecurityKind.FUTURE_OPTION]
    for idx, black76 in ((futures, True), (others, False)):
        if not idx:
            continue
        sel = [raws[i] for i in idx]
        spot = np.array([r.underlying_price for r in sel], dtype=np.float64)
        strike = np.array([r.contract.strike for r in sel], dtype=np.float64)
        years = np.array([years_to_expiry(now, r.contract.expiry) for r in sel], dtype=np.float64)
        calls = np.array([r.contract.is_call for r in sel], dtype=bool)
        mids = np.array([_mid_or_nan(r.bid, r.ask) for r in sel], dtype=np.float64)
        lean_iv = np.array([r.iv if _finite(r.iv) and 0.0 < r.iv <= 5.0 else np.nan for r in sel])
        if black76:
            solved = black76_implied_vol(mids, spot, strike, years, rate, calls)
        else:
            solved = implied_vol(mids, spot, strike, years, rate, q, calls)
        sigma = np.where(np.isnan(lean_iv), solved, lean_iv)
        sigma = np.where(sigma > 0.0, sigma, np.nan)  # zero IV (price at intrinsic) gives no Greeks
        if black76:
            g = black76_greeks(spot, strike, years, rate, sigma, calls)
        else:
            g = bs_greeks(spot, strike, years, rate, q, sigma, calls)
        for k, i in enumerate(idx):
            results[i] = (
                float(sigma[k]),
                float(g.delta[k]),
                float(g.gamma[k]),
                float(g.theta[k]),
                float(g.vega[k]),
            )
    return results


def _to_quote(
    raw: RawOptionQuote, iv: float, delta: float, gamma: float, theta: float, vega: float
) -> OptionQuote:
    return OptionQuote(
        contract=raw.contract,
        time=raw.time,
        bid=raw.bid,
        ask=raw.ask,
        bid_size=raw.bid_size,
        ask_size=raw.ask_size,
        volume=raw.volume,
        open_interest=raw.open_interest,
        underlying_price=raw.underlying_price,
        iv=iv,
        delta=delta,
        gamma=gamma,
        theta=theta,
        vega=vega,
    )


def sort_quotes(quotes: Iterable[OptionQuote]) -> tuple[OptionQuote, ...]:
    """Chain order of ``core.types.OptionChain``: by strike, then right (calls before puts)."""
    return tuple(sorted(quotes, key=lambda q: (q.contract.strike, q.contract.right.value)))


# -------------------------------------------------------------------------------------- day opens


class DayOpens:
    """The first price seen each day per underlying (the 'open' of the move-since-open rules)."""

    def __init__(self) -> None:
        self._day: date | None = None
        self._opens: dict[str, float] = {}

    def observe(self, now: datetime, key: str, price: float) -> None:
        if self._day != now.date():
            self._day = now.date()
            self._opens = {}
        if key not in self._opens and math.isfinite(price) and price > 0.0:
            self._opens[key] = price

    def opens(self, now: datetime) -> dict[str, float]:
        return dict(self._opens) if self._day == now.date() else {}


# ----------------------------------------------------------------------------------- log lines

_MAX_LINE = 400


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    if isinstance(value, Enum):
        return str(value.value)
    group_id = getattr(value, "group_id", None)
    if group_id is not None and dataclasses.is_dataclass(value):
        status = getattr(value, "status", "")
        return f"{group_id}({_fmt(status)} x{getattr(value, 'quantity', '?')})"
    return str(value)


def format_record(kind: str, when: datetime, payload: Mapping[str, Any]) -> str:
    """One concise log line for an event-sink record (truncated, never multi-line)."""
    body = " ".join(f"{k}={_fmt(v)}" for k, v in payload.items())
    line = f"{when:%Y-%m-%d %H:%M:%S} {kind} {body}".rstrip().replace("\n", " ")
    return line if len(line) <= _MAX_LINE else line[: _MAX_LINE - 3] + "..."


def format_alert(severity: Severity, title: str, message: str) -> str:
    return f"[{severity.value.upper()}] {title}: {message}".replace("\n", " ")


__all__ = [
    "ADAPTER_PARAMETERS",
    "STORE_NAMESPACE",
    "AdapterOptions",
    "DayOpens",
    "RawOptionQuote",
    "StrikeBand",
    "build_quotes",
    "decode_bytes",
    "encode_bytes",
    "format_alert",
    "format_record",
    "greeks_usable",
    "in_bands",
    "load_parameters",
    "make_option_contract",
    "parse_adapter_options",
    "sort_quotes",
    "split_parameters",
    "store_key",
    "store_prefix",
    "years_to_expiry",
]
