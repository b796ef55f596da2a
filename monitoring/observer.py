"""Monitoring wired to the trading system once, the same way for both engines.

``SystemMonitor`` is the system's observer: after every step the monitoring service samples the
market, the book and the account; after every close it exports the day's metrics and refreshes the
health snapshot (live: after every step too).  ``RoutedPlatform`` is the platform every layer gets:
its ``notify`` sends each alert through the one ``AlertRouter`` (de-duplication, rate limits,
secret redaction) to the engine's own notifications and any configured apprise channel.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from core.ports import Platform, Severity, StateStore, TradingCalendar
from core.types import AccountState, ComboOrder, Leg, MarketSnapshot, OrderEvent
from monitoring.alerts import AlertRouter
from monitoring.health import HealthInputs
from monitoring.service import MonitoringService

ENGINE_PAUSE = ("engine", "brokerage_disconnected")  # as core.system raises it


class SystemMonitor:
    def __init__(self, service: MonitoringService, live: bool, connection: str) -> None:
        self.service = service
        self.live = live
        self.connection = connection  # the health snapshot's name for the engine's brokerage link

    def after_step(self, system: Any) -> None:
        platform = system.platform
        self.service.on_step(platform.snapshot(), system.book.live(), platform.account)
        if self.live:
            self._health(system)

    def after_end_of_day(self, day: date, system: Any) -> None:
        platform = system.platform
        book = system.book
        account = platform.account()
        self.service.on_end_of_day(day, platform.snapshot(), book.live(), book.closed(), account)
        self._health(system, account)

    def _health(self, system: Any, account: AccountState | None = None) -> None:
        platform = system.platform
        current: AccountState = platform.account() if account is None else account
        snapshot = platform.snapshot()
        router = self.service.router
        now = platform.now()
        reason = system.pauses.describe()
        self.service.update_health(
            HealthInputs(
                connections={self.connection: not system.pauses.has(*ENGINE_PAUSE)},
                last_quote_times={k: q.time for k, q in sorted(snapshot.underlyings.items())},
                open_groups=len(system.book.live()),
                breaker_state=f"paused:{reason}" if reason else "armed",
                net_liquidation=current.net_liquidation,
                buying_power_used=current.buying_power_used,
                errors_last_hour=router.count_since(now - timedelta(hours=1)) if router is not None else 0,
            )
        )


class RoutedPlatform:
    """``Platform`` whose alerts pass the router; everything else is the engine's own."""

    def __init__(self, platform: Platform, router: AlertRouter) -> None:
        self._platform = platform
        self.router = router

    def notify(self, severity: Severity, title: str, message: str) -> None:
        self.router.send(severity, title, message)

    def now(self) -> datetime:
        return self._platform.now()

    @property
    def calendar(self) -> TradingCalendar:
        return self._platform.calendar

    @property
    def store(self) -> StateStore:
        return self._platform.store

    @property
    def is_live(self) -> bool:
        return self._platform.is_live

    def snapshot(self) -> MarketSnapshot:
        return self._platform.snapshot()

    def account(self) -> AccountState:
        return self._platform.account()

    def margin_required(self, legs: Sequence[Leg], quantity: int, snapshot: MarketSnapshot) -> float:
        return self._platform.margin_required(legs, quantity, snapshot)

    def submit_combo(self, order: ComboOrder) -> None:
        self._platform.submit_combo(order)

    def cancel(self, tag: str) -> None:
        self._platform.cancel(tag)

    def liquidate(self, symbol: str, quantity: float, tag: str) -> None:
        self._platform.liquidate(symbol, quantity, tag)

    def open_order_tags(self) -> Sequence[str]:
        return self._platform.open_order_tags()

    def known_order_tags(self) -> Collection[str] | None:
        return self._platform.known_order_tags()

    def pending_events(self) -> Sequence[OrderEvent]:
        return self._platform.pending_events()

    def consumed(self, event: OrderEvent) -> None:
        self._platform.consumed(event)

    def log(self, message: str) -> None:
        self._platform.log(message)
