"""What the gate needs to know about the open portfolio, computed once per step.

Portfolio Greeks, the stress loss, buying power used per strategy and correlation counts cost
O(open legs); the
monitors and the gate look at the same portfolio several times per step, so the view is cached by
the snapshot time and the identity of the open groups and reused until either changes (one cache,
kept on ``RiskState``, serves both).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from core.portfolio_greeks import BetaTable, Greeks, PortfolioGreeks, is_intraday, portfolio_greeks
from core.stress import Scenarios, StressResult, positions_of, stress_loss
from core.types import Leg, MarketSnapshot, PositionGroup
from risk.correlation import CorrelationCounts, count_positions
from risk.strategy_guard import base_strategy

MARGIN_REFRESH = timedelta(minutes=15)
MarginFn = Callable[[Sequence[Leg], int, MarketSnapshot], float]


class PortfolioView:
    def __init__(
        self,
        groups: Sequence[PositionGroup],
        snapshot: MarketSnapshot,
        betas: BetaTable,
        cache: PortfolioCache,
    ) -> None:
        self.groups = groups
        self._cache = cache
        self.snapshot = snapshot
        self._betas = betas
        self._greeks: PortfolioGreeks | None = None
        self._stress: StressResult | None = None
        self._positions: list | None = None
        self._margin: dict[str, float] = {}

    @functools.cached_property
    def correlation(self) -> CorrelationCounts:
        """Open positions per correlation group, overnight groups only (the 0DTE condor is outside
        the caps); counted when an entry asks, not on every step the monitors build the view."""
        today = self.snapshot.time.date()
        return count_positions([g for g in self.groups if not is_intraday(g, today)])

    def portfolio_greeks(self) -> PortfolioGreeks:
        """Every open group's Greeks (``core.portfolio_greeks``), computed once per view."""
        if self._greeks is None:
            self._greeks = portfolio_greeks(
                self.groups, self.snapshot.chains, self._betas, self.snapshot.time.date()
            )
        return self._greeks

    def greeks(self) -> Greeks:
        """The Greeks the limits are judged on (intraday groups' vega and theta left out).  Raises
        ``GreeksUnknown`` when any open leg has no usable quote."""
        return self.portfolio_greeks().judged()

    def positions(self) -> list:
        """(quote, signed contracts) of every open leg; raises ``StressUnknown`` on a missing quote."""
        if self._positions is None:
            self._positions = positions_of([(g.legs, g.quantity) for g in self.groups], self.snapshot.chains)
        return self._positions

    def stress(self, scenarios: Scenarios) -> StressResult:
        """The open portfolio's stress loss (``core.stress``); raises ``StressUnknown``."""
        if self._stress is None:
            self._stress = stress_loss(self.positions(), self.snapshot.time, scenarios)
        return self._stress

    def strategy_margin(self, strategy: str, margin: MarginFn) -> float:
        """Buying power the strategy's open groups use, as the engine's model computes it."""
        name = base_strategy(strategy)
        if name not in self._margin:
            self._margin[name] = self._cache.strategy_margin(name, self, margin) if self._cache else 0.0
        return self._margin[name]


class PortfolioCache:
    def __init__(self, betas: BetaTable) -> None:
        self._betas = betas
        self._key: tuple[datetime, tuple[int, ...]] | None = None
        self._view: PortfolioView | None = None
        self._margins: dict[str, tuple[tuple[tuple[str, int, str, int], ...], datetime, float]] = {}

    def view(self, groups: Sequence[PositionGroup], snapshot: MarketSnapshot) -> PortfolioView:
        # Groups are immutable: any change in the book is a new object, so identities are the key
        # (the cached view keeps them alive, so an identity cannot be reused while it is cached).
        key = (snapshot.time, tuple(map(id, groups)))
        if self._view is None or key != self._key or self._view.snapshot is not snapshot:
            self._key, self._view = key, PortfolioView(groups, snapshot, self._betas, self)
        return self._view

    def strategy_margin(self, name: str, view: PortfolioView, margin: MarginFn) -> float:
        """Re-priced when the strategy's positions change and at least every ``MARGIN_REFRESH``:
        the engine's margin model over a strategy's legs is the costliest thing the gate does, and
        the hard BP cap already uses the engine's live figure for the whole account."""
        mine = [g for g in view.groups if base_strategy(g.strategy) == name]
        key = tuple((g.group_id, g.quantity, g.status.value, len(g.legs)) for g in mine)
        cached = self._margins.get(name)
        now = view.snapshot.time
        if cached is None or cached[0] != key or not timedelta(0) <= now - cached[1] < MARGIN_REFRESH:
            legs = [Leg(leg.contract, leg.ratio * g.quantity) for g in mine for leg in g.legs]
            cached = (key, now, margin(legs, 1, view.snapshot) if legs else 0.0)
            self._margins[name] = cached
        return cached[2]
