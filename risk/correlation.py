"""Correlation groups (STRATEGY_RULES.md): at most N open positions per group by phase, the two
equity-index groups together capped, and both caps one lower in the EXTREME regime.

A position is a campaign (an LT112's spread and naked puts are one position); an intent that
adds to a campaign already open adds no position.  Symbols map to groups by option root first,
then by the underlying with any futures month code removed (``ESH26`` -> ``ES``; the groups are
``core.asset_groups``).  A symbol in no listed group forms a group of its own, under the same
per-group cap.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from core.asset_groups import EQUITY_INDEX, GROUPS, contract_group, symbol_group
from core.regime import Regime
from core.settings import Settings
from core.types import Decision, Leg, OrderIntent, PositionGroup

__all__ = ["EQUITY_INDEX", "GROUPS", "check_correlation", "count_positions", "legs_groups", "symbol_group"]


def legs_groups(legs: Iterable[Leg]) -> set[str]:
    return {contract_group(leg.contract.root, leg.contract.underlying) for leg in legs}


@dataclass(frozen=True)
class CorrelationCounts:
    per_group: dict[str, int]
    campaigns: dict[str, set[str]]  # group -> campaign ids open in it


def count_positions(groups: Iterable[PositionGroup]) -> CorrelationCounts:
    campaigns: dict[str, set[str]] = {}
    for g in groups:
        campaign = g.campaign_id
        for name in legs_groups(g.legs):
            campaigns.setdefault(name, set()).add(campaign)
    return CorrelationCounts({k: len(v) for k, v in campaigns.items()}, campaigns)


def limits(phase: int, regime: Regime, s: Settings) -> tuple[int, int]:
    """(max positions per group, max A1+A2 combined) for this phase and regime."""
    cut = 1 if regime is Regime.EXTREME else 0
    per_group = s.risk_correlation_max_per_group[phase] - cut
    combined = s.risk_equity_index_combined_max[phase] - cut
    return max(0, per_group), max(0, combined)


def check_correlation(
    intent: OrderIntent, counts: CorrelationCounts, phase: int, regime: Regime, s: Settings
) -> Decision:
    per_group, combined = limits(phase, regime, s)
    campaign = intent.campaign
    touched = legs_groups(intent.legs)
    added: dict[str, int] = {}
    for name in touched:
        already = campaign and campaign in counts.campaigns.get(name, set())
        added[name] = 0 if already else 1
        after = counts.per_group.get(name, 0) + added[name]
        if added[name] and after > per_group:
            return Decision.block(
                "correlation_group",
                f"group {name} would hold {after} positions > {per_group} "
                f"(phase {phase}, {regime.name} regime)",
            )
    if any(added.get(g, 0) for g in EQUITY_INDEX):
        # One position spanning A1 and A2 still counts once in the combined cap.
        open_index = set().union(*(counts.campaigns.get(g, set()) for g in EQUITY_INDEX))
        after = len(open_index) + (0 if campaign and campaign in open_index else 1)
        if after > combined:
            return Decision.block(
                "correlation_equity_index",
                f"equity-index groups A1+A2 would hold {after} positions > {combined} "
                f"(phase {phase}, {regime.name} regime)",
            )
    return Decision.ok()
