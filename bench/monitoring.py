"""Monitoring's cost: what sampling Greeks, closes, volatility, metrics export and health adds to a
backtest, how long the HTML report takes to build, and how fast the health endpoint answers."""

from __future__ import annotations

import json
import tempfile
import time
import urllib.request
from datetime import date, datetime, timedelta
from pathlib import Path

from analysis.html_report import write_html_report
from assembly import build_monitoring
from core.settings import Settings
from monitoring.alerts import AlertRouter
from monitoring.health import HealthInputs, HealthMonitor, HealthServer
from monitoring.observer import SystemMonitor
from sim.calendar import ExchangeCalendar
from sim.engine import RunResult, run_backtest
from sim.markets.synthetic import SyntheticConfig, SyntheticMarket
from sim.platform import SimPlatform
from sim.recorder import RunRecorder
from sim.report import write_reports
from sim.store import FileStore, MemoryStore

START, END = date(2025, 1, 2), date(2025, 3, 31)


def _backtest(out: Path, monitored: bool) -> tuple[float, RunResult, Settings]:
    settings = Settings().with_overrides(start_date=START.isoformat(), end_date=END.isoformat())
    calendar = ExchangeCalendar(START - timedelta(days=7), END + timedelta(days=800))
    market = SyntheticMarket(SyntheticConfig(seed=7, start=START, end=END), calendar)
    recorder = RunRecorder(out / "events.jsonl")
    store = FileStore(out, durable=False)

    def monitor(platform: SimPlatform, sink: RunRecorder) -> tuple[AlertRouter, SystemMonitor]:
        return build_monitoring(
            platform, settings, sink, {}, live=False, health_interval=timedelta(hours=12), store=store
        )

    began = time.process_time()  # CPU time: other processes on the machine do not count
    result = run_backtest(
        settings, market, calendar, MemoryStore(), recorder, monitor=monitor if monitored else None
    )
    return time.process_time() - began, result, settings


def run() -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        plain_dir, mon_dir, warm_dir = Path(tmp, "plain"), Path(tmp, "monitored"), Path(tmp, "warm")
        for d in (plain_dir, mon_dir, warm_dir):
            d.mkdir()
        _backtest(warm_dir, monitored=True)  # imports, chart fonts and caches paid once, by neither
        plain, _, _ = _backtest(plain_dir, monitored=False)
        monitored, result, settings = _backtest(mon_dir, monitored=True)
        write_reports(mon_dir, result, monitored)
        began = time.perf_counter()
        report = write_html_report(mon_dir, settings)
        build = time.perf_counter() - began
        size = report.stat().st_size / 2**20
        events = (mon_dir / "events.jsonl").stat().st_size / 2**20
    overhead = monitored / plain - 1.0
    rate = _health_requests_per_second()
    return [
        {"name": "monitoring: backtest overhead (3 months)", "value": 100 * overhead, "unit": "%",
         "target": "< 20 %", "note": f"CPU {plain:.1f} s plain vs {monitored:.1f} s monitored"},
        {"name": "monitoring: HTML report build (3 months)", "value": build, "unit": "s", "target": "< 10 s",
         "note": f"report {size:.1f} MiB from {events:.1f} MiB of events"},
        {"name": "monitoring: health endpoint", "value": rate, "unit": "req/s", "target": "> 100 req/s",
         "note": "GET /health on 127.0.0.1, 200 sequential requests"},
    ]  # fmt: skip


def _health_requests_per_second(n: int = 200) -> float:
    now = datetime(2025, 3, 7, 11, 0)
    monitor = HealthMonitor(lambda: now, MemoryStore())
    monitor.update(HealthInputs(connections={"brokerage": True}, net_liquidation=100_000.0))
    with HealthServer(monitor, port=0) as server:
        url = f"http://127.0.0.1:{server.port}/health"
        began = time.perf_counter()
        for _ in range(n):
            with urllib.request.urlopen(url, timeout=5) as resp:
                json.loads(resp.read())
        return n / (time.perf_counter() - began)
