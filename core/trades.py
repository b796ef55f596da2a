"""What one trade is for win rate, consecutive losses and the report (STRATEGY_RULES.md, "How
targets, stops and trades are measured", and the IPMCC and LT112 "Counting" lines): an LT112 unit
(spread part + naked part) and an IPMCC campaign (long calls + every weekly) are one trade each; a
0DTE condor, a strangle, a LEAP rung and an assigned remainder are their own group."""

from __future__ import annotations

CAMPAIGN_TRADES = frozenset({"lt112", "ipmcc"})  # strategies whose campaign is the trade


def trade_key(strategy: str, campaign: str, group_id: str) -> str:
    """The trade a position group belongs to: its campaign for LT112 and IPMCC, else itself."""
    return campaign if strategy in CAMPAIGN_TRADES and campaign else group_id
