"""What the gate needs to know about the open portfolio, computed once per step.

Portfolio Greeks, buying power used per strategy and correlation counts cost O(open legs); the
gate evaluates several intents per step against the same portfolio, so the view is cached by the
snapshot time and the identity of the open groups and reused until either changes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from core.types import Leg, MarketSnapshot, PositionGroup
from risk.correlation import CorrelationCounts, count_positions
from risk.greeks import Betas, Greeks, GreeksUnknown, legs_greeks
from risk.strategy_guard import base_strategy

MarginFn = Callable[[Sequence[Leg], int, MarketSnapshot], float]


class PortfolioView:
    def __init__(self, groups: Sequence[PositionGroup], snapshot: MarketSnapshot, betas: Betas) -> None:
        self.groups = groups
        self.snapshot = snapshot
        self.correlation: CorrelationCounts = count_positions(groups)
        self._betas = betas
        self._greeks: Greeks | None = None
        self._greeks_error = ""
        self._margin: dict[str, float] = {}

    def greeks(self) -> Greeks:
        """Raises ``GreeksUnknown`` when any open leg has no usable quote."""
        if self._greeks is None and not self._greeks_error:
            total = Greeks()
            try:
                for g in self.groups:
                    total = total + legs_greeks(g.legs, g.quantity, self.snapshot.chains, self._betas)
                self._greeks = total
            except GreeksUnknown as exc:
                self._greeks_error = str(exc)
        if self._greeks is None:
            raise GreeksUnknown(self._greeks_error)
        return self._greeks

    def strategy_margin(self, strategy: str, margin: MarginFn) -> float:
        """Buying power the strategy's open groups use, as the engine's model computes it."""
        name = base_strategy(strategy)
        if name not in self._margin:
            legs = [
                Leg(leg.contract, leg.ratio * g.quantity)
                for g in self.groups
                if base_strategy(g.strategy) == name
                for leg in g.legs
            ]
            self._margin[name] = margin(legs, 1, self.snapshot) if legs else 0.0
        return self._margin[name]


class PortfolioCache:
    def __init__(self, betas: Betas) -> None:
        self._betas = betas
        self._key: tuple[datetime, tuple[tuple[str, str, int], ...]] | None = None
        self._view: PortfolioView | None = None

    def view(self, groups: Sequence[PositionGroup], snapshot: MarketSnapshot) -> PortfolioView:
        key = (snapshot.time, tuple((g.group_id, g.status.value, g.quantity) for g in groups))
        if self._view is None or key != self._key or self._view.snapshot is not snapshot:
            self._key, self._view = key, PortfolioView(groups, snapshot, self._betas)
        return self._view
