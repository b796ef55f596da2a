"""The monitoring service as an engine uses it (sampling, daily export, health, daily summary,
health endpoint), and the report on degenerate inputs: a run with no trades, a corrupt event log."""

from __future__ import annotations

import dataclasses
import json
import urllib.request
from datetime import date, timedelta

import pytest

from analysis.report_data import ReportDataError
from core.ports import Severity
from core.settings import Settings
from monitoring.alerts import Alert, AlertRouter
from monitoring.export import LATEST_KEY
from monitoring.health import HEALTH_KEY, HealthInputs
from monitoring.service import QUOTES_KEY, MonitoringService
from sim.store import MemoryStore
from testing.factories import account
from tests.monitoring.test_greeks import NOW, _snapshot, _strangle


class Capture:
    name = "capture"

    def __init__(self):
        self.sent: list[Alert] = []

    def unavailable_reason(self):
        return ""

    def send(self, alert):
        self.sent.append(alert)


class Sink:
    def __init__(self):
        self.kinds = []

    def record(self, kind, time, payload):
        self.kinds.append(kind)


def test_service_samples_exports_keeps_health_and_sends_the_daily_summary_live():
    store, sink, out = MemoryStore(), Sink(), Capture()
    clock = [NOW]
    router = AlertRouter(lambda: clock[0], [out])
    service = MonitoringService.from_settings(Settings(), sink, store, lambda: clock[0], router, live=True)
    calls = []

    def acct():
        calls.append(1)
        return account(100_000.0, 20_000.0)

    service.on_quote("SPX", NOW, 4999.0, 5001.0)
    service.on_quote("SPX", NOW + timedelta(seconds=30), 5000.0, 5002.0)
    service.on_step(_snapshot(), [], acct)
    assert calls == [], "no positions: the account is not even valued"
    service.on_step(_snapshot(), [_strangle()], acct)
    assert calls == [1] and sink.kinds.count("portfolio_greeks") == 1
    hedges = [a for a in out.sent if a.title.startswith("Greek limit")]
    assert {a.title.split(" (")[0] for a in hedges} == {
        "Greek limit gamma breach",
        "Greek limit short_vega breach",
        "Greek limit theta breach",
    }, "live: every breached limit reaches a human once, with its hedge"
    assert all(a.severity is Severity.CRITICAL and "largest: strangle" in a.message for a in hedges)
    close = dataclasses.replace(_snapshot(), time=NOW.replace(hour=16))
    service.on_end_of_day(NOW.date(), close, [_strangle()], [], account(100_500.0))
    assert json.loads(store.load(LATEST_KEY))["net_liquidation"] == 100_500.0
    quotes = json.loads(store.load(QUOTES_KEY))["quotes"]["SPX"]
    assert quotes["updates"] == 2 and quotes["updates_per_minute"] == pytest.approx(4.0)
    assert out.sent[-1].title == f"Daily summary {NOW.date()}"
    snap = service.update_health(HealthInputs(connections={"brokerage": True}, net_liquidation=100_500.0))
    assert snap.status == "ok" and json.loads(store.load(HEALTH_KEY))["status"] == "ok"
    assert service.alert(Severity.CRITICAL, "Breaker tripped", "daily loss") is not None
    with service.serve_health(port=0) as server:
        resp = urllib.request.urlopen(f"http://127.0.0.1:{server.port}/health", timeout=5)
        assert json.loads(resp.read())["net_liquidation"] == 100_500.0
        resp.close()


def test_backtests_send_no_daily_summary():
    out = Capture()
    service = MonitoringService.from_settings(
        Settings(), Sink(), MemoryStore(), lambda: NOW, AlertRouter(lambda: NOW, [out]), live=False
    )
    service.on_end_of_day(NOW.date(), _snapshot(), [], [], account())
    assert out.sent == []


def _write_run(folder, events, days=5):
    start = date(2025, 3, 3)
    rows = ["day,net_liquidation,cash,buying_power_used"]
    rows += [f"{start + timedelta(days=i)},100000.00,100000.00,0.00" for i in range(days)]
    (folder / "equity.csv").write_text("\n".join(rows) + "\n")
    (folder / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))


def test_report_of_a_run_without_trades_still_renders_every_section(tmp_path):
    pytest.importorskip("matplotlib", reason="charts need the report extra (matplotlib)")
    from analysis.html_report import write_html_report

    _write_run(tmp_path, [{"time": "2025-03-03T16:00:00", "kind": "end_of_day", "day": "2025-03-03"}])
    text = write_html_report(tmp_path, Settings()).read_text()
    assert text.count('<figure class="chart"') == 13 and text.count("<svg") == 13
    assert "no closed trades" in text and "no risk events recorded" in text
    assert "Stress loss: not recorded" in text and "None" not in text.replace("NoneType", "")
    assert write_html_report(tmp_path, Settings()).read_text() == text, "same inputs, same bytes"


def test_secrets_in_recorded_events_never_reach_the_report(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib", reason="charts need the report extra (matplotlib)")
    from analysis.html_report import write_html_report

    monkeypatch.setenv("TASTYTRADE_PASSWORD", "pa55-word-xyz")
    alert = {"time": "2025-03-04T10:00:00", "kind": "alert", "severity": "critical", "title": "Login",
             "message": "login failed for pa55-word-xyz; api_key=K-123456"}  # fmt: skip
    _write_run(tmp_path, [alert])
    text = write_html_report(tmp_path, Settings()).read_text()
    assert "Login" in text or "login failed" in text
    assert "pa55-word-xyz" not in text and "K-123456" not in text


def test_corrupt_event_log_is_a_clear_error_naming_the_line(tmp_path):
    from analysis.html_report import write_html_report

    _write_run(tmp_path, [{"time": "2025-03-03T16:00:00", "kind": "end_of_day"}])
    with (tmp_path / "events.jsonl").open("a") as fh:
        fh.write('{"kind": "trade_closed", "time": "not a time"}\n')
    with pytest.raises(ReportDataError, match=r"events.jsonl:2"):
        write_html_report(tmp_path, Settings())
    with pytest.raises(ReportDataError, match="missing"):
        write_html_report(tmp_path / "nothing", Settings())


def test_report_command_rebuilds_from_a_folder(tmp_path, capsys):
    pytest.importorskip("matplotlib", reason="charts need the report extra (matplotlib)")
    from analysis.html_report import main

    _write_run(tmp_path, [])
    assert main([str(tmp_path), "--config", str(tmp_path / "none.json")]) == 0
    assert capsys.readouterr().out.strip() == f"HTML report: {(tmp_path / 'report.html').resolve()}"
    assert main([str(tmp_path / "missing")]) == 2
