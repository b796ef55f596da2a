"""Open orders LEAN restores after a live restart, matched back to the journal.

Tastytrade's brokerage rebuilds open orders without their tags (Lean.Brokerages.Tastytrade
TastytradeBrokerage.Brokerage.cs GetOpenOrders), so a restarted algorithm cannot recognise its own
working combos by tag.  They are matched to the journal's working orders by their legs (contract
and total quantity) and limit; whatever does not match exactly is cancelled and alerted, never
left working as an unknown order.  Engine-neutral: the adapter reads LEAN's orders into these
values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.book import contract_from_json
from lean_adapter.combos import normalise


@dataclass(frozen=True)
class Combo:
    """A combo by its shape: total signed quantity per core symbol and the normalised limit."""

    key: str  # the journal tag, or LEAN's group id of a restored combo
    totals: tuple[tuple[str, int], ...]
    limit: float


def from_journal(working: Mapping[str, Mapping[str, Any]]) -> list[Combo]:
    """The journal's working orders (``persistence`` orders section) as combos."""
    out = []
    for tag, entry in working.items():
        order = entry.get("order", {})
        quantity = int(order.get("quantity", 0))
        totals = {
            contract_from_json(leg["contract"]).symbol: int(leg["ratio"]) * quantity
            for leg in order.get("legs", [])
        }
        ratios = [int(leg["ratio"]) for leg in order.get("legs", [])]
        if not totals or not ratios:
            continue
        _, _, limit = normalise(ratios, quantity, float(order.get("limit_price", 0.0)))
        out.append(Combo(tag, tuple(sorted(totals.items())), round(limit, 6)))
    return out


def match(restored: list[Combo], journal: list[Combo]) -> dict[str, str]:
    """Restored combo key -> journal tag, for exact and unambiguous matches only (the limit by size:
    the brokerage reports a price and a debit/credit effect, not our signed limit)."""
    out: dict[str, str] = {}
    for r in restored:
        found = [j.key for j in journal if j.totals == r.totals and abs(abs(j.limit) - abs(r.limit)) < 1e-6]
        if len(found) == 1 and found[0] not in out.values():
            out[r.key] = found[0]
    return out
