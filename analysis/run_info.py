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
# market fields the header shows as its own lines (period, parameters) or that only run.json holds
_SHOWN_ELSEWHERE = ("source", "start", "end", "differs_from_defaults", "sessions_with_data", "anchor")


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
    fields = {k: v for k, v in market.items() if k not in _SHOWN_ELSEWHERE and v not in (None, "", [], {})}
    source = str(market.get("source", "unknown"))
    step = f", {fields.pop('step_minutes')}-minute steps" if "step_minutes" in fields else ""
    missing = fields.pop("missing_sessions", {})
    if source == "synthetic" and "seed" in fields:
        text = f"synthetic market, seed {fields.pop('seed')}{step}"
    elif source == "history" and "series" in fields:
        series = fields.pop("series")
        real = [k for k, v in series.items() if str(v).startswith("real")]
        modelled = [k for k, v in series.items() if k not in real]
        text = (f"real history{step}: real {', '.join(real) or 'none'}; modelled around it (seed "
                f"{fields.pop('seed', '?')}) {', '.join(modelled) or 'none'}")  # fmt: skip
    elif source == "lean_data" and "folder" in fields:
        vix = fields.pop("vix", None)
        vix_text = f", constant VIX {vix}" if isinstance(vix, int | float) else f", VIX {vix}" if vix else ""
        roots = fields.pop("option_roots", [])
        what = (
            f", {fields.pop('underlying')} with options {', '.join(roots) or 'none'}"
            if "underlying" in fields
            else ""
        )
        text = f"LEAN data folder {fields.pop('folder')}{step}{what}{vix_text}"
    else:
        text = source + step
    if fields:
        text += " (" + ", ".join(f"{k} {v}" for k, v in sorted(fields.items())) + ")"
    if isinstance(missing, Mapping) and missing:
        shown = ", ".join(f"{d} ({why})" for d, why in list(missing.items())[:5])
        more = f" and {len(missing) - 5} more in run.json" if len(missing) > 5 else ""
        text += f"; {len(missing)} missing sessions: {shown}{more}"
    return text


def nothing_traded_text(run: Mapping[str, Any]) -> str | None:
    """Why a run closed no trade, when run.json's outcome says (``sim.run_info.why_nothing_traded``)."""
    outcome = run.get("outcome")
    reasons = outcome.get("why_nothing_traded") if isinstance(outcome, Mapping) else None
    return "; ".join(str(r) for r in reasons) if reasons else None


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
