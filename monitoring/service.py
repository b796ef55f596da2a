"""The monitoring layer behind one object, for whichever engine runs the system: call
``on_step`` every step and ``on_end_of_day`` after each close; give it health inputs when the
engine has them; send alerts through ``alert``.

It samples Greeks, closes and volatility into the event sink (for reports), exports metrics to the
engine's store after each close, keeps the health snapshot current in the store, and (when a
router is given) sends the daily summary.  LEAN: build it with ``MonitoringService.from_settings``
in ``initialize`` and forward the same calls from the algorithm's events.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from core.greek_limits import LimitCheck
from core.ports import EventSink, Severity, StateStore
from core.types import AccountState, MarketSnapshot, OrderStatus, PositionGroup
from monitoring.alerts import AlertRouter, Outcome
from monitoring.export import DailyMetricsExporter, daily_summary
from monitoring.health import HealthInputs, HealthMonitor, HealthServer, HealthSnapshot
from monitoring.open_positions import mark_positions
from monitoring.performance import expected_win_rates
from monitoring.sampler import MonitoringSampler
from monitoring.volatility import QuoteStats

QUOTES_KEY = "monitoring/quotes/latest.json"


class OrderActivity:
    """An event sink in front of the system's own: forwards every record and notes each order
    the engine acknowledges as submitted (``order_event`` records), for the health snapshot's
    ``last_order_time`` and ``orders_submitted``.  Engine-neutral: wrap the sink the system is
    built with (``OrderActivity(LogSink(algorithm))`` in LEAN), or subscribe it to the sim's
    recorder."""

    def __init__(self, sink: EventSink | None = None) -> None:
        self._sink = sink
        self.submitted = 0
        self.last_submitted: datetime | None = None

    def record(self, kind: str, time: datetime, payload: Mapping[str, Any]) -> None:
        if kind == "order_event" and payload.get("status") == OrderStatus.SUBMITTED.value:
            self.submitted += 1
            self.last_submitted = time
        if self._sink is not None:
            self._sink.record(kind, time, payload)


class MonitoringService:
    def __init__(
        self,
        sampler: MonitoringSampler,
        exporter: DailyMetricsExporter | None,
        health: HealthMonitor | None,
        router: AlertRouter | None = None,
        send_daily_summary: bool = False,
        orders: OrderActivity | None = None,
    ) -> None:
        self.sampler = sampler
        self.orders = orders
        self.exporter = exporter
        self.health = health
        self.router = router
        self._daily = send_daily_summary
        if send_daily_summary and router is not None:  # live: a near Greek limit reaches a human
            sampler.on_suggestion = self._suggest
        self.last_metrics: dict[str, Any] | None = None
        self.quotes = QuoteStats()
        self._store = exporter.store if exporter is not None else None

    @classmethod
    def from_settings(
        cls,
        settings: Any,
        sink: EventSink,
        store: StateStore,
        clock: Callable[[], datetime],
        router: AlertRouter | None = None,
        live: bool = False,
        health_interval: timedelta = timedelta(minutes=1),
        export_metrics: bool = True,
    ) -> MonitoringService:
        """Daily summaries and hedge alerts are sent only in live trading: a backtest would send
        one per simulated day.  When ``sink`` is an ``OrderActivity`` (the sink the system was built
        with), the health snapshot reports the orders it saw."""
        exporter = (
            DailyMetricsExporter(store, float(settings.starting_cash), expected_win_rates(settings))
            if export_metrics
            else None
        )
        return cls(
            MonitoringSampler(sink, settings),
            exporter,
            HealthMonitor(clock, store, health_interval),
            router,
            send_daily_summary=live and router is not None,
            orders=sink if isinstance(sink, OrderActivity) else None,
        )

    def on_step(
        self, snapshot: MarketSnapshot, groups: Sequence[PositionGroup], account: Callable[[], AccountState]
    ) -> None:
        """``account`` is called only when a sample is due (valuing the account can be costly)."""
        if self.sampler.due(snapshot.time, groups):
            self.sampler.on_step(snapshot, groups, account())

    def on_end_of_day(
        self,
        day: date,
        snapshot: MarketSnapshot,
        live_groups: Sequence[PositionGroup],
        closed_groups: Sequence[PositionGroup],
        account: AccountState,
    ) -> None:
        self.sampler.on_end_of_day(day, snapshot, live_groups, account)
        if self.exporter is None:
            return
        self.last_metrics = self.exporter.on_close(
            day,
            account.net_liquidation,
            snapshot.price(self.exporter.benchmark),
            closed_groups,
            mark_positions(live_groups, snapshot),
        )
        stats = self.quotes.summary()
        if stats and self._store is not None:
            doc = {"day": day.isoformat(), "quotes": stats}
            self._store.save(QUOTES_KEY, json.dumps(doc, sort_keys=True).encode("utf-8"))
        if self._daily and self.router is not None:
            title, body = daily_summary(self.last_metrics)
            self.router.send(Severity.INFO, title, body, key=f"daily-summary-{day}")

    def _suggest(self, check: LimitCheck) -> None:
        if self.router is not None:
            severity = Severity.CRITICAL if check.state == "breach" else Severity.WARNING
            title = f"Greek limit {check.name} {check.state} ({check.usage:.0%})"
            self.router.send(severity, title, check.suggestion, key=f"hedge-{check.name}-{check.state}")

    def on_quote(self, symbol: str, time: datetime, bid: float, ask: float) -> None:
        """Feed quote updates (live feed) for the per-underlying spread and quote-rate statistics,
        exported with each close to ``monitoring/quotes/latest.json``."""
        self.quotes.observe(symbol, time, bid, ask)

    def update_health(self, inputs: HealthInputs) -> HealthSnapshot | None:
        if self.health is None:
            return None
        if self.router is not None and inputs.unavailable_channels is None:
            inputs = dataclasses.replace(inputs, unavailable_channels=self.router.unavailable())
        if self.orders is not None and inputs.orders_submitted is None:
            inputs = dataclasses.replace(
                inputs, orders_submitted=self.orders.submitted, last_order_time=self.orders.last_submitted
            )
        return self.health.update(inputs)

    def serve_health(self, port: int = 8787, host: str = "127.0.0.1") -> HealthServer:
        """Serve the latest snapshot as JSON on a loopback port (local live mode only: in
        QuantConnect Cloud there is no port to reach).  The caller stops it at shutdown."""
        if self.health is None:
            raise RuntimeError("this service keeps no health snapshot")
        return HealthServer(self.health, host, port).start()

    def alert(self, severity: Severity, title: str, message: str, key: str | None = None) -> Outcome | None:
        return None if self.router is None else self.router.send(severity, title, message, key)
