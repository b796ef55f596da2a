"""Connects the offline engine's loop to ``monitoring``: each step and each close the monitoring
service sees the market, the book and the account (Greeks over time, closes, volatility context,
metrics exported to the run's state store, a health snapshot per session), and the sim's alerts
go through the alert router when asked for (``--alerts``, apprise URLs in TOMKING_ALERT_URLS)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Protocol

from core.ports import Severity
from core.settings import Settings
from core.system import TradingSystem
from monitoring.alerts import AlertRouter, AppriseChannel, alert_urls
from monitoring.export import DailyMetricsExporter
from monitoring.health import HealthInputs, HealthMonitor
from monitoring.performance import expected_win_rates
from monitoring.redact import Redactor, secrets_from_environment
from monitoring.sampler import MonitoringSampler
from monitoring.service import MonitoringService, OrderActivity
from sim.platform import SimPlatform
from sim.recorder import RunRecorder

_ERRORS = (Severity.WARNING, Severity.CRITICAL)


class StepMonitor(Protocol):
    def on_step(self, platform: SimPlatform, system: TradingSystem) -> None: ...

    def on_end_of_day(self, day: date, platform: SimPlatform, system: TradingSystem) -> None: ...


class SimMonitor:
    def __init__(
        self,
        sampler: MonitoringSampler,
        export_metrics: bool = True,
        router: AlertRouter | None = None,
        orders: OrderActivity | None = None,
    ) -> None:
        self._sampler = sampler
        self.orders = orders
        self._export = export_metrics
        self._router = router
        self.service: MonitoringService | None = None
        self.platform: SimPlatform | None = None
        self._alerts_seen = 0

    @property
    def routes_alerts(self) -> bool:
        """Whether the run's alerts leave the run's own files (``--alerts``)."""
        return self._router is not None

    def _service(self, platform: SimPlatform, system: TradingSystem) -> MonitoringService:
        if self.service is None:
            self.platform = platform
            settings = system.settings
            exporter = (
                DailyMetricsExporter(platform.store, settings.starting_cash, expected_win_rates(settings))
                if self._export
                else None
            )
            # one health snapshot per simulated session: a backtest has no live connections to watch
            health = HealthMonitor(platform.now, platform.store, interval=timedelta(hours=12))
            self.service = MonitoringService(
                self._sampler, exporter, health, self._router, orders=self.orders
            )
        return self.service

    def on_step(self, platform: SimPlatform, system: TradingSystem) -> None:
        service = self._service(platform, system)
        service.on_step(platform.snapshot(), system.book.live(), platform.account)
        if self._router is not None:
            for _, severity, title, message in platform.alerts[self._alerts_seen :]:
                service.alert(severity, title, message)
            self._alerts_seen = len(platform.alerts)

    def on_end_of_day(self, day: date, platform: SimPlatform, system: TradingSystem) -> None:
        service = self._service(platform, system)
        snapshot, account = platform.snapshot(), platform.account()
        live = system.book.live()
        service.on_end_of_day(day, snapshot, live, system.book.closed(), account)
        hour_ago = platform.now() - timedelta(hours=1)
        reason = system.entries_paused_reason
        service.update_health(
            HealthInputs(
                connections={"sim_broker": True},
                last_quote_times={k: q.time for k, q in sorted(snapshot.underlyings.items())},
                open_groups=len(live),
                breaker_state=f"paused:{reason}" if reason else "armed",
                net_liquidation=account.net_liquidation,
                buying_power_used=account.buying_power_used,
                errors_last_hour=sum(1 for t, s, _, _ in platform.alerts if t >= hour_ago and s in _ERRORS),
            )
        )


def sim_monitor(
    recorder: RunRecorder, settings: Settings, environ: Mapping[str, str], alerts: bool = False
) -> SimMonitor:
    """The backtest's monitor, sampling into ``recorder`` and watching its order events for the
    health snapshot.  Its alerts stay in the run's files unless ``alerts`` is asked for
    (``--alerts``): then they also go to the apprise URLs in ``TOMKING_ALERT_URLS``, titled
    ``[BACKTEST <simulated time>]`` (de-duplicated, rate-limited in simulated time, secrets redacted)."""
    orders = OrderActivity()
    recorder.subscribe(orders)
    sampler = MonitoringSampler.from_settings(recorder, settings)
    urls = alert_urls(environ) if alerts else []
    if not urls:
        return SimMonitor(sampler, orders=orders)
    clock = _LateClock()
    channel = AppriseChannel(urls, backtest=True)
    router = AlertRouter(clock, [channel], Redactor(secrets_from_environment(environ)))
    monitor = SimMonitor(sampler, router=router, orders=orders)
    clock.monitor = monitor
    return monitor


class _LateClock:
    """The router's clock is the sim's, known only once the run has a platform."""

    monitor: SimMonitor | None = None

    def __call__(self) -> datetime:
        if self.monitor is None or self.monitor.platform is None:
            raise RuntimeError("the sim clock has not started")
        return self.monitor.platform.now()
