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
from datetime import time
from pathlib import Path
from typing import Any

from core import settings_rules
from core.settings_rules import (
    ETFS,
    LAST_ENTRY,
    MICRO_ROOTS,
    SESSION_CLOSE,
    SESSION_OPEN,
    STRANGLE_FUTURES,
    STRATEGIES,
    WEEKDAYS,
)
from core.settings_text import format_value, named_values, parse_ex_dividends, parse_value


class SettingsError(ValueError):
    """All problems found in the parameters, one per line, each naming its source.
    ``details`` keeps the parameters each rule involves (``from_parameters`` names their origin)."""

    def __init__(self, problems: list[str], details: list[settings_rules.Problem] | None = None) -> None:
        self.problems = problems
        self.details = details or []
        super().__init__("invalid settings:\n  - " + "\n  - ".join(problems))


def _p(default: Any, lo: Any = None, hi: Any = None, doc: str = "", **rules: Any) -> Any:
    """A parameter: its default, bounds (numbers or times) and description; ``rules`` are the
    other one-parameter rules of ``core.settings_rules`` (choices, names, length, ascending, kind)."""
    return field(default=default, metadata={"lo": lo, "hi": hi, "doc": doc, **rules})


def _weekday(default: int, doc: str = "") -> Any:
    return _p(
        default, 0, 4, doc or f"entry weekday (Mon=0 .. Fri=4; default {WEEKDAYS[default]})", weekday=True
    )


def _entry_time(default: time, doc: str = "") -> Any:
    return _p(
        default,
        SESSION_OPEN,
        LAST_ENTRY,
        doc or "entry check, New York time (entries allowed for entry_window_minutes)",
    )


def _close_time(default: time, doc: str = "") -> Any:
    return _p(default, SESSION_OPEN, SESSION_CLOSE, doc or "New York time, inside the regular session")


@dataclass(frozen=True)
class Settings:
    # --- account phases and VIX regime -----------------------------------------------------------
    phase_nlv_thresholds: tuple[float, ...] = _p(
        (38000.0, 51000.0, 76000.0, 95000.0),
        0,
        None,
        "NLV where phases 1..4 start (USD)",
        length=4,
        ascending=True,
    )
    phase_max_bp: tuple[float, ...] = _p(
        (0.0, 0.50, 0.65, 0.75, 1.0),
        0,
        1,
        "max BP used by phase 0..4 (phase 4 uses the regime cap)",
        length=5,
    )
    regime_vix_bounds: tuple[float, ...] = _p(
        (12.0, 16.0, 20.0, 25.0, 30.0), 0, 200, "VIX boundaries of the six regimes", length=5, ascending=True
    )
    regime_max_bp: tuple[float, ...] = _p(
        (0.45, 0.60, 0.80, 0.80, 0.80, 0.80), 0, 1, "max BP used per regime, EXTREMELY_LOW..EXTREME", length=6
    )
    entry_window_minutes: int = _p(
        60, 1, 390, "an entry scheduled 'at HH:MM' may still be placed this many minutes later"
    )
    # --- Friday 0DTE iron condor -----------------------------------------------------------------
    zero_dte_enabled: bool = _p(True, doc="trade the Friday 0DTE iron condor")
    zero_dte_min_phase: int = _p(1, 1, 4, "lowest account phase that trades it")
    zero_dte_root: str = _p("SPXW", doc="option root traded", choices=("SPXW", "XSP"))
    zero_dte_mini_root: str = _p(
        "XSP", doc="a tenth of SPX, used when one full-size condor would break a cap; empty = never",
        choices=("XSP", ""),
    )  # fmt: skip
    zero_dte_underlying: str = _p(
        "SPX", doc="index whose move since the open gates the entry", choices=("SPX",)
    )
    zero_dte_weekday: int = _weekday(4)
    zero_dte_first_entry: time = _entry_time(time(10, 30), "first entry check (New York time)")
    zero_dte_last_entry: time = _entry_time(time(13, 0), "last entry (New York time)")
    zero_dte_min_vix: float = _p(22.0, 0, 200, "enter only when VIX > this")
    zero_dte_max_move: float = _p(0.005, 0, 1, "skip if |move since open| exceeds this fraction")
    zero_dte_short_delta: float = _p(0.16, 0.01, 0.5, "Δ of the short put and short call")
    zero_dte_long_delta: float = _p(0.05, 0.005, 0.5, "Δ of the long wings (when zero_dte_wing_width is 0)")
    zero_dte_wing_width: float = _p(0.0, 0, 500, "fixed wing width in points; 0 = use long delta")
    zero_dte_profit_target: float = _p(0.50, 0.01, 1, "take profit at this share of the credit")
    zero_dte_stop_loss: float = _p(2.00, 0.1, 20, "stop when loss reaches this multiple of the credit")
    zero_dte_close_time: time = _close_time(time(15, 30), "everything still open is closed by then")
    zero_dte_max_bp_share: float = _p(0.25, 0, 1, "share of allowed BP per day")
    zero_dte_max_condors: int = _p(10, 1, 1000, "most condors in one day")
    zero_dte_min_credit: float = _p(0.50, 0, 1000, "minimum net credit per unit after costs (points)")
    # --- LT112 -----------------------------------------------------------------------------------
    lt112_enabled: bool = _p(True, doc="trade the LT112 1-1-2 put ratio")
    lt112_min_phase: int = _p(1, 1, 4, "SPX below lt112_futures_min_phase")
    lt112_futures_min_phase: int = _p(2, 1, 4, "from this phase LT112 trades /ES options")
    lt112_second_entry_min_phase: int = _p(3, 1, 4, "second monthly entry on the third Wednesday")
    lt112_weekday: int = _weekday(2)
    lt112_futures_root: str = _p(
        "ES", doc="futures options root from lt112_futures_min_phase", choices=("ES",)
    )
    lt112_index_root: str = _p(
        "SPX", doc="index options root below lt112_futures_min_phase", choices=("SPX",)
    )
    lt112_entry_time: time = _entry_time(time(10, 0))
    lt112_target_dte: int = _p(120, 1, 1000, "preferred days to expiry at entry")
    lt112_min_dte: int = _p(110, 1, 1000, "shortest days to expiry accepted at entry")
    lt112_max_dte: int = _p(150, 1, 1000, "longest days to expiry accepted at entry")
    expiry_tolerance_days: int = _p(
        46,
        0,
        400,
        "LT112 and strangles: when no listed expiry falls inside the DTE window (ES options list "
        "quarterly only in LEAN), take the listed expiry nearest the target within this many days "
        "outside the window; 46 = half a quarterly cycle, so one is always found; 0 = strict window",
    )
    lt112_long_delta: float = _p(0.25, 0.01, 0.9, "Δ of the long put of the debit spread")
    lt112_spread_width_es: float = _p(50.0, 1, 1000, "points between the long and short put (ES)")
    lt112_naked_delta: float = _p(0.05, 0.005, 0.5, "Δ of the two naked short puts")
    lt112_naked_profit_target: float = _p(0.90, 0.01, 1, "close the naked puts at this share of their credit")
    lt112_spread_exit_dte: int = _p(
        21, 0, 1000, "close the debit spread (and the unit) at this many days to expiry"
    )
    lt112_spread_profit_multiple: float = _p(
        1.50, 1, 100, "close the debit spread when worth this x its cost"
    )
    lt112_stop_credit_multiple: float = _p(
        2.00, 0.1, 50, "unit stop: loss reaches this multiple of the net credit ..."
    )
    lt112_stop_nlv_fraction: float = _p(0.02, 0.001, 1, "... or this share of NLV, whichever is smaller")
    lt112_max_units_by_phase: tuple[int, ...] = _p(
        (0, 1, 2, 3, 4), 0, 100, "open units by phase 0..4", length=5
    )
    # --- futures strangles -----------------------------------------------------------------------
    strangle_enabled: bool = _p(True, doc="trade the futures strangles")
    strangle_min_phase: int = _p(2, 1, 4, "lowest account phase that trades them")
    strangle_micro_roots: tuple[str, ...] = _p(
        ("ES:MES", "CL:MCL", "GC:MGC"),
        doc="full:micro option roots used when a full-size strangle breaks the BP cap",
        choices=MICRO_ROOTS,
    )
    strangle_underlyings: tuple[str, ...] = _p(
        ("ES", "CL", "GC"), doc="futures roots", choices=STRANGLE_FUTURES
    )
    strangle_weekday: int = _weekday(1)
    strangle_entry_time: time = _entry_time(time(10, 0))
    strangle_target_dte: int = _p(90, 1, 1000, "preferred days to expiry at entry")
    strangle_min_dte: int = _p(80, 1, 1000, "shortest days to expiry accepted at entry")
    strangle_max_dte: int = _p(100, 1, 1000, "longest days to expiry accepted at entry")
    strangle_put_delta: float = _p(0.06, 0.01, 0.5, "target Δ of the short put")
    strangle_call_delta: float = _p(0.06, 0.01, 0.5, "target Δ of the short call")
    strangle_put_delta_range: tuple[float, ...] = _p(
        (0.05, 0.07), 0.005, 0.5, "accepted short put Δ", length=2
    )
    strangle_call_delta_range: tuple[float, ...] = _p(
        (0.05, 0.06), 0.005, 0.5, "accepted short call Δ", length=2
    )
    strangle_profit_target: float = _p(0.50, 0.01, 1, "take profit at this share of the credit")
    strangle_exit_dte: int = _p(21, 0, 1000, "close (or roll) at this many days to expiry")
    strangle_stop_loss: float = _p(2.50, 0.1, 50, "stop when the loss reaches this multiple of the credit")
    strangle_max_per_underlying: int = _p(3, 1, 100, "most strangles open on one underlying")
    # --- IPMCC -----------------------------------------------------------------------------------
    ipmcc_enabled: bool = _p(True, doc="trade the IPMCC (poor man's covered call) campaigns")
    ipmcc_min_phase: int = _p(3, 1, 4, "lowest account phase that trades it")
    ipmcc_weekday: int = _weekday(4, "weekly short call (and new campaign) weekday (Mon=0 .. Fri=4)")
    ipmcc_entry_time: time = _entry_time(time(10, 0))
    ipmcc_underlyings: tuple[str, ...] = _p(
        ("SPY", "QQQ", "IWM"), doc="ETFs a campaign may run on", choices=ETFS
    )
    ipmcc_long_delta: float = _p(0.80, 0.5, 0.99, "target Δ of the long call")
    ipmcc_long_delta_range: tuple[float, ...] = _p((0.75, 0.85), 0.5, 0.99, "accepted long call Δ", length=2)
    ipmcc_long_min_dte: int = _p(280, 1, 2000, "shortest days to expiry of a new long call")
    ipmcc_long_target_dte: int = _p(365, 1, 2000, "preferred days to expiry of a new long call")
    ipmcc_max_extrinsic: float = _p(
        0.05, 0, 1, "long call extrinsic below this share of the underlying price"
    )
    ipmcc_short_dte: int = _p(7, 1, 60, "days to expiry of the weekly short call")
    ipmcc_short_delta: float = _p(0.30, 0.05, 0.6, "target Δ of the weekly short call")
    ipmcc_short_profit_target: float = _p(0.50, 0.01, 1, "buy the weekly back at this share of its credit")
    ipmcc_long_stop: float = _p(0.20, 0.01, 1, "close the campaign when the long call lost this share")
    ipmcc_long_min_hold_dte: int = _p(
        120, 1, 2000, "roll or close the long call below this many days to expiry"
    )
    ipmcc_nlv_share: float = _p(0.08, 0, 1, "cost of one campaign as share of NLV")
    # --- LEAP put ladder -------------------------------------------------------------------------
    leap_enabled: bool = _p(True, doc="trade the LEAP put ladder")
    leap_min_phase: int = _p(3, 1, 4, "lowest account phase that trades it")
    leap_phase4_underlyings: tuple[str, ...] = _p(("QQQ", "IWM"), doc="added in phase 4", choices=ETFS)
    leap_underlyings: tuple[str, ...] = _p(
        ("SPY",), doc="ETFs the ladder sells puts on (in this order)", choices=ETFS
    )
    leap_weekday: int = _weekday(0)
    leap_entry_time: time = _entry_time(time(10, 0))
    leap_target_dte: int = _p(365, 30, 2000, "preferred days to expiry of a new rung")
    leap_min_dte: int = _p(300, 30, 2000, "shortest days to expiry of a new rung")
    leap_max_dte: int = _p(430, 30, 2000, "longest days to expiry of a new rung")
    leap_deltas_by_week: tuple[float, ...] = _p(
        (0.12, 0.13, 0.14, 0.12), 0.01, 0.5, "Δ by week of month", length=4
    )
    leap_skip_below_vix: float = _p(15.0, 0, 200, "skip the week's rung when VIX is below this")
    leap_double_above_vix: float = _p(20.0, 0, 200, "sell two puts in the rung when VIX is above this")
    leap_profit_target: float = _p(0.30, 0.01, 1, "take profit at this share of the credit")
    leap_roll_dte: int = _p(150, 1, 2000, "roll a rung at this many days to expiry")
    leap_stop_loss: float = _p(2.00, 0.1, 50, "stop when the loss reaches this multiple of the credit")
    leap_bp_per_rung: float = _p(0.02, 0, 1, "margin of one rung as share of the allowed BP")
    leap_bp_total: float = _p(0.20, 0, 1, "margin of the whole ladder as share of the allowed BP")
    leap_max_rungs: int = _p(10, 1, 100, "most rungs open at once")
    # --- portfolio risk --------------------------------------------------------------------------
    risk_daily_loss_halt: float = _p(
        0.05, 0.001, 1, "halt new entries after losing this share of the start-of-day NLV"
    )
    risk_weekly_loss_halt: float = _p(0.10, 0.001, 1, "the same over the week")
    risk_monthly_loss_halt: float = _p(0.15, 0.001, 1, "the same over the month")
    risk_intraday_drawdown: float = _p(
        0.03, 0.001, 1, "halt new entries after this drawdown from the intraday peak"
    )
    risk_consecutive_losses: int = _p(3, 1, 100, "losing trades in a row that pause a strategy")
    risk_pause_days: int = _p(5, 0, 100, "trading days a paused strategy waits")
    risk_max_position_risk: float = _p(0.05, 0.001, 1, "max loss of one new position as share of NLV")
    risk_correlation_max_per_group: tuple[int, ...] = _p((2, 2, 2, 2, 3), 0, 100, "by phase 0..4", length=5)
    risk_equity_index_combined_max: tuple[int, ...] = _p((3, 3, 3, 3, 4), 0, 100, "A1+A2 by phase", length=5)
    # --- risk layer: breakers, budgets, Greeks, expiry and assignment (risk/) --------------------
    risk_expected_win_rates: tuple[str, ...] = _p(
        ("zero_dte:0.88", "lt112:0.95", "strangle:0.70", "ipmcc:0.75", "leap_ladder:0.85"),
        0, 1, "strategy:expected win rate (underperformance is measured against it)", names=STRATEGIES,
    )  # fmt: skip
    risk_underperformance_ratio: float = _p(0.80, 0, 1, "underperforming below this x expected win rate")
    risk_underperformance_min_trades: int = _p(10, 1, 10000, "closed trades before underperformance counts")
    risk_underperformance_window: int = _p(20, 1, 10000, "latest closed trades the win rate is taken over")
    risk_reduced_size: float = _p(0.5, 0.01, 1, "size and BP budget factor after a pause / while lagging")
    risk_strategy_bp_shares: tuple[str, ...] = _p(
        ("zero_dte:0.25", "lt112:0.40", "strangle:0.40", "ipmcc:0.40", "leap_ladder:0.20"),
        0, 1, "strategy:max share of the allowed BP its open positions may use", names=STRATEGIES,
    )  # fmt: skip
    risk_strategy_bp_default_share: float = _p(0.40, 0, 1, "BP share for a strategy not listed above")
    risk_max_delta_nlv: float = _p(0.015, 0, 10, "|beta-weighted $ delta per 1% SPX move| / NLV")
    risk_max_gamma_nlv: float = _p(0.01, 0, 10, "|$ delta change per 1% move| / NLV")
    risk_max_short_vega_nlv: float = _p(0.01, 0, 10, "short $ vega per vol point / NLV")
    risk_max_theta_nlv: float = _p(0.005, 0, 10, "$ theta per day / NLV (theta must also be >= 0)")
    risk_betas: tuple[str, ...] = _p(
        ("NDX:1.15", "QQQ:1.15", "NQ:1.15", "MNQ:1.15", "RUT:1.2", "IWM:1.2", "RTY:1.2", "M2K:1.2",
         "DIA:0.9", "TLT:-0.2", "ZB:-0.2", "ZN:-0.1", "GC:0.0", "MGC:0.0", "SI:0.1", "HG:0.3",
         "CL:0.3", "MCL:0.3", "NG:0.1"),
        -10, 10, "underlying:beta to SPX for beta-weighted delta (unlisted: 1.0)", names=("*",),
    )  # fmt: skip
    risk_pin_zone: float = _p(0.01, 0, 0.5, "a short within this share of its strike is near the money")
    risk_pin_close_time: time = _close_time(time(15, 0), "ITM / near-money shorts closed by then")
    risk_pin_close_time_cash: time = _close_time(time(15, 45), "the same for cash-settled index options")
    risk_pin_lead_minutes: int = _p(20, 0, 390, "start closing this long before the pin deadline")
    risk_ex_dividends: str = _p(
        "", doc="SYMBOL:YYYY-MM-DD:amount;... (early-exercise risk)", kind="ex_dividends"
    )
    risk_assignment_action: str = _p(
        "flatten", doc="flatten | keep assigned stock/futures", choices=("flatten", "keep")
    )
    risk_breaker_reset: str = _p("", doc="set to a new value to reset every breaker and pause once")
    # --- data quality ----------------------------------------------------------------------------
    dq_max_quote_age_seconds: float = _p(60.0, 1, 86400, "live: a quote older than this is stale")
    dq_max_spread_of_mid: float = _p(
        0.50, 0.01, 10, "entries: (ask - bid) above this share of the mid is too wide"
    )
    dq_min_volume: int = _p(10, 0, 10**9, "illiquid below this volume ...")
    dq_min_open_interest: int = _p(100, 0, 10**9, "... and below this open interest")
    dq_underlying_jump: float = _p(
        0.05, 0.001, 1, "an underlying move above this share between observations halts entries"
    )
    dq_jump_halt_minutes: int = _p(30, 0, 1440, "minutes new entries stay halted after a jump")
    dq_stuck_minutes: int = _p(10, 1, 1440, "a quote unchanged this long while the underlying moves is stuck")
    dq_stuck_move: float = _p(0.003, 0.0001, 1, "underlying move that makes an unchanged quote stuck")
    dq_max_jump: float = _p(
        4.0, 1.5, 1000, "a price this many times the last good one (either way) is bad data"
    )
    dq_quote_max_width: float = _p(
        0.02, 0.001, 1, "an option spread wider than this share of its underlying's price is bad data"
    )
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
    start_date: str = _p("2025-01-02", doc="backtest start (LEAN and sim)", kind="date")
    end_date: str = _p("2025-12-31", doc="backtest end, inclusive", kind="date")

    def __post_init__(self) -> None:
        found = settings_rules.problems(self)
        if found:
            raise SettingsError([str(p) for p in found], found)

    @classmethod
    def from_parameters(
        cls, params: Mapping[str, Any], source: str = "parameters", origins: Mapping[str, str] | None = None
    ) -> Settings:
        """Build from LEAN-style string parameters; raises SettingsError listing every problem.

        ``origins`` names where some parameters came from when that is not ``source`` (the CLI's
        ``--set`` over config.json): each problem says which input to fix."""
        origins = origins or {}
        where = {name: origins.get(name, source) for name in params}
        known = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {}
        problems: list[str] = []
        for name, raw in params.items():
            f = known.get(name)
            if f is None:
                hint = difflib.get_close_matches(name, known, n=1)
                problems.append(
                    f"{where[name]}.{name}: unknown parameter"
                    + (f" (did you mean {hint[0]}?)" if hint else "")
                )
                continue
            try:
                values[name] = parse_value(f, raw)
            except ValueError as exc:
                problems.append(f"{where[name]}.{name}: {exc}")
        settings: Settings | None = None
        try:
            settings = cls(**values)
        except SettingsError as exc:
            for p in exc.details:
                if set(p.names) & (set(params) - set(values)):
                    continue  # already reported as unreadable
                layers = list(dict.fromkeys(where[n] for n in p.names if n in where)) or [source]
                if len(p.names) == 1:
                    problems.append(f"{layers[0]}.{p.names[0]}: {p.message}")
                else:
                    problems.append(f"{' + '.join(layers)}: {p.message}")
        if problems or settings is None:
            raise SettingsError(problems)
        return settings

    @classmethod
    def from_config_file(cls, path: Path) -> Settings:
        """``parameters`` of a LEAN ``config.json`` that holds only Settings parameters."""
        return cls.from_parameters(read_parameters_file(path), source=f"{path.name} parameters")

    def with_overrides(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def as_parameters(self) -> dict[str, str]:
        """These settings as LEAN-style text parameters: ``from_parameters`` reads them back."""
        return {f.name: format_value(getattr(self, f.name)) for f in fields(self)}

    @staticmethod
    def describe() -> list[tuple[str, str, str]]:
        """(name, default as text, description) for every parameter, for docs and config files."""
        return [(f.name, format_value(f.default), f.metadata.get("doc", "")) for f in fields(Settings)]

    @staticmethod
    def constraints() -> dict[str, str]:
        """The validation rules of every parameter as text (ranges, choices, relations)."""
        return {f.name: settings_rules.constraints(f) for f in fields(Settings)}


def read_parameters_file(path: Path) -> dict[str, Any]:
    """The ``parameters`` object of a LEAN ``config.json``, refusing what JSON itself lets
    through: a key written twice (the last would silently win) and a file without parameters
    (it would silently run on defaults)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=_no_duplicate_keys)
    except _DuplicateKeys as exc:
        raise SettingsError([f"{path}: {exc}"]) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SettingsError([f"{path}: cannot read ({exc})"]) from None
    if not isinstance(doc, dict) or "parameters" not in doc:
        raise SettingsError(
            [f"{path}: no 'parameters' object (a LEAN config.json keeps every setting there)"]
        )
    params = doc["parameters"]
    if not isinstance(params, dict):
        raise SettingsError([f"{path}: 'parameters' must be an object"])
    not_text = [name for name, value in params.items() if not isinstance(value, str | int | float)]
    if not_text:
        raise SettingsError(
            [
                f"{path.name} parameters.{name}: must be text (LEAN passes parameters as strings)"
                for name in not_text
            ]
        )
    return params


class _DuplicateKeys(ValueError):
    pass


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        raise _DuplicateKeys(f"key(s) written more than once: {', '.join(repeated)}")
    return dict(pairs)


__all__ = [
    "Settings",
    "SettingsError",
    "format_value",
    "named_values",
    "parse_ex_dividends",
    "read_parameters_file",
]
