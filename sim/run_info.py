"""What a run was: its market source and the parameters it changed, in ``run.json`` and atop the summary.

Why: a result means nothing without knowing which market produced it (synthetic and which seed,
which window of real history, which LEAN folder with which sessions missing) and which settings
differed from the rulebook's defaults.  ``run.json`` is the machine-readable record the HTML report
reads; it is written before the run (so a crashed run still says what it was) and completed after.

run.json fields: ``schema`` (1); ``command`` (the CLI arguments); ``market`` (``source`` =
synthetic | history | lean, the window ``start``/``end``, and per source: ``seed``, ``anchor``,
``step_minutes``; ``series`` (history: what is real, what is modelled); ``data_folder``,
``underlying``, ``option_roots``, ``vix``, ``sessions_with_data``; ``missing_sessions`` (date ->
reason); ``differs_from_defaults``); ``parameters_changed`` (name -> {value, default});
``outcome`` (after the run: ``closed_trades``, ``sessions``, ``steps``, ``why_nothing_traded``).
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from core.settings import Settings

RUN_FILE = "run.json"
SCHEMA = 1


def changed_parameters(settings: Settings) -> dict[str, dict[str, str]]:
    """Parameters whose value differs from the built-in defaults (STRATEGY_RULES.md's numbers)."""
    now, default = settings.as_parameters(), Settings().as_parameters()
    return {
        k: {"value": str(v), "default": str(default.get(k))}
        for k, v in sorted(now.items())
        if default.get(k) != v
    }


def write_run_file(out: Path, command: list[str], market: dict[str, Any], settings: Settings,
                   outcome: dict[str, Any] | None = None) -> Path:  # fmt: skip
    doc = {"schema": SCHEMA, "command": command, "market": market,
           "parameters_changed": changed_parameters(settings), "outcome": outcome}  # fmt: skip
    path = out / RUN_FILE
    path.write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def header_lines(market: dict[str, Any], settings: Settings) -> list[str]:
    """The summary's first lines: where the prices came from and what was changed."""
    src = market.get("source")
    window = f"{market.get('start')} .. {market.get('end')}"
    if src == "synthetic":
        text = f"synthetic, seed {market['seed']} (anchor {market['anchor']}, {market['step_minutes']}-minute steps)"
    elif src == "history":
        series = market.get("series", {})
        real = [k for k, v in series.items() if v.startswith("real")]
        modelled = [k for k, v in series.items() if not v.startswith("real")]
        text = f"real history {window}: real {', '.join(real)}; modelled {', '.join(modelled)}"
    else:
        text = (f"LEAN data {market.get('data_folder')} ({market.get('underlying')}, options "
                f"{', '.join(market.get('option_roots', [])) or 'none'}; VIX {market.get('vix')})")  # fmt: skip
    lines = [f"market            {text}"]
    missing = market.get("missing_sessions") or {}
    if missing:
        shown = ", ".join(f"{d} ({why})" for d, why in list(missing.items())[:5])
        more = f" and {len(missing) - 5} more in run.json" if len(missing) > 5 else ""
        lines.append(f"missing sessions  {len(missing)}: {shown}{more}")
    changed = changed_parameters(settings)
    if changed:
        lines.append("parameters        changed from defaults: "
                     + ", ".join(f"{k}={v['value']} (default {v['default']})" for k, v in changed.items()))  # fmt: skip
    else:
        lines.append("parameters        all defaults")
    return lines


def why_nothing_traded(recorder: Any, steps: int, sessions: list[date], asked_missing: Counter[str] | None,
                       roots: tuple[str, ...] = ()) -> list[str]:  # fmt: skip
    """Reasons a run closed no trade, from what the run recorded (and, for LEAN data, which option
    roots the strategies asked for that the folder does not have)."""
    if steps == 0:
        return ["no session of the window had market data"]
    out = []
    if asked_missing:
        asked = ", ".join(f"{root} ({n} times)" for root, n in asked_missing.most_common())
        out.append(f"the strategies asked for option roots the data does not have: {asked}; it has "
                   f"{', '.join(roots) or 'none'}")  # fmt: skip
    counts = recorder.counts
    if recorder.risk_blocks:
        out.append("entries blocked by the risk gate: "
                   + ", ".join(f"{c} {n}" for c, n in recorder.risk_blocks.most_common()))  # fmt: skip
    approved, opened = counts.get("entry_approved", 0), counts.get("group_opened", 0)
    if approved and not opened:
        out.append(
            f"{approved} entries approved but none filled ({counts.get('entry_abandoned', 0)} abandoned)"
        )
    elif opened:
        out.append(f"{opened} positions opened and still open at the end (none closed yet)")
    if not recorder.risk_blocks and not approved:
        days = ", ".join(f"{d:%a} {d}" for d in sessions[:10]) + (" ..." if len(sessions) > 10 else "")
        out.append(f"no strategy proposed an entry in {len(sessions)} sessions ({days}): none of their entry "
                   "days, times and chains (expiry windows, deltas) met in them")  # fmt: skip
    return out
