"""Every tunable of the rulebook, validated once at start-up.

LEAN hands parameters to the algorithm as strings (``config.json`` -> ``parameters``), so settings
are parsed from a flat ``{name: text}`` mapping.  A bad or unknown parameter stops start-up with one
error that lists every problem and where it came from; defaults are STRATEGY_RULES.md's numbers.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date, time
from pathlib import Path
from typing import Any

from core.settings_text import check_range, format_value, named_values, parse_ex_dividends, parse_value


class SettingsError(ValueError):
    """All problems found in the parameters, one per line, each naming its source."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid settings:\n  - " + "\n  - ".join(problems))


def _p(default: Any, lo: float | None = None, hi: float | None = None, doc: str = "") -> Any:
    return field(default=default, metadata={"lo": lo, "hi": hi, "doc": doc})


def _tuple(default: tuple[Any, ...], lo: float | None = None, hi: float | None = None, doc: str = "") -> Any:
    return field(default=default, metadata={"lo": lo, "hi": hi, "doc": doc})


@dataclass(frozen=True)
class Settings:
    # --- account phases and VIX regime -----------------------------------------------------------
    phase_nlv_thresholds: tuple[float, ...] = _tuple(
        (38000.0, 51000.0, 76000.0, 95000.0), 0, None, "NLV where phases 1..4 start (USD)"
    )
    phase_max_bp: tuple[float, ...] = _tuple(
        (0.0, 0.50, 0.65, 0.75, 1.0), 0, 1, "max BP used by phase 0..4 (phase 4 uses the regime cap)"
    )
    regime_vix_bounds: tuple[float, ...] = _tuple(
        (12.0, 16.0, 20.0, 25.0, 30.0), 0, 200, "VIX boundaries of the six regimes"
    )
    regime_max_bp: tuple[float, ...] = _tuple(
        (0.45, 0.60, 0.80, 0.80, 0.80, 0.80), 0, 1, "max BP used per regime, EXTREMELY_LOW..EXTREME"
    )
    entry_window_minutes: int = _p(
        60, 1, 390, "an entry scheduled 'at HH:MM' may still be placed this many minutes later"
    )
    # --- Friday 0DTE iron condor -----------------------------------------------------------------
    zero_dte_enabled: bool = _p(True)
    zero_dte_min_phase: int = _p(1, 1, 4)
    zero_dte_root: str = _p("SPXW", doc="option root traded")
    zero_dte_mini_root: str = _p(
        "XSP", doc="a tenth of SPX, used when one full-size condor would break a cap; empty = never"
    )
    zero_dte_underlying: str = _p("SPX")
    zero_dte_weekday: int = _p(4, 0, 6, "entry weekday (Mon=0, Fri=4)")
    zero_dte_first_entry: time = _p(time(10, 30))
    zero_dte_last_entry: time = _p(time(13, 0))
    zero_dte_min_vix: float = _p(22.0, 0, 200, "enter only when VIX > this")
    zero_dte_max_move: float = _p(0.005, 0, 1, "skip if |move since open| exceeds this fraction")
    zero_dte_short_delta: float = _p(0.16, 0.01, 0.5)
    zero_dte_long_delta: float = _p(0.05, 0.005, 0.5)
    zero_dte_wing_width: float = _p(0.0, 0, 500, "fixed wing width in points; 0 = use long delta")
    zero_dte_profit_target: float = _p(0.50, 0.01, 1, "take profit at this share of the credit")
    zero_dte_stop_loss: float = _p(2.00, 0.1, 20, "stop when loss reaches this multiple of the credit")
    zero_dte_close_time: time = _p(time(15, 30))
    zero_dte_max_bp_share: float = _p(0.25, 0, 1, "share of allowed BP per day")
    zero_dte_max_condors: int = _p(10, 1, 1000)
    zero_dte_min_credit: float = _p(0.50, 0, 1000, "minimum net credit per unit after costs (points)")
    # --- LT112 -----------------------------------------------------------------------------------
    lt112_enabled: bool = _p(True)
    lt112_min_phase: int = _p(1, 1, 4, "SPX below lt112_futures_min_phase")
    lt112_futures_min_phase: int = _p(2, 1, 4, "from this phase LT112 trades /ES options")
    lt112_second_entry_min_phase: int = _p(3, 1, 4, "second monthly entry on the third Wednesday")
    lt112_weekday: int = _p(2, 0, 6, "entry weekday (Wednesday)")
    lt112_futures_root: str = _p("ES")
    lt112_index_root: str = _p("SPX")
    lt112_entry_time: time = _p(time(10, 0))
    lt112_target_dte: int = _p(120, 1, 1000)
    lt112_min_dte: int = _p(110, 1, 1000)
    lt112_max_dte: int = _p(150, 1, 1000)
    lt112_long_delta: float = _p(0.25, 0.01, 0.9)
    lt112_spread_width_es: float = _p(50.0, 1, 1000, "points between the long and short put (ES)")
    lt112_naked_delta: float = _p(0.05, 0.005, 0.5)
    lt112_naked_profit_target: float = _p(0.90, 0.01, 1)
    lt112_spread_exit_dte: int = _p(21, 0, 1000)
    lt112_spread_profit_multiple: float = _p(
        1.50, 1, 100, "close the debit spread when worth this x its cost"
    )
    lt112_stop_credit_multiple: float = _p(2.00, 0.1, 50)
    lt112_stop_nlv_fraction: float = _p(0.02, 0.001, 1)
    lt112_max_units_by_phase: tuple[int, ...] = _tuple((0, 1, 2, 3, 4), 0, 100)
    # --- futures strangles -----------------------------------------------------------------------
    strangle_enabled: bool = _p(True)
    strangle_min_phase: int = _p(2, 1, 4)
    strangle_micro_roots: tuple[str, ...] = _tuple(
        ("ES:MES", "CL:MCL", "GC:MGC"),
        doc="full:micro option roots used when a full-size strangle breaks the BP cap",
    )
    strangle_underlyings: tuple[str, ...] = _tuple(("ES", "CL", "GC"))
    strangle_weekday: int = _p(1, 0, 6)
    strangle_entry_time: time = _p(time(10, 0))
    strangle_target_dte: int = _p(90, 1, 1000)
    strangle_min_dte: int = _p(80, 1, 1000)
    strangle_max_dte: int = _p(100, 1, 1000)
    strangle_put_delta: float = _p(0.06, 0.01, 0.5)
    strangle_call_delta: float = _p(0.06, 0.01, 0.5)
    strangle_put_delta_range: tuple[float, ...] = _tuple((0.05, 0.07), 0.005, 0.5, "accepted short put Δ")
    strangle_call_delta_range: tuple[float, ...] = _tuple((0.05, 0.06), 0.005, 0.5, "accepted short call Δ")
    strangle_profit_target: float = _p(0.50, 0.01, 1)
    strangle_exit_dte: int = _p(21, 0, 1000)
    strangle_stop_loss: float = _p(2.50, 0.1, 50)
    strangle_max_per_underlying: int = _p(3, 1, 100)
    # --- IPMCC -----------------------------------------------------------------------------------
    ipmcc_enabled: bool = _p(True)
    ipmcc_min_phase: int = _p(3, 1, 4)
    ipmcc_weekday: int = _p(4, 0, 6, "weekly short call (and new campaign) weekday")
    ipmcc_entry_time: time = _p(time(10, 0))
    ipmcc_underlyings: tuple[str, ...] = _tuple(("SPY", "QQQ", "IWM"))
    ipmcc_long_delta: float = _p(0.80, 0.5, 0.99)
    ipmcc_long_delta_range: tuple[float, ...] = _tuple((0.75, 0.85), 0.5, 0.99, "accepted long call Δ")
    ipmcc_long_min_dte: int = _p(280, 1, 2000)
    ipmcc_long_target_dte: int = _p(365, 1, 2000)
    ipmcc_max_extrinsic: float = _p(
        0.05, 0, 1, "long call extrinsic below this share of the underlying price"
    )
    ipmcc_short_dte: int = _p(7, 1, 60)
    ipmcc_short_delta: float = _p(0.30, 0.05, 0.6)
    ipmcc_short_profit_target: float = _p(0.50, 0.01, 1)
    ipmcc_long_stop: float = _p(0.20, 0.01, 1, "close the campaign when the long call lost this share")
    ipmcc_long_min_hold_dte: int = _p(120, 1, 2000)
    ipmcc_nlv_share: float = _p(0.08, 0, 1)
    # --- LEAP put ladder -------------------------------------------------------------------------
    leap_enabled: bool = _p(True)
    leap_min_phase: int = _p(3, 1, 4)
    leap_phase4_underlyings: tuple[str, ...] = _tuple(("QQQ", "IWM"), doc="added in phase 4")
    leap_underlyings: tuple[str, ...] = _tuple(("SPY",))
    leap_weekday: int = _p(0, 0, 6)
    leap_entry_time: time = _p(time(10, 0))
    leap_target_dte: int = _p(365, 30, 2000)
    leap_min_dte: int = _p(300, 30, 2000)
    leap_max_dte: int = _p(430, 30, 2000)
    leap_deltas_by_week: tuple[float, ...] = _tuple((0.12, 0.13, 0.14, 0.12), 0.01, 0.5)
    leap_skip_below_vix: float = _p(15.0, 0, 200)
    leap_double_above_vix: float = _p(20.0, 0, 200)
    leap_profit_target: float = _p(0.30, 0.01, 1)
    leap_roll_dte: int = _p(150, 1, 2000)
    leap_stop_loss: float = _p(2.00, 0.1, 50)
    leap_bp_per_rung: float = _p(0.02, 0, 1)
    leap_bp_total: float = _p(0.20, 0, 1)
    leap_max_rungs: int = _p(10, 1, 100)
    # --- portfolio risk --------------------------------------------------------------------------
    risk_daily_loss_halt: float = _p(0.05, 0.001, 1)
    risk_weekly_loss_halt: float = _p(0.10, 0.001, 1)
    risk_monthly_loss_halt: float = _p(0.15, 0.001, 1)
    risk_intraday_drawdown: float = _p(0.03, 0.001, 1)
    risk_consecutive_losses: int = _p(3, 1, 100)
    risk_pause_days: int = _p(5, 0, 100)
    risk_max_position_risk: float = _p(0.05, 0.001, 1, "max loss of one new position as share of NLV")
    risk_correlation_max_per_group: tuple[int, ...] = _tuple((2, 2, 2, 2, 3), 0, 100, "by phase 0..4")
    risk_equity_index_combined_max: tuple[int, ...] = _tuple((3, 3, 3, 3, 4), 0, 100, "A1+A2 by phase")
    # --- risk layer: breakers, budgets, Greeks, expiry and assignment (risk/) --------------------
    risk_expected_win_rates: tuple[str, ...] = _tuple(
        ("zero_dte:0.88", "lt112:0.95", "strangle:0.70", "ipmcc:0.75", "leap_ladder:0.85"),
        doc="strategy:expected win rate (underperformance is measured against it)",
    )
    risk_underperformance_ratio: float = _p(0.80, 0, 1, "underperforming below this x expected win rate")
    risk_underperformance_min_trades: int = _p(10, 1, 10000, "closed trades before underperformance counts")
    risk_underperformance_window: int = _p(20, 1, 10000, "latest closed trades the win rate is taken over")
    risk_reduced_size: float = _p(0.5, 0.01, 1, "size and BP budget factor after a pause / while lagging")
    risk_strategy_bp_shares: tuple[str, ...] = _tuple(
        ("zero_dte:0.25", "lt112:0.40", "strangle:0.40", "ipmcc:0.40", "leap_ladder:0.20"),
        doc="strategy:max share of the allowed BP its open positions may use",
    )
    risk_strategy_bp_default_share: float = _p(0.40, 0, 1, "BP share for a strategy not listed above")
    risk_max_delta_nlv: float = _p(0.015, 0, 10, "|beta-weighted $ delta per 1% SPX move| / NLV")
    risk_max_gamma_nlv: float = _p(0.01, 0, 10, "|$ delta change per 1% move| / NLV")
    risk_max_short_vega_nlv: float = _p(0.01, 0, 10, "short $ vega per vol point / NLV")
    risk_max_theta_nlv: float = _p(0.005, 0, 10, "$ theta per day / NLV (theta must also be >= 0)")
    risk_betas: tuple[str, ...] = _tuple(
        ("NDX:1.15", "QQQ:1.15", "NQ:1.15", "MNQ:1.15", "RUT:1.2", "IWM:1.2", "RTY:1.2", "M2K:1.2",
         "DIA:0.9", "TLT:-0.2", "ZB:-0.2", "ZN:-0.1", "GC:0.0", "MGC:0.0", "SI:0.1", "HG:0.3",
         "CL:0.3", "MCL:0.3", "NG:0.1"),
        doc="underlying:beta to SPX for beta-weighted delta (unlisted: 1.0)",
    )  # fmt: skip
    risk_pin_zone: float = _p(0.01, 0, 0.5, "a short within this share of its strike is near the money")
    risk_pin_close_time: time = _p(time(15, 0), doc="ITM / near-money shorts closed by then")
    risk_pin_close_time_cash: time = _p(time(15, 45), doc="the same for cash-settled index options")
    risk_pin_lead_minutes: int = _p(20, 0, 390, "start closing this long before the pin deadline")
    risk_ex_dividends: str = _p("", doc="SYMBOL:YYYY-MM-DD:amount;... (early-exercise risk)")
    risk_assignment_action: str = _p("flatten", doc="flatten | keep assigned stock/futures")
    risk_breaker_reset: str = _p("", doc="set to a new value to reset every breaker and pause once")
    # --- data quality ----------------------------------------------------------------------------
    dq_max_quote_age_seconds: float = _p(60.0, 1, 86400)
    dq_max_spread_of_mid: float = _p(0.50, 0.01, 10)
    dq_min_volume: int = _p(10, 0, 10**9)
    dq_min_open_interest: int = _p(100, 0, 10**9)
    dq_underlying_jump: float = _p(0.05, 0.001, 1)
    dq_jump_halt_minutes: int = _p(30, 0, 1440)
    dq_stuck_minutes: int = _p(10, 1, 1440, "a quote unchanged this long while the underlying moves is stuck")
    dq_stuck_move: float = _p(0.003, 0.0001, 1, "underlying move that makes an unchanged quote stuck")
    # --- execution -------------------------------------------------------------------------------
    exec_step_minutes: int = _p(5, 1, 120, "minutes between price improvements of a working order")
    exec_max_steps: int = _p(3, 0, 50, "steps from mid toward the natural price before giving up")
    exec_max_concession: float = _p(1.0, 0, 1, "share of the mid-to-natural distance the last price gives up")
    exec_expected_slippage: float = _p(
        1.0,
        0,
        1,
        "expected share of the mid-to-natural distance paid, for entry checks (LEAN fills at natural)",
    )
    # --- engine / run ----------------------------------------------------------------------------
    starting_cash: float = _p(200000.0, 1000, 1e10, "phase 4 with room for all five strategies")
    start_date: str = _p("2025-01-02", doc="backtest start (LEAN and sim)")
    end_date: str = _p("2025-12-31")

    def __post_init__(self) -> None:
        problems = _cross_checks(self)
        if problems:
            raise SettingsError(problems)

    @classmethod
    def from_parameters(cls, params: Mapping[str, Any], source: str = "parameters") -> Settings:
        """Build from LEAN-style string parameters; raises SettingsError listing every problem."""
        known = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {}
        problems: list[str] = []
        for name, raw in params.items():
            f = known.get(name)
            if f is None:
                hint = difflib.get_close_matches(name, known, n=1)
                problems.append(
                    f"{source}.{name}: unknown parameter" + (f" (did you mean {hint[0]}?)" if hint else "")
                )
                continue
            try:
                values[name] = parse_value(f, raw)
            except ValueError as exc:
                problems.append(f"{source}.{name}: {exc}")
        if problems:
            raise SettingsError(problems)
        try:
            return cls(**values)
        except SettingsError as exc:
            raise SettingsError([f"{source}: {p}" for p in exc.problems]) from None

    @classmethod
    def from_config_file(cls, path: Path) -> Settings:
        """Read ``parameters`` of a LEAN ``config.json``."""
        try:
            doc = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise SettingsError([f"{path}: cannot read ({exc})"]) from None
        params = doc.get("parameters", {}) if isinstance(doc, dict) else None
        if not isinstance(params, dict):
            raise SettingsError([f"{path}: 'parameters' must be an object"])
        return cls.from_parameters(params, source=f"{path.name} parameters")

    def with_overrides(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def as_parameters(self) -> dict[str, str]:
        """These settings as LEAN-style text parameters: ``from_parameters`` reads them back."""
        return {f.name: format_value(getattr(self, f.name)) for f in fields(self)}

    @staticmethod
    def describe() -> list[tuple[str, str, str]]:
        """(name, default as text, description) for every parameter, for docs and config files."""
        return [(f.name, format_value(f.default), f.metadata.get("doc", "")) for f in fields(Settings)]


def _cross_checks(s: Settings) -> list[str]:
    """Rules that involve more than one parameter, or fields built in code rather than parsed."""
    problems: list[str] = []
    for f in fields(s):
        value = getattr(s, f.name)
        try:
            for v in value if isinstance(value, tuple) else (value,):
                check_range(f, v)
        except ValueError as exc:
            problems.append(f"{f.name}: {exc}")

    def ascending(name: str) -> None:
        seq = getattr(s, name)
        if list(seq) != sorted(seq):
            problems.append(f"{name}: must be ascending, got {format_value(seq)}")

    def length(name: str, n: int) -> None:
        if len(getattr(s, name)) != n:
            problems.append(f"{name}: needs {n} values, got {len(getattr(s, name))}")

    ascending("phase_nlv_thresholds")
    ascending("regime_vix_bounds")
    length("phase_nlv_thresholds", 4)
    length("phase_max_bp", 5)
    length("regime_vix_bounds", 5)
    length("regime_max_bp", 6)
    length("lt112_max_units_by_phase", 5)
    length("risk_correlation_max_per_group", 5)
    length("risk_equity_index_combined_max", 5)
    problems.extend(_risk_checks(s))
    length("leap_deltas_by_week", 4)
    for name in ("strangle_put_delta_range", "strangle_call_delta_range", "ipmcc_long_delta_range"):
        length(name, 2)
        ascending(name)
    for prefix in ("lt112", "strangle", "leap"):
        lo, target, hi = (getattr(s, f"{prefix}_{k}_dte") for k in ("min", "target", "max"))
        if not lo <= target <= hi:
            problems.append(f"{prefix}: need min_dte <= target_dte <= max_dte, got {lo} / {target} / {hi}")
    if s.zero_dte_long_delta >= s.zero_dte_short_delta:
        problems.append(
            f"zero_dte_long_delta ({s.zero_dte_long_delta}) must be below zero_dte_short_delta "
            f"({s.zero_dte_short_delta}): the wings are further out than the shorts"
        )
    if s.zero_dte_first_entry > s.zero_dte_last_entry:
        problems.append("zero_dte_first_entry must not be after zero_dte_last_entry")
    if s.zero_dte_last_entry >= s.zero_dte_close_time:
        problems.append("zero_dte_last_entry must be before zero_dte_close_time")
    dates = []
    for name in ("start_date", "end_date"):
        try:
            dates.append(date.fromisoformat(getattr(s, name)))
        except ValueError:
            problems.append(f"{name}: {getattr(s, name)!r} is not a date YYYY-MM-DD")
    if len(dates) == 2 and dates[0] > dates[1]:
        problems.append(f"start_date {s.start_date} is after end_date {s.end_date}")
    return problems


def _risk_checks(s: Settings) -> list[str]:
    """The risk layer's parameters that are lists of NAME:NUMBER or a choice."""
    problems: list[str] = []
    for name, lo, hi in (
        ("risk_expected_win_rates", 0.0, 1.0),
        ("risk_strategy_bp_shares", 0.0, 1.0),
        ("risk_betas", -10.0, 10.0),
    ):
        try:
            values = named_values(getattr(s, name))
        except ValueError as exc:
            problems.append(f"{name}: {exc}")
            continue
        problems += [f"{name}: {k}={v} is outside {lo}..{hi}" for k, v in values.items() if not lo <= v <= hi]
    if s.risk_assignment_action not in ("flatten", "keep"):
        problems.append(f"risk_assignment_action: {s.risk_assignment_action!r} is not flatten or keep")
    try:
        parse_ex_dividends(s.risk_ex_dividends)
    except ValueError as exc:
        problems.append(f"risk_ex_dividends: {exc}")
    return problems


__all__ = ["Settings", "SettingsError", "format_value", "named_values", "parse_ex_dividends"]
