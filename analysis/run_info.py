"""What a run was, for the top of the report and the summary: its market source, the parameters
that differ from the rulebook's defaults, and the code version.

``run.json`` in the output folder describes the run (the CLI writes it; see ``sim.cli``).  Its
``market`` entry is either a text or an object with a ``source`` and the source's own fields; the
reader renders the known sources in words and any other one as its fields, so a new market source
shows up without a change here."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from core.settings import Settings

PACKAGE = "tomking-lean"
_PERIOD = ("start_date", "end_date")  # shown as the period, not as changed parameters


def parameter_changes(settings: Settings) -> list[tuple[str, str]]:
    """(name, value) of every parameter whose value is not the default, in declaration order."""
    defaults = Settings().as_parameters()
    return [(k, v) for k, v in settings.as_parameters().items() if k not in _PERIOD and defaults.get(k) != v]


def market_text(run: Mapping[str, Any]) -> str:
    market = run.get("market")
    if market is None:
        return "not recorded (no run.json in the output folder)"
    if not isinstance(market, Mapping):
        return str(market)
    fields = {k: v for k, v in market.items() if k != "source" and v not in (None, "")}
    source = str(market.get("source", "unknown"))
    step = f", {fields.pop('step_minutes')}-minute steps" if "step_minutes" in fields else ""
    if source == "synthetic" and "seed" in fields:
        text = f"synthetic market, seed {fields.pop('seed')}{step}"
    elif source == "lean_data" and "folder" in fields:
        vix = fields.pop("vix", None)
        text = f"LEAN data folder {fields.pop('folder')}{step}" + (f", constant VIX {vix}" if vix else "")
    else:
        text = source + step
    if fields:
        text += " (" + ", ".join(f"{k} {v}" for k, v in sorted(fields.items())) + ")"
    return text


def code_version_text(run: Mapping[str, Any]) -> str:
    return str(run.get("code_version") or "not recorded (no run.json in the output folder)")


def code_version(root: Path | None = None) -> str:
    """``git describe`` of the code's checkout when it is one, else the installed package version."""
    root = root or Path(__file__).resolve().parents[1]
    try:
        described = subprocess.run(
            ["git", "describe", "--tags", "--always", "--dirty"],
            cwd=root, capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()  # fmt: skip
        if described:
            return f"git {described}"
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        return f"{PACKAGE} {metadata.version(PACKAGE)}"
    except metadata.PackageNotFoundError:
        return "unknown (not a git checkout and the package is not installed)"
