"""The README's backtest command ends by printing the path of an HTML report, and that report's
charts really render: headless Chromium loads it and every chart region has drawn, coloured
content (not just a file on disk).

The browser test fails when Chromium is missing (``make unit`` installs it); set
TOMKING_SKIP_BROWSER=1 to skip it on a machine that cannot have a browser."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
from pathlib import Path

import pytest

from sim.cli import main as sim_main
from testing.headless import HeadlessChromium, find_browser
from testing.loopback.webhook import WebhookReceiver

CHART_IDS = [
    "chart-equity", "chart-pnl-by-strategy", "chart-monthly-returns", "chart-pnl-heatmap",
    "chart-greeks", "chart-risk-timeline", "chart-correlation", "chart-volatility",
]  # fmt: skip

_CHART_BOXES = """JSON.stringify([...document.querySelectorAll('figure.chart')].map(f => {
  const r = f.getBoundingClientRect(); const svg = f.querySelector('svg');
  return {id: f.id, x: r.left + scrollX, y: r.top + scrollY, w: r.width, h: r.height,
          marks: svg ? svg.querySelectorAll('path, use, rect, polyline, image').length : 0};
}))"""


@pytest.fixture(scope="module")
def backtest(tmp_path_factory):
    """One short run of the README's command, with its alerts sent through apprise to a webhook
    receiver on the loopback interface (TOMKING_ALERT_URLS)."""
    pytest.importorskip("matplotlib", reason="charts need the report extra (matplotlib)")
    out = tmp_path_factory.mktemp("backtest")
    buf = io.StringIO()
    args = ["backtest", "--start", "2025-01-02", "--end", "2025-02-28", "--out", str(out), "--alerts"]
    with WebhookReceiver() as hook:
        url = f"json://127.0.0.1:{hook.port}/alerts"
        with _env("TOMKING_ALERT_URLS", url), contextlib.redirect_stdout(buf):
            code = sim_main(args)
    assert code == 0
    return out, buf.getvalue(), hook.received


@contextlib.contextmanager
def _env(name: str, value: str):
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


def test_backtest_ends_by_printing_the_report_path(backtest):
    out, stdout, _ = backtest
    last = stdout.strip().splitlines()[-1]
    assert last.startswith("HTML report: ")
    path = Path(last.removeprefix("HTML report: "))
    assert path.is_absolute() and path == (out / "report.html").resolve() and path.stat().st_size > 10_000


def test_report_has_every_section_and_is_self_contained(backtest):
    out, _, _ = backtest
    text = (out / "report.html").read_text(encoding="utf-8")
    for cid in CHART_IDS:
        assert f'id="{cid}"' in text
    for section in (
        "Strategies",
        "Tax view",
        "Trades",
        "Hedge suggestions",
        "Risk events (latest first)",
        "Position Greeks at the last close with open positions",
    ):
        assert f">{section}</h2>" in text
    assert "<script" not in text, "no scripts"
    assert not re.search(r"""(src|href)\s*=\s*["'](https?:)?//""", text), "nothing loaded from the network"


def _browser() -> str:
    if os.environ.get("TOMKING_SKIP_BROWSER") == "1":
        pytest.skip("TOMKING_SKIP_BROWSER=1: the rendered-report check is skipped on this machine")
    binary = find_browser()
    if binary is None:
        pytest.fail(
            "headless Chromium not found: `make browser` installs it (apt-get install chromium), "
            "TOMKING_CHROMIUM=/path/to/chrome points at another, TOMKING_SKIP_BROWSER=1 skips this test"
        )
    return binary


def test_charts_render_in_headless_chromium(backtest):
    from PIL import Image

    binary = _browser()
    out, _, _ = backtest
    with HeadlessChromium(binary) as browser:
        browser.open((out / "report.html").resolve().as_uri())
        boxes = {b["id"]: b for b in json.loads(browser.evaluate(_CHART_BOXES))}
        assert sorted(boxes) == sorted(CHART_IDS)
        for cid in CHART_IDS:
            box = boxes[cid]
            assert box["w"] > 300 and box["h"] > 120, f"{cid} is laid out too small: {box}"
            assert box["marks"] > 20, f"{cid} has almost no drawing elements"
            png = browser.screenshot(box["x"], box["y"], box["w"], box["h"])
            img = Image.open(io.BytesIO(png)).convert("RGB")
            assert abs(img.width - round(box["w"])) <= 2, "the screenshot is of the chart region"
            pixels = list(img.get_flattened_data())
            inked = sum(1 for p in pixels if sum(p) < 720) / len(pixels)
            coloured = sum(1 for p in pixels if max(p) - min(p) > 60)  # data, not black/grey axes
            assert inked > 0.01, f"{cid} renders blank ({inked:.2%} of pixels drawn)"
            assert coloured > 150, f"{cid} shows axes but no coloured data ({coloured} pixels)"


def test_backtest_alerts_reach_a_webhook_through_the_router(backtest):
    out, _, received = backtest
    alerts = [json.loads(line) for line in (out / "events.jsonl").open() if '"kind": "alert"' in line]
    assert alerts, "the fixture's period (seed 7, Jan-Feb 2025) raises alerts: Greeks limits, jump halts"
    titles = {a["title"] for a in alerts}
    assert received, "the run's alerts were delivered"
    assert len(received) <= len(alerts), "never more notices than alerts (de-duplicated, rate-limited)"
    for msg in received:
        label, _, rest = msg["title"].partition("] ")
        assert label.startswith("[BACKTEST 2025-0"), "a backtest alert says so, with its simulated time"
        severity, _, title = rest.partition("] ")
        assert title in titles and severity.lstrip("[").lower() in ("info", "warning", "critical")
    health = json.loads((out / "monitoring" / "health.json").read_text())
    assert health["status"] in ("ok", "degraded", "critical") and health["time"].startswith("2025-02-28")
    assert (out / "monitoring" / "metrics" / "latest.json").exists()
