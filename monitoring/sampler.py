"""Samples what the reports and the Greeks monitor need over time, as events through the system's
``EventSink``: ``portfolio_greeks`` (intraday while positions are open, and every close),
``day_close`` (prices, VIX, account) and ``vol_context`` per watched underlying, and
``hedge_suggestion`` when a Greek limit is near or breached.  Engine-neutral: the sim calls it
each step; LEAN can call it from its scheduled events."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from datetime import date, datetime, timedelta
from typing import Any

from core.ports import EventSink
from core.types import AccountState, GroupStatus, MarketSnapshot, PositionGroup
from monitoring.greeks import (
    DEFAULT_LIMITS,
    BetaTable,
    LimitCheck,
    PortfolioGreeks,
    PositionGreeks,
    check_limits,
    portfolio_greeks,
)
from monitoring.volatility import VolatilityTracker

# Watched underlying -> option root.  "/ES"-style keys are futures: their chains are found by root
# (the front contract changes), the IV history runs on across contract rolls.
DEFAULT_VOL_ROOTS: Mapping[str, str] = {
    "SPX": "SPXW", "SPY": "SPY", "QQQ": "QQQ", "IWM": "IWM", "/ES": "ES", "/CL": "CL", "/GC": "GC",
}  # fmt: skip
_HELD = (GroupStatus.OPEN, GroupStatus.CLOSING)


def limits_from_settings(settings: Any) -> dict[str, float]:
    """The risk layer's Greek limits (``risk_max_*_nlv``); the rulebook's numbers where absent."""
    names = {"delta": "risk_max_delta_nlv", "gamma": "risk_max_gamma_nlv",
             "short_vega": "risk_max_short_vega_nlv", "theta": "risk_max_theta_nlv"}  # fmt: skip
    return {k: float(getattr(settings, attr, DEFAULT_LIMITS[k])) for k, attr in names.items()}


class MonitoringSampler:
    def __init__(
        self,
        sink: EventSink,
        beta: BetaTable,
        limits: Mapping[str, float] = DEFAULT_LIMITS,
        interval: timedelta = timedelta(minutes=30),
        vol_roots: Mapping[str, str] = DEFAULT_VOL_ROOTS,
    ) -> None:
        self._sink = sink
        self._beta = beta
        self._limits = dict(limits)
        self._interval = interval
        self._vol_roots = dict(vol_roots)
        self._vol = VolatilityTracker()
        self._last_sample: datetime | None = None
        self._suggested: set[tuple[date, str, str]] = set()
        self.on_suggestion: Callable[[LimitCheck], None] | None = None  # e.g. a live alert

    @classmethod
    def from_settings(cls, sink: EventSink, settings: Any, **kw: Any) -> MonitoringSampler:
        return cls(
            sink,
            BetaTable.from_pairs(getattr(settings, "risk_betas", ())),
            limits_from_settings(settings),
            **kw,
        )

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
                self._sink.record("vol_context", now, {**asdict(ctx), "expiry": ctx.expiry.isoformat()})

    def _sample(
        self, snapshot: MarketSnapshot, held: Sequence[PositionGroup], account: AccountState, eod: bool
    ) -> None:
        now = snapshot.time
        self._last_sample = now
        pg = portfolio_greeks(held, snapshot, self._beta)
        checks = (
            check_limits(pg, account.net_liquidation, snapshot, self._limits)
            if account.net_liquidation > 0
            else []
        )
        self._sink.record("portfolio_greeks", now, _payload(pg, checks, account, snapshot, eod))
        for c in checks:
            key = (now.date(), c.name, c.state)
            if c.state != "ok" and key not in self._suggested:
                self._suggested = {k for k in self._suggested if k[0] == key[0]}  # only today's matter
                self._suggested.add(key)
                self._sink.record("hedge_suggestion", now, {**asdict(c)})
                if self.on_suggestion is not None:
                    self.on_suggestion(c)


def _payload(
    pg: PortfolioGreeks, checks: list[LimitCheck], account: AccountState, snapshot: MarketSnapshot, eod: bool
) -> dict[str, Any]:
    return {
        "eod": eod,
        "net_liquidation": account.net_liquidation,
        "buying_power_used": account.buying_power_used,
        "vix": snapshot.vix,
        **asdict(pg.total),
        "by_strategy": _by_strategy(pg),
        "positions": [_position(p) for p in pg.positions],
        "limits": [
            {"name": c.name, "value": c.value, "limit": c.limit, "usage": c.usage, "state": c.state}
            for c in checks
        ],
    }


def _by_strategy(pg: PortfolioGreeks) -> dict[str, dict[str, Any]]:
    """Each strategy's Greeks with its open positions' unrealised P&L (marked at mid; positions
    without a full quote are counted in ``unmarked`` and left out of the sum)."""
    out: dict[str, dict[str, Any]] = {
        k: {**asdict(v), "unrealized_pnl": 0.0, "positions": 0, "unmarked": 0}
        for k, v in sorted(pg.by_strategy.items())
    }
    for p in pg.positions:
        row = out[p.strategy]
        row["positions"] += 1
        if p.unrealized_pnl is None or not math.isfinite(p.unrealized_pnl):
            row["unmarked"] += 1
        else:
            row["unrealized_pnl"] += p.unrealized_pnl
    return out


def _position(p: PositionGreeks) -> dict[str, Any]:
    return {
        "group_id": p.group_id,
        "strategy": p.strategy,
        **asdict(p.greeks),
        "mark": p.mark,
        "unrealized_pnl": p.unrealized_pnl,
        "missing_quotes": list(p.missing_quotes),
    }
