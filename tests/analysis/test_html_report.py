"""The README's backtest command ends by printing the path of an HTML report, and that report reads
well in a browser: headless Chromium loads it at 1400 and 1024 px, nothing is wider than the
window (no sideways page scroll), every chart region has drawn, coloured content, and the tables
sort and filter.  Full-page screenshots of both widths are kept in the output folder (and copied
to TOMKING_SCREENSHOT_DIR when set) for a person to look at.

The browser tests fail when Chromium is missing (``make unit`` installs it); set
TOMKING_SKIP_BROWSER=1 to skip them on a machine that cannot have a browser."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
from pathlib import Path

import pytest

from testing.headless import HeadlessChromium, find_browser

pytestmark = pytest.mark.slow  # reads the session's two-month backtest; renders in Chromium

CHART_IDS = [
    "chart-equity", "chart-buying-power", "chart-theta", "chart-unrealized", "chart-pnl-by-strategy",
    "chart-monthly-returns", "chart-pnl-heatmap", "chart-distribution", "chart-rolling", "chart-greeks",
    "chart-risk-timeline", "chart-correlation", "chart-volatility", "chart-stress",
]  # fmt: skip
WIDTHS = (1400, 1024)
MAX_SHOT_HEIGHT = 16_000  # Chromium's capture limit is a little above this

_CHART_BOXES = """JSON.stringify([...document.querySelectorAll('figure.chart')].map(f => {
  const r = f.getBoundingClientRect(); const svg = f.querySelector('svg');
  return {id: f.id, x: r.left + scrollX, y: r.top + scrollY, w: r.width, h: r.height,
          marks: svg ? svg.querySelectorAll('path, use, rect, polyline, image').length : 0};
}))"""

_TOO_WIDE = """JSON.stringify({inner: innerWidth, page: document.documentElement.scrollWidth,
  height: document.documentElement.scrollHeight,
  wide: [...document.querySelectorAll('body *')].filter(e => {
    const r = e.getBoundingClientRect();
    return r.width > 0 && (r.right > innerWidth + 0.5 || r.left < -0.5);
  }).slice(0, 10).map(e => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className + ' right '
                       + Math.round(e.getBoundingClientRect().right))})"""


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
        "Summary", "Strategies", "Worst drawdowns", "Execution", "Tax view", "Trades", "Hedge suggestions",
        "Risk events (latest first)", "Position Greeks at the last close with open positions",
        "Greeks and unrealised P&amp;L by strategy at the last close", "Portfolio stress loss over time",
    ):  # fmt: skip
        assert f">{section}</h2>" in text
    assert 'id="chart-stress"' in text, "the sampler records the stress loss over time"
    assert text.count("<script") == 1 and "<script>" in text, "one inline script, no script files"
    assert not re.search(r"""(src|href)\s*=\s*["'](https?:)?//""", text), "nothing loaded from the network"
    assert not re.search(r"fetch\(|XMLHttpRequest|import\(", text), "the script loads nothing"


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


@pytest.mark.parametrize("width", WIDTHS)
def test_report_fits_the_window_and_every_chart_renders(backtest, width):
    from PIL import Image

    binary = _browser()
    out, _, _ = backtest
    with HeadlessChromium(binary, width=width, height=900) as browser:
        browser.open((out / "report.html").resolve().as_uri())
        layout = json.loads(browser.evaluate(_TOO_WIDE))
        assert layout["inner"] == width
        assert layout["page"] <= width, f"the page scrolls sideways at {width} px: {layout['wide']}"
        assert layout["wide"] == [], f"elements wider than the {width} px window: {layout['wide']}"
        _keep_screenshot(out, width, browser.screenshot(0, 0, width, min(layout["height"], MAX_SHOT_HEIGHT)))
        boxes = {b["id"]: b for b in json.loads(browser.evaluate(_CHART_BOXES))}
        assert sorted(boxes) == sorted(CHART_IDS)
        for cid in CHART_IDS:
            box = boxes[cid]
            assert box["w"] > 300 and box["h"] > 120, f"{cid} is laid out too small: {box}"
            assert box["w"] <= width, f"{cid} is wider than the window"
            assert box["marks"] > 20, f"{cid} has almost no drawing elements"
            png = browser.screenshot(box["x"], box["y"], box["w"], box["h"])
            img = Image.open(io.BytesIO(png)).convert("RGB")
            assert abs(img.width - round(box["w"])) <= 2, "the screenshot is of the chart region"
            pixels = list(img.get_flattened_data())
            inked = sum(1 for p in pixels if sum(p) < 720) / len(pixels)
            coloured = sum(1 for p in pixels if max(p) - min(p) > 60)  # data, not black/grey axes
            assert inked > 0.01, f"{cid} renders blank ({inked:.2%} of pixels drawn)"
            assert coloured > 150, f"{cid} shows axes but no coloured data ({coloured} pixels)"


def _keep_screenshot(out: Path, width: int, png: bytes) -> None:
    path = out / "screens" / f"report-{width}.png"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(png)
    extra = os.environ.get("TOMKING_SCREENSHOT_DIR")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, Path(extra) / path.name)


def test_a_report_with_wide_numbers_still_fits_1024_px(tmp_path):
    """Seven-figure P&L, long group ids and every exit reason in the strategy and trade tables."""
    from datetime import datetime, timedelta

    from analysis.html_report import write_html_report
    from monitoring.open_positions import OpenPosition
    from tests.analysis.test_report_figures import _closed, _folder

    pytest.importorskip("matplotlib", reason="charts need the report extra (matplotlib)")
    binary = _browser()
    names = ["zero_dte", "lt112", "strangle", "ipmcc", "leap_ladder"]
    trades = [
        _closed(f"{name}-2025030{i % 5}-{i:03d}-a-long-group-suffix", (-1) ** i * 12_345.67 * (i + 1),
                datetime(2025, 3, 3, 10), datetime(2025, 3, 3, 10) + timedelta(days=i % 5, hours=3), name)
        for i, name in enumerate(names * 4)
    ]  # fmt: skip
    held = [
        OpenPosition(
            f"{name}-20250303-9{i}-held",
            name,
            f"{name}-c",
            "",
            datetime(2025, 3, 3, 10),
            9,
            100.0,
            "-1xSPY",
            -2.0,
            9.0,
            1_234.5 * (i + 1) if i else None,
        )
        for i, name in enumerate(names)
    ]  # fmt: skip  seven-figure open P&L, and one unmarked position
    path = write_html_report(_folder(tmp_path, trades, held=held))
    with HeadlessChromium(binary, width=1024, height=900) as browser:
        browser.open(path.resolve().as_uri())
        layout = json.loads(browser.evaluate(_TOO_WIDE))
        assert layout["page"] <= 1024 and layout["wide"] == [], layout["wide"]


_COLUMN = """JSON.stringify([...document.querySelectorAll('#strategy-table tbody tr')]
  .map(r => r.cells[%d].getAttribute('data-fig') ? r.cells[%d].textContent : ''))"""


def test_tables_sort_by_a_clicked_header_and_filter_by_text(backtest):
    binary = _browser()
    out, _, _ = backtest
    with HeadlessChromium(binary, width=1400, height=900) as browser:
        browser.open((out / "report.html").resolve().as_uri())
        heads = json.loads(browser.evaluate(
            "JSON.stringify([...document.querySelectorAll('#strategy-table thead th')].map(h => h.textContent))"
        ))  # fmt: skip
        col = heads.index("P&L")
        browser.evaluate(f"document.querySelectorAll('#strategy-table thead th')[{col}].click()")
        values = [float(v.replace(",", "")) for v in json.loads(browser.evaluate(_COLUMN % (col, col)))]
        assert values == sorted(values) and len(values) > 2, "ascending after one click"
        browser.evaluate(f"document.querySelectorAll('#strategy-table thead th')[{col}].click()")
        values = [float(v.replace(",", "")) for v in json.loads(browser.evaluate(_COLUMN % (col, col)))]
        assert values == sorted(values, reverse=True), "descending after the second"

        browser.evaluate(
            "(() => { const box = document.querySelector('#trades input.filter'); box.value = 'strangle';"
            " box.dispatchEvent(new Event('input')); })()"
        )
        shown = json.loads(browser.evaluate(
            "JSON.stringify([...document.querySelectorAll('#trades-table tbody tr')].filter(r => !r.hidden)"
            ".map(r => r.cells[1].textContent))"
        ))  # fmt: skip
        total = browser.evaluate("document.querySelectorAll('#trades-table tbody tr').length")
        assert shown and set(shown) == {"strangle"} and len(shown) < total


def test_backtest_alerts_reach_a_webhook_through_the_router(backtest):
    out, _, received = backtest
    alerts = [json.loads(line) for line in (out / "events.jsonl").open() if '"kind": "alert"' in line]
    assert alerts, "the fixture's period (seed 3, Jan-Feb 2025) raises alerts: Greeks limits, jump halts"
    titles = {a["title"] for a in alerts}
    assert received, "the run's alerts were delivered"
    assert len(received) <= len(alerts), "never more notices than alerts (de-duplicated, rate-limited)"
    for msg in received:
        label, _, rest = msg["title"].partition("] ")
        assert label.startswith("[BACKTEST 2025-0"), "a backtest alert says so, with its simulated time"
        severity, _, title = rest.partition("] ")
        assert title in titles and severity.lstrip("[").lower() in ("info", "warning", "critical")
    assert (out / "monitoring" / "metrics" / "latest.json").exists()


def test_health_snapshot_fills_every_field_or_says_why(backtest):
    out, _, _ = backtest
    health = json.loads((out / "monitoring" / "health.json").read_text())
    execution = json.loads((out / "execution.json").read_text())
    assert health["status"] in ("ok", "degraded", "critical") and health["time"].startswith("2025-02-28")
    assert health["orders_submitted"] == execution["counts"]["orders_sent"] > 0, "every order seen once"
    assert health["last_order_time"] is not None and health["last_order_time"] <= health["time"]
    last_submit = max(
        json.loads(line)["time"]
        for line in (out / "events.jsonl").open()
        if '"kind": "order_event"' in line and '"status": "submitted"' in line
    )
    assert health["last_order_time"] == last_submit
    assert health["errors_last_hour"] is not None and health["connections"] and health["feed_age_seconds"]
    # an empty mapping of checked channels means none is unavailable: a value, not a gap
    for name, value in health.items():
        if value is None or (value == {} and name not in ("unavailable_channels", "not_available")):
            assert name in health["not_available"], f"{name} is empty and says not why"
    assert health["not_available"] == {}, "a backtest with an alert router knows every field"
