"""What a backtest or an audit is told, checked together before anything runs: config.json, every
``--set``, the dates, the faults, VIX, step and seed.  One error lists every problem, each naming
the input to fix; nothing falls back to defaults silently.

config.json is read the way LEAN's ``main.py`` reads it (``lean_adapter.translate``): the LEAN
adapter's own parameters (``notify_*``) are validated too and then ignored here, so one config.json
serves both engines.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.settings import Settings, SettingsError, read_parameters_file
from core.settings_text import parse_number
from monitoring.alerts import ALERT_URLS_ENV, alert_urls
from sim.broker.faults import FaultConfig

DEFAULT_CONFIG = Path("config.json")
MAX_STEP_MINUTES = 390  # one regular session
MAX_VIX = 200.0


class UsageError(Exception):
    """Everything wrong with the command line and its config, one problem per line."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class RunInputs:
    settings: Settings
    parameters_from: str  # which file the parameters came from, or "rulebook defaults"
    faults: FaultConfig | None
    vix: float | None
    step_minutes: int
    seed: int
    alerts: bool


def backtest_inputs(args: Any, environ: Mapping[str, str] = os.environ) -> RunInputs:
    """The validated inputs of ``backtest``; raises UsageError listing every problem."""
    problems: list[str] = []
    overrides: dict[str, str] = {}
    origins: dict[str, str] = {}
    for item in args.set:
        name, sep, value = (part.strip() for part in item.partition("="))
        if not sep or not name:
            problems.append(f"--set {item!r}: expected NAME=VALUE")
            continue
        overrides[name], origins[name] = value, "command line --set"
    for flag, name in (("start", "start_date"), ("end", "end_date")):
        if getattr(args, flag) is not None:
            overrides[name], origins[name] = getattr(args, flag), f"command line --{flag}"
    settings, source = None, "rulebook defaults"
    try:
        settings, source = settings_from(args.config, overrides, origins)
    except SettingsError as exc:
        problems += exc.problems
    faults = _collect(problems, "--faults", lambda: FaultConfig.parse(args.faults) if args.faults else None)
    vix = _collect(problems, "--vix", lambda: _vix(args.vix))
    step = _collect(
        problems, "--step-minutes", lambda: _whole(args.step_minutes, 1, MAX_STEP_MINUTES, " minutes")
    )
    seed = _collect(problems, "--seed", lambda: _whole(args.seed, 0, 2**32 - 1))
    if args.alerts and not alert_urls(environ):
        problems.append(f"--alerts: {ALERT_URLS_ENV} is empty; set it to the apprise URLs to notify")
    if problems or settings is None or step is None or seed is None:
        raise UsageError(problems)
    return RunInputs(settings, source, faults, vix, step, seed, bool(args.alerts))


def audit_settings(explicit: str | None, trades: Path) -> tuple[Settings, str]:
    """The rules an audit checks against: ``--config`` when given (it wins); else the
    ``parameters.json`` the backtest wrote beside its trades; else ./config.json; else defaults."""
    if explicit is None:
        beside = trades.parent / "parameters.json"
        if beside.exists():
            explicit = str(beside)
    try:
        return settings_from(explicit, {}, {})
    except SettingsError as exc:
        raise UsageError(exc.problems) from None


def settings_from(
    config: str | None, overrides: Mapping[str, str], origins: Mapping[str, str]
) -> tuple[Settings, str]:
    """Settings from a config file (``None``: ./config.json if present) with command-line
    overrides on top, and where the parameters came from; SettingsError lists every problem."""
    path = Path(config) if config is not None else DEFAULT_CONFIG
    if config is not None and not path.is_file():
        raise SettingsError([f"--config {config}: no such file"])
    base: dict[str, Any] = {}
    if path.is_file():
        base = read_parameters_file(path)
    source = f"{path.name} parameters" if path.is_file() else "defaults"
    from lean_adapter.translate import parse_adapter_options, split_parameters  # option maths: not for --help

    params, adapter = split_parameters({**base, **overrides})
    problems: list[str] = []
    settings = None
    try:
        parse_adapter_options(adapter, source)  # LEAN's own: checked so a mistake shows here too, then unused
    except SettingsError as exc:
        problems += exc.problems
    try:
        settings = Settings.from_parameters(params, source, origins)
    except SettingsError as exc:
        problems += exc.problems
    if problems or settings is None:
        raise SettingsError(problems)
    return settings, (str(path) if path.is_file() else "rulebook defaults (no config.json here)")


def _collect(problems: list[str], flag: str, parse: Any) -> Any:
    try:
        return parse()
    except ValueError as exc:
        problems.append(f"{flag}: {exc}")
        return None


def _vix(text: str | None) -> float | None:
    if text is None:
        return None
    value = parse_number(text)
    if not 0 < value <= MAX_VIX:
        raise ValueError(f"{text} is not a VIX level in (0, {MAX_VIX:g}]")
    return value


def _whole(text: str, lo: int, hi: int, unit: str = "") -> int:
    if not re.fullmatch(r"\s*[+-]?\d+\s*", text) or not lo <= int(text) <= hi:
        raise ValueError(f"{text!r} is not a whole number in {lo}..{hi}{unit}")
    return int(text)


__all__ = ["RunInputs", "UsageError", "audit_settings", "backtest_inputs", "settings_from"]
