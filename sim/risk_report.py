"""The risk-events section of the backtest summary: what the risk layer did and why.

``RiskTally`` listens to the run recorder's events (kind ``risk_event``, see ``risk.events``): every
event is counted by rule and action, and everything that is not a routine entry block (trips,
resets, pauses, size cuts, forced exits, flattens, alerts) is kept with its time and message, so a
reader sees each one in the summary and all of them in events.jsonl.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from typing import Any

RISK_EVENT = "risk_event"  # as risk.events.RISK_EVENT (sim reports do not import risk)
_SHOWN = 25


class RiskTally:
    def __init__(self) -> None:
        self.by_rule: Counter[tuple[str, str]] = Counter()
        self.actions: list[tuple[datetime, str, str, str]] = []  # time, action, rule, message

    def record(self, kind: str, time: datetime, payload: Mapping[str, Any]) -> None:
        if kind != RISK_EVENT:
            return
        rule, action = str(payload.get("rule", "")), str(payload.get("action", ""))
        self.by_rule[(rule, action)] += 1
        if action != "block_entry":
            self.actions.append((time, action, rule, str(payload.get("message", ""))))

    def summary_lines(self) -> list[str]:
        if not self.by_rule:
            return ["risk events       none"]
        per_action: Counter[str] = Counter()
        for (_, action), n in self.by_rule.items():
            per_action[action] += n
        lines = ["risk events       " + ", ".join(f"{a} {n}" for a, n in sorted(per_action.items()))]
        blocks = sorted((n, rule) for (rule, action), n in self.by_rule.items() if action == "block_entry")
        if blocks:
            lines.append(
                "  entry blocks by rule: " + ", ".join(f"{rule} {n}" for n, rule in reversed(blocks))
            )
        for when, action, rule, message in self.actions[:_SHOWN]:
            lines.append(f"  {when:%Y-%m-%d %H:%M}  {action:<13} {rule:<20} {message[:110]}")
        if len(self.actions) > _SHOWN:
            lines.append(f"  ... {len(self.actions) - _SHOWN} more in events.jsonl (kind risk_event)")
        return lines
