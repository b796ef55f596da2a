"""The net-price grid of combo orders per option root: execution prices orders on it, and the
auditor allows a filled profit target one tick per leg below its target (STRATEGY_RULES.md)."""

from __future__ import annotations

import math

from core.types import OptionContract, SecurityKind

_TICKS = {"SPX": 0.05, "SPXW": 0.05, "XSP": 0.01, "ES": 0.25, "MES": 0.25, "CL": 0.01, "GC": 0.10}


def combo_tick(contract: OptionContract) -> float:
    """Smallest net-price increment for a combo on this root."""
    return root_tick(contract.root, contract.kind is SecurityKind.INDEX_OPTION)


def root_tick(root: str, index_option: bool = False) -> float:
    if root in _TICKS:
        return _TICKS[root]
    return 0.05 if index_option else 0.01


def worst_limit(limit: float, worst_price: float, tick: float) -> float:
    """``limit`` capped at ``worst_price`` (net per unit, debit +), the cap rounded up on the grid:
    the order may give up less than one tick beyond it, never more."""
    cap = round(math.ceil(worst_price / tick - 1e-9) * tick, 10)
    return min(limit, cap)
