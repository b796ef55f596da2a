"""Live trading: the engine's holdings against the book, every step while no order is working.

Tastytrade's LEAN brokerage reports fills only once a whole order is Filled and never reports a
rejection (Lean.Brokerages.Tastytrade TastytradeBrokerage.Brokerage.cs), so a position can change
without the book hearing of it.  The same ``reconcile`` the start-up uses runs each step with no
order of ours working (a working order legitimately moves holdings); a difference pauses new
entries with a critical alert, and the pause lifts at the next clean comparison.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from core.ports import Severity
from core.types import Holding
from persistence.reconcile import reconcile

OWNER, PAUSE = "holdings_watch", "holdings_mismatch"  # its own reason in the pause set


class HoldingsWatch:
    def __init__(self) -> None:
        self.last: list[str] = []

    def check(
        self,
        system: Any,
        working: Collection[str],
        holdings: Mapping[str, Holding],
        open_tags: Collection[str],
    ) -> bool:
        """True when the book and the engine agree (or an order is working: not compared)."""
        if working or open_tags:
            return True
        result = reconcile(system.book.live(), (), holdings, ())
        messages = [f.message for f in result.findings if f.code != "foreign_order"]
        if messages and messages != self.last:
            system.platform.notify(
                Severity.CRITICAL, "Holdings differ from the book; new entries paused", "; ".join(messages)
            )
        self.last = messages
        if messages:
            system.pauses.add(OWNER, PAUSE, "holdings differ from the book")
            return False
        system.pauses.clear(OWNER, PAUSE)
        return True
