"""``report.html``: one self-contained page (inline SVG charts, a few lines of inline script to sort
and filter tables, nothing from the network) that a trader reads after a backtest — what was run,
performance against the rulebook's expectations, buying power and Greeks as a Tastytrade user
watches them, the tail of the return distribution, where the P&L came from, the risk layer's
decisions, every trade, and a tax view for the accountant.

Built from the output folder alone (events.jsonl, equity.csv, execution.json, parameters.json,
run.json) with the same figures as summary.txt, so it can be rebuilt without re-running:
``python -m analysis.html_report reports/``.  Event text is redacted before it is shown.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from analysis import charts_risk, html_risk, html_sections, report_charts
from analysis.figures import RunFigures, figures
from analysis.html_format import note
from analysis.report_data import ReportData, load
from monitoring.redact import Redactor, secrets_from_environment

REPORT_NAME = "report.html"

CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;max-width:1240px;padding:16px;color:#222}
h1{font-size:22px;margin:8px 0}h3{font-size:14px;margin:14px 0 4px}
h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
nav{font-size:13px;line-height:1.7}nav a{margin-right:12px;white-space:nowrap}
table{border-collapse:collapse;font-size:12px;margin:6px 0;max-width:100%}
th,td{border:1px solid #e2e2e2;padding:3px 6px;text-align:right;vertical-align:top}
td{white-space:nowrap}th{background:#f5f5f5;font-weight:600}
td.l,th.l{text-align:left}td.l{white-space:normal;overflow-wrap:break-word}
td.small{font-size:11px;color:#444;min-width:8em}td.wrap{min-width:16em}
span.d{white-space:nowrap}td.legs,td.id{font-size:11px;overflow-wrap:anywhere}td.legs{min-width:10em;white-space:pre-line}td.id{min-width:8em}
#trades-table td,#trades-table th{font-size:11px;padding:2px 4px}
table.facts{width:100%}table.facts th{width:46%}table.facts td{white-space:normal;overflow-wrap:anywhere}
table.sortable th{cursor:pointer;user-select:none}table.sortable th[aria-sort=ascending]::after{content:" ▲"}
table.sortable th[aria-sort=descending]::after{content:" ▼"}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(380px,1fr));gap:0 18px}
.neg{color:#b00020}.pos{color:#137333}.flag{background:#fff3cd}tr.total th,tr.total td{background:#fafafa}
figure.chart{margin:8px 0 18px;padding:0}figure.chart svg{width:100%;height:auto;display:block}
#chart-correlation svg{width:auto;max-width:100%}
.note{font-size:12px;color:#555;max-width:100%}
.scroll{max-height:480px;overflow-y:auto;overflow-x:hidden;border:1px solid #eee;max-width:100%}
input.filter{font-size:12px;padding:3px 6px;margin:4px 0;width:18em;max-width:100%}
"""

# Click a header to sort by it (numbers by value, text alphabetically); type in the box above a
# long table to show only the rows containing that text.
SCRIPT = """
(function(){
  function key(td){
    var s = td.hasAttribute('data-sort') ? td.getAttribute('data-sort') : td.textContent.trim();
    var n = parseFloat(s.replace(/[,%$\\u2192+]/g, ''));
    return isNaN(n) ? s.toLowerCase() : n;
  }
  document.querySelectorAll('table.sortable').forEach(function(table){
    table.querySelectorAll('thead th').forEach(function(th, col){
      th.tabIndex = 0;
      th.addEventListener('click', function(){
        var body = table.tBodies[0], asc = th.getAttribute('aria-sort') !== 'ascending';
        table.querySelectorAll('thead th').forEach(function(h){ h.removeAttribute('aria-sort'); });
        th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
        var rows = Array.prototype.slice.call(body.rows).filter(function(r){ return !r.classList.contains('total'); });
        rows.sort(function(a, b){
          var x = key(a.cells[col]), y = key(b.cells[col]);
          if (typeof x !== typeof y) { return (typeof x === 'number' ? -1 : 1); }
          return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
        });
        rows.forEach(function(r){ body.insertBefore(r, body.querySelector('tr.total')); });
      });
    });
  });
  document.querySelectorAll('input.filter').forEach(function(box){
    var table = box.nextElementSibling.querySelector('table') || box.nextElementSibling;
    box.addEventListener('input', function(){
      var q = box.value.toLowerCase();
      Array.prototype.forEach.call(table.tBodies[0].rows, function(r){
        r.hidden = q !== '' && r.textContent.toLowerCase().indexOf(q) < 0;
      });
    });
  });
})();
"""

Section = tuple[str, str, str]  # id, heading, HTML body


def write_html_report(
    out_dir: Path, settings: Any = None, title: str = "Backtest report", data: ReportData | None = None
) -> Path:
    """Write ``report.html`` into ``out_dir`` and return its path.  The folder's parameters.json
    gives the settings; ``settings`` is only the fallback for a folder without one.  ``data``: the
    folder already read (``report_data.load``), as for summary.txt."""
    data = data if data is not None else load(out_dir, settings)
    redact = Redactor(secrets_from_environment(os.environ))
    path = out_dir / REPORT_NAME
    path.write_text(render(data, title, redact), encoding="utf-8")
    return path


def render(d: ReportData, title: str, redact: Redactor) -> str:
    f = figures(d)
    sections = _sections(d, f, redact)
    nav = " ".join(f'<a href="#{cid}">{html.escape(cap)}</a>' for cid, cap, _ in sections)
    body = "\n".join(
        f'<section id="{cid}"><h2>{html.escape(cap)}</h2>{content}</section>'
        for cid, cap, content in sections
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>{html_sections.header(f)}<nav>{nav}</nav>{body}"
        f"<script>{SCRIPT}</script></body></html>\n"
    )


def _sections(d: ReportData, f: RunFigures, redact: Redactor) -> list[Section]:
    missing = report_charts.available()

    def chart(cid: str, caption: str, draw: Callable[[ReportData], str | None], absent: str = "") -> Section:
        if missing:
            return cid, caption, note(html.escape(missing))
        drawn = draw(d)
        if drawn is None:
            return cid, caption, note(html.escape(absent))
        return cid, caption, f'<figure class="chart" id="chart-{cid}">{drawn}</figure>'

    return [
        ("summary", "Summary", html_sections.summary(f)),
        ("strategies", "Strategies", html_sections.strategies(f, d)),
        chart("equity", "Equity, benchmark and drawdown", report_charts.equity_and_drawdown),
        chart("buying-power", "Buying power used vs its cap", charts_risk.buying_power),
        chart("theta", "Theta as a share of net liquidation (dashed: cap)", charts_risk.theta_share),
        ("by-strategy", "Greeks and unrealised P&L by strategy at the last close", html_risk.by_strategy(d)),
        chart("unrealized", "Unrealised P&L by strategy at each close", charts_risk.unrealized_by_strategy),
        chart(
            "stress",
            "Portfolio stress loss over time",
            charts_risk.stress_loss,
            "Stress loss: not recorded in this run's events (no sample carries a stress_loss field).",
        ),
        chart("pnl-by-strategy", "P&L by strategy", report_charts.pnl_by_strategy),
        chart("monthly-returns", "Monthly returns", report_charts.monthly_returns),
        chart("pnl-heatmap", "Realised P&L by weekday and hour of close", report_charts.pnl_heatmap),
        ("drawdowns", "Worst drawdowns", html_sections.drawdowns(d)),
        chart("distribution", "Distribution of daily returns", charts_risk.return_distribution),
        chart("rolling", "Rolling Sharpe, volatility and beta", charts_risk.rolling_stats),
        chart("greeks", "Portfolio Greeks over time (dashed: limits)", report_charts.greeks_over_time),
        ("positions", "Position Greeks at the last close with open positions", html_risk.positions(d)),
        ("hedges", "Hedge suggestions", html_risk.hedges(d, redact)),
        chart("risk-timeline", "Risk events", report_charts.risk_timeline),
        ("risk-events", "Risk events (latest first)", html_risk.risk_events(d, redact)),
        chart("correlation", "Correlation of daily P&L between strategies", report_charts.pnl_correlation),
        chart("volatility", "Volatility context", report_charts.volatility_context),
        ("vol-latest", "Volatility and quotes at the last close", html_risk.volatility(d)),
        ("execution", "Execution", html_sections.execution(f)),
        ("tax", "Tax view", html_sections.tax(d)),
        ("trades", "Trades", html_sections.trades(d)),
    ]


def main(argv: list[str] | None = None) -> int:
    """Rebuild ``report.html`` of an existing output folder."""
    import argparse
    import sys

    from analysis.report_data import ReportDataError
    from core.settings import Settings, SettingsError

    parser = argparse.ArgumentParser(prog="python -m analysis.html_report", description=main.__doc__)
    parser.add_argument("out", nargs="?", default="reports", help="a backtest's output folder")
    parser.add_argument(
        "--config", default="config.json",
        help="config.json the backtest used (only for folders without a parameters.json)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    try:
        config = Path(args.config)
        settings = Settings.from_config_file(config) if config.exists() else None
        path = write_html_report(Path(args.out), settings)
    except (SettingsError, ReportDataError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"HTML report: {path.resolve()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
