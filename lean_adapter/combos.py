"""How a core combo order becomes a valid LEAN ``combo_limit_order`` call.

LEAN refuses leg quantities that share a factor (QCAlgorithm.Trading.cs CheckComboOrderSizing
raises ArgumentException unless their GCD is 1): the ratios are the combo's shape and the quantity
its size.  An LT112 naked part (one leg x2) or a relabelled multi-lot group is therefore sent as
ratios / g, quantity x g and the limit (per unit) / g - the same order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import reduce


def normalise(ratios: Sequence[int], quantity: int, limit: float) -> tuple[tuple[int, ...], int, float]:
    """(ratios with GCD 1, quantity, limit per new unit) for the same total order."""
    g = abs(reduce(math.gcd, (int(r) for r in ratios), 0))
    if g <= 1:
        return tuple(int(r) for r in ratios), quantity, limit
    return tuple(int(r) // g for r in ratios), quantity * g, round(limit / g, 10)
