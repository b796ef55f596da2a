"""Samples what the reports and the Greeks monitor need over time, as events through the system's
``EventSink``: ``portfolio_greeks`` (intraday while positions are open, and every close; with the
portfolio's ``stress_loss`` of ``core.stress`` beside its ``stress_limit``),
``day_close`` (prices, VIX, account) and ``vol_context`` per watched underlying, and
``hedge_suggestion`` when a Greek limit is near or breached.  Engine-neutral: the sim calls it
each step; LEAN can call it from its scheduled events."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, fields
from datetime import date, datetime, timedelta
from typing import Any

from core.greek_limits import LimitCheck, Limits, check_limits
from core.portfolio_greeks import BetaTable, GroupGreeks, PortfolioGreeks, portfolio_greeks
from core.ports import EventSink
from core.settings import Settings
from core.stress import Scenarios, StressUnknown, positions_of, stress_loss
from core.types import AccountState, GroupStatus, MarketSnapshot, PositionGroup
from monitoring.volatility import VolatilityTracker, VolContext

# Watched underlying -> option root.  "/ES"-style keys are futures: their chains are found by root
# (the front contract changes), the IV history runs on across contract rolls.
DEFAULT_VOL_ROOTS: Mapping[str, str] = {
    "SPX": "SPXW", "SPY": "SPY", "QQQ": "QQQ", "IWM": "IWM", "/ES": "ES", "/CL": "CL", "/GC": "GC",
}  # fmt: skip
_HELD = (GroupStatus.OPEN, GroupStatus.CLOSING)


class MonitoringSampler:
    """Greeks, limits and stress from the same model and settings the risk layer judges with
    (``core.portfolio_greeks``, ``core.greek_limits``, ``core.stress``)."""

    def __init__(
        self,
        sink: EventSink,
        settings: Settings,
        interval: timedelta = timedelta(minutes=30),
        vol_roots: Mapping[str, str] = DEFAULT_VOL_ROOTS,
    ) -> None:
        self._sink = sink
        self._settings = settings
        self._scenarios = Scenarios.from_settings(settings)
        self._beta = BetaTable.from_settings(settings)
        self._interval = interval
        self._vol_roots = dict(vol_roots)
        self._vol = VolatilityTracker()
        self._last_sample: datetime | None = None
        self._suggested: set[tuple[date, str, str]] = set()
        self.on_suggestion: Callable[[LimitCheck], None] | None = None  # e.g. a live alert

    def due(self, now: datetime, groups: Sequence[PositionGroup]) -> bool:
        """Whether an intraday sample is due: positions are held and ``interval`` has passed."""
        if self._last_sample is not None and now - self._last_sample < self._interval:
            return False
        return any(g.status in _HELD for g in groups)

    def on_step(
        self, snapshot: MarketSnapshot, groups: Sequence[PositionGroup], account: AccountState
    ) -> None:
        if self.due(snapshot.time, groups):
            self._sample(snapshot, [g for g in groups if g.status in _HELD], account, eod=False)

    def on_end_of_day(
        self, day: date, snapshot: MarketSnapshot, groups: Sequence[PositionGroup], account: AccountState
    ) -> None:
        now = snapshot.time
        prices = {k: q.price for k, q in sorted(snapshot.underlyings.items())}
        self._sink.record(
            "day_close",
            now,
            {
                "day": day.isoformat(),
                "prices": prices,
                "vix": snapshot.vix,
                "net_liquidation": account.net_liquidation,
                "buying_power_used": account.buying_power_used,
            },
        )
        self._sample(snapshot, [g for g in groups if g.status in _HELD], account, eod=True)
        for underlying, root in sorted(self._vol_roots.items()):
            if not underlying.startswith("/") and underlying not in snapshot.underlyings:
                continue
            ctx = self._vol.observe(snapshot, underlying, root)
            if ctx is not None:
                self._sink.record("vol_context", now, {**_fields(ctx), "expiry": ctx.expiry.isoformat()})

    def _sample(
        self, snapshot: MarketSnapshot, held: Sequence[PositionGroup], account: AccountState, eod: bool
    ) -> None:
        now = snapshot.time
        self._last_sample = now
        pg = portfolio_greeks(held, snapshot.chains, self._beta, now.date())
        checks: list[LimitCheck] = []
        if account.net_liquidation > 0 and not pg.missing:  # no verdict on a partial portfolio
            checks = check_limits(pg, Limits.for_nlv(account.net_liquidation, self._settings), snapshot)
        payload = _payload(pg, held, checks, account, snapshot, eod)
        payload.update(self._stress(snapshot, held, account))
        self._sink.record("portfolio_greeks", now, payload)
        for c in checks:
            key = (now.date(), c.name, c.state)
            if c.state != "ok" and key not in self._suggested:
                self._suggested = {k for k in self._suggested if k[0] == key[0]}  # only today's matter
                self._suggested.add(key)
                self._sink.record("hedge_suggestion", now, {**asdict(c)})
                if self.on_suggestion is not None:
                    self.on_suggestion(c)

    def _stress(
        self, snapshot: MarketSnapshot, held: Sequence[PositionGroup], account: AccountState
    ) -> dict[str, Any]:
        """``stress_loss`` (dollars lost in the worst scenario, None when a leg has no usable
        quote), its ``stress_limit`` and the loss per class of underlying."""
        limit = self._settings.risk_max_stress_nlv * account.net_liquidation
        try:
            positions = positions_of([(g.legs, g.quantity) for g in held], snapshot.chains)
            result = stress_loss(positions, snapshot.time, self._scenarios)
        except StressUnknown:
            return {"stress_loss": None, "stress_limit": limit}
        return {
            "stress_loss": result.loss,
            "stress_limit": limit,
            "stress_by_class": dict(result.by_class),  # the result may be shared (core.stress memo)
        }


def _fields(ctx: VolContext) -> dict[str, Any]:
    """``dataclasses.asdict`` of a flat record, without its recursive deep copy (every close
    records one per watched underlying)."""
    return {f.name: getattr(ctx, f.name) for f in fields(ctx)}


def _payload(
    pg: PortfolioGreeks,
    held: Sequence[PositionGroup],
    checks: list[LimitCheck],
    account: AccountState,
    snapshot: MarketSnapshot,
    eod: bool,
) -> dict[str, Any]:
    positions = [_position(g, group, snapshot) for g, group in zip(pg.groups, held, strict=True)]
    return {
        "eod": eod,
        "net_liquidation": account.net_liquidation,
        "buying_power_used": account.buying_power_used,
        "vix": snapshot.vix,
        **pg.total.as_dict(),
        "by_strategy": _by_strategy(pg, positions),
        "positions": positions,
        "limits": [
            {"name": c.name, "value": c.value, "limit": c.limit, "usage": c.usage, "state": c.state}
            for c in checks
        ],
    }


def _by_strategy(pg: PortfolioGreeks, positions: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each strategy's Greeks with its open positions' unrealised P&L (marked at mid; positions
    without a full quote are counted in ``unmarked`` and left out of the sum)."""
    out: dict[str, dict[str, Any]] = {
        k: {**v.as_dict(), "unrealized_pnl": 0.0, "positions": 0, "unmarked": 0}
        for k, v in sorted(pg.by_strategy().items())
    }
    for p in positions:
        row = out[p["strategy"]]
        row["positions"] += 1
        if p["unrealized_pnl"] is None:
            row["unmarked"] += 1
        else:
            row["unrealized_pnl"] += p["unrealized_pnl"]
    return out


def _position(g: GroupGreeks, group: PositionGroup, snapshot: MarketSnapshot) -> dict[str, Any]:
    """One position's Greeks, its mark (net value per unit at mid, credit structures negative) and
    unrealised P&L after entry fees; both None when a leg has no quote or no Greeks."""
    quotes = None if g.missing else snapshot.quotes(group.legs)
    mark = (
        None if quotes is None else sum(leg.ratio * q.mid for leg, q in zip(group.legs, quotes, strict=True))
    )
    if mark is not None and not math.isfinite(mark):
        mark = None
    unrealized = (
        None
        if mark is None
        else (mark - group.entry_price) * group.quantity * group.multiplier - group.entry_fees
    )
    return {
        "group_id": g.group_id,
        "strategy": g.strategy,
        **g.greeks.as_dict(),
        "mark": mark,
        "unrealized_pnl": unrealized,
        "missing_quotes": list(g.unquoted),
    }
