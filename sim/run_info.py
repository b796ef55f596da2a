"""run.json, the record of what a run was, and why a run closed no trade.

Why: a result means nothing without knowing which market produced it (synthetic and which seed,
which window of real history, which LEAN folder with which sessions missing).  ``run.json`` is read
by the reports (``analysis.run_info``) for the top of report.html and summary.txt.  It is written
before the run (so a crashed run still says what it was) and again after it with the ``outcome``.

run.json fields: ``market`` (``source`` = synthetic | history | lean_data, the window ``start``/
``end``, and per source: ``seed``, ``anchor``, ``step_minutes``; ``series`` (history: what is real,
what is modelled); ``folder``, ``underlying``, ``option_roots``, ``vix``, ``sessions_with_data``;
``missing_sessions`` (date -> reason); ``differs_from_defaults`` (market settings changed));
``period``; ``parameters_from``; ``overrides``; ``faults``; ``code_version``; ``outcome`` (after
the run: ``closed_trades``, ``sessions``, ``steps``, ``why_nothing_traded``).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from core.settings import Settings


def write_run_description(path: Path, market: Mapping[str, Any], settings: Settings, *, parameters_from: str,
                          overrides: Sequence[str] = (), faults: str | None = None,
                          outcome: Mapping[str, Any] | None = None) -> Path:  # fmt: skip
    """The one writer of run.json (the backtest CLI and ``make crisis`` both call it)."""
    from analysis.run_info import code_version

    doc = {
        "market": dict(market),
        "period": {"start": settings.start_date, "end": settings.end_date},
        "parameters_from": parameters_from, "overrides": list(overrides), "faults": faults,
        "code_version": code_version(), "outcome": None if outcome is None else dict(outcome),
    }  # fmt: skip
    path.write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
    return path


class EventTally:
    """Counts a run's events by kind and its entry blocks by rule (a recorder listener)."""

    def __init__(self) -> None:
        self.kinds: Counter[str] = Counter()
        self.blocks: Counter[str] = Counter()

    def record(self, kind: str, time: datetime, payload: Mapping[str, Any]) -> None:
        self.kinds[kind] += 1
        if kind == "risk_block":
            self.blocks[str(payload.get("code"))] += 1


def why_nothing_traded(tally: EventTally, steps: int, sessions: list[date], asked_missing: Counter[str] | None,
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
    if tally.blocks:
        out.append("entries blocked by the risk gate: "
                   + ", ".join(f"{c} {n}" for c, n in tally.blocks.most_common()))  # fmt: skip
    approved, opened = tally.kinds["entry_approved"], tally.kinds["group_opened"]
    if approved and not opened:
        out.append(
            f"{approved} entries approved but none filled ({tally.kinds['entry_abandoned']} abandoned)"
        )
    elif opened:
        out.append(f"{opened} positions opened and still open at the end (none closed yet)")
    if not tally.blocks and not approved:
        days = ", ".join(f"{d:%a} {d}" for d in sessions[:10]) + (" ..." if len(sessions) > 10 else "")
        out.append(f"no strategy proposed an entry in {len(sessions)} sessions ({days}): none of their entry "
                   "days, times and chains (expiry windows, deltas) met in them")  # fmt: skip
    return out
