"""The report's charts, drawn with matplotlib as inline SVG.

Why matplotlib to SVG: it draws axes, ticks, legends and colour bars correctly with no network and
no JavaScript, the SVG is embedded in one self-contained HTML file that any browser renders, and
fixed hash salt and no date metadata keep the output byte-identical for identical inputs.
matplotlib is a report-only dependency (``report`` extra): LEAN never loads this module.
"""

from __future__ import annotations

import io
import math
import re
from collections import defaultdict
from datetime import datetime
from typing import Any

from analysis.chart_points import thin
from analysis.report_data import BENCHMARK, ReportData, event_label

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def available() -> str:
    """Empty if charts can be drawn; otherwise why not."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return "matplotlib is not installed (pip install 'tomking-lean[report]'): charts left out"
    return ""


SVG_DPI = 72  # SVG user units are points
IMAGE_DPI = 100  # heat maps and colour bars are embedded rasters, at savefig's default resolution
PAD_INCHES = 0.1  # the margin around the drawn content (savefig's pad_inches)
_STYLE: dict[Any, Any] = {
    "svg.fonttype": "none",  # text stays text: smaller files, selectable labels
    "svg.hashsalt": "tomking-report",  # deterministic element ids
    "font.size": 9,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def subplots(*grid: int, figsize: tuple[float, float], **kwargs: Any) -> tuple[Any, Any]:
    """A figure of its own and its axes (``Figure.subplots`` arguments).  No pyplot: nothing to
    close, no global figure list, and a lighter import."""
    import matplotlib
    from matplotlib.figure import Figure

    matplotlib.rcParams.update(_STYLE)
    fig = Figure(figsize=figsize, dpi=SVG_DPI)
    return fig, fig.subplots(*grid, **kwargs)


def colormap(name: str) -> Any:
    import matplotlib

    return matplotlib.colormaps[name]


def svg(fig: Any) -> str:
    """``fig`` as inline SVG, cropped to what is drawn plus PAD_INCHES: what
    ``savefig(bbox_inches="tight")`` gives, from one draw instead of its measuring draw and then
    the real one (the crop only sets the SVG's size and viewBox)."""
    from matplotlib.backends.backend_mixed import MixedModeRenderer
    from matplotlib.backends.backend_svg import RendererSVG

    buf = io.StringIO()
    fig.patch.set_visible(False)  # the whole-figure background would reach past the crop: CSS paints it
    fig_w, fig_h = fig.get_size_inches()
    vector = RendererSVG(fig_w * SVG_DPI, fig_h * SVG_DPI, buf, image_dpi=IMAGE_DPI, metadata={"Date": None})
    renderer = MixedModeRenderer(fig, fig_w, fig_h, IMAGE_DPI, vector)  # rasterises colour bars
    fig.draw(renderer)
    renderer.finalize()
    box = fig.get_tightbbox(renderer).padded(PAD_INCHES)
    x, y, w, h = (SVG_DPI * v for v in (box.x0, fig_h - box.y1, box.width, box.height))
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    size = f'width="{w:.6g}pt" height="{h:.6g}pt" viewBox="{x:.6g} {y:.6g} {w:.6g} {h:.6g}" style="background:#fff"'
    text = re.sub(r'width="[^"]*" height="[^"]*" viewBox="[^"]*"', size, text, count=1)
    start, end = text.find("<metadata>"), text.find("</metadata>")
    if start >= 0 and end > start:  # RDF authoring metadata: not needed inline
        text = text[:start] + text[end + len("</metadata>") :]
    return text


def no_data(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#666")
    ax.set_xticks([])
    ax.set_yticks([])


def equity_and_drawdown(d: ReportData) -> str:
    fig, (ax1, ax2) = subplots(2, 1, figsize=(10, 5), sharex=True, height_ratios=[3, 1.3])
    if d.days:
        peak, dd = -math.inf, []
        for v in [d.start_value, *d.nlv]:
            peak = max(peak, v)
            dd.append(100.0 * (v / peak - 1.0))
        dd = dd[1:]
        ax1.plot(d.days, d.nlv, color="#1f77b4", lw=1.5, label="net liquidation")
        bench = benchmark_line(d)
        if bench:
            ax1.plot([b[0] for b in bench], [b[1] for b in bench], color="#ff7f0e", lw=1.0,
                     label=f"{BENCHMARK} buy and hold (same start)")  # fmt: skip
        ax1.axhline(d.start_value, color="#999", lw=0.8, ls="--", label="start")
        ax1.set_ylabel("USD")
        ax1.legend(loc="upper left")
        # the fill and its line share the same points and interpolation
        ax2.fill_between(d.days, dd, 0, color="#d62728", alpha=0.35, lw=0)
        ax2.plot(d.days, dd, color="#d62728", lw=0.9)
        ax2.set_ylabel("drawdown %")
    else:
        no_data(ax1, "no sessions")
    fig.autofmt_xdate()
    return svg(fig)


def benchmark_line(d: ReportData) -> list[tuple[Any, float]]:
    """The benchmark's closes scaled so that it starts at the account's starting value."""
    first = next((d.benchmark[day] for day in d.days if day in d.benchmark), None)
    if not first:
        return []
    return [(day, d.start_value * d.benchmark[day] / first) for day in d.days if day in d.benchmark]


def pnl_by_strategy(d: ReportData) -> str:
    fig, (ax1, ax2) = subplots(1, 2, figsize=(10, 3.8), width_ratios=[2.2, 1])
    per: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    for t in sorted(d.trades, key=lambda t: t.closed_at or datetime.min):
        if t.closed_at is not None:
            per[t.strategy].append((t.closed_at, t.realized_pnl()))
    if per:
        totals = {}
        for name, points in sorted(per.items()):
            run, xs, ys = 0.0, [], []
            for when, pnl in points:
                run += pnl
                xs.append(when)
                ys.append(run)
            ax1.step(xs, ys, where="post", lw=1.4, label=name)
            totals[name] = run
        ax1.axhline(0, color="#999", lw=0.8)
        ax1.set_ylabel("cumulative realised P&L, USD")
        ax1.legend(loc="upper left", fontsize=8)
        names = list(totals)
        ax2.barh(
            names,
            [totals[n] for n in names],
            color=["#2ca02c" if totals[n] >= 0 else "#d62728" for n in names],
        )
        ax2.axvline(0, color="#999", lw=0.8)
        ax2.set_xlabel("total P&L, USD")
    else:
        no_data(ax1, "no closed trades")
        no_data(ax2, "no closed trades")
    fig.autofmt_xdate()
    return svg(fig)


def label_colour(cmap: Any, share: float) -> str:
    """White text on a dark cell, black on a light one (``share``: 0..1 along the colour map)."""
    r, g, b, _ = cmap(min(1.0, max(0.0, share)))
    return "white" if 0.299 * r + 0.587 * g + 0.114 * b < 0.5 else "black"


def _heat(ax: Any, grid: list[list[float]], lim: float, fmt: str, empty: str) -> Any:
    """A red-green heat map whose labels stay readable and whose empty cells (no data: NaN) are
    hatched grey with a dash or "no data", unlike a zero (the neutral colour, labelled 0)."""
    from matplotlib.patches import Rectangle

    cmap = colormap("RdYlGn").with_extremes(bad="#ececec")
    im = ax.imshow(grid, cmap=cmap, vmin=-lim, vmax=lim, aspect="auto")
    ax.grid(False)
    for i, row in enumerate(grid):
        for j, v in enumerate(row):
            if math.isnan(v):
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="//", ec="#c4c4c4", lw=0))
                ax.text(j, i, empty, ha="center", va="center", fontsize=7, color="#888")
            else:
                colour = label_colour(cmap, (v + lim) / (2 * lim))
                ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=8, color=colour)
    return im


def monthly_returns(d: ReportData) -> str:
    months: dict[tuple[int, int], tuple[float, float]] = {}
    prev = d.start_value
    for day, v in zip(d.days, d.nlv, strict=True):
        key = (day.year, day.month)
        first = months.get(key, (prev, v))[0]
        months[key] = (first, v)
        prev = v
    years = sorted({y for y, _ in months})
    fig, ax = subplots(figsize=(10, 1.2 + 0.5 * max(1, len(years))))
    if not months:
        no_data(ax, "no sessions")
        return svg(fig)
    grid = [[math.nan] * 12 for _ in years]
    for (y, m), (start, end) in months.items():
        grid[years.index(y)][m - 1] = 100.0 * (end / start - 1.0)
    finite = [abs(v) for row in grid for v in row if not math.isnan(v)]
    im = _heat(ax, grid, max([*finite, 0.1]), "{:+.1f}%", "no data")
    ax.set_xticks(range(12), MONTHS)
    ax.set_yticks(range(len(years)), [str(y) for y in years])
    fig.colorbar(im, ax=ax, label="return %")
    return svg(fig)


def pnl_heatmap(d: ReportData) -> str:
    """Realised P&L by weekday and hour of the close (US/Eastern exchange time)."""
    hours = list(range(9, 17))
    grid = [[math.nan] * len(hours) for _ in WEEKDAYS]
    for t in d.trades:
        if t.closed_at is None or t.closed_at.weekday() > 4:
            continue
        h = min(max(t.closed_at.hour, hours[0]), hours[-1])
        cell = grid[t.closed_at.weekday()][hours.index(h)]
        grid[t.closed_at.weekday()][hours.index(h)] = (0.0 if math.isnan(cell) else cell) + t.realized_pnl()
    fig, ax = subplots(figsize=(10, 3))
    finite = [abs(v) for row in grid for v in row if not math.isnan(v)]
    if not finite:
        no_data(ax, "no closed trades")
        return svg(fig)
    im = _heat(ax, grid, max(finite) or 1.0, "{:,.0f}", "–")
    ax.set_xticks(range(len(hours)), [f"{h:02d}:00" for h in hours])
    ax.set_yticks(range(5), WEEKDAYS)
    fig.colorbar(im, ax=ax, label="P&L, USD")
    return svg(fig)


def greeks_over_time(d: ReportData) -> str:
    fig, axes = subplots(4, 1, figsize=(10, 7), sharex=True)
    series = [
        ("bw_delta_1pct", "β-weighted Δ\n$ per 1% SPX", "delta"),
        ("gamma_1pct", "Γ\n$Δ per 1%", "gamma"),
        ("theta_day", "Θ $/day", "theta"),
        ("vega_1pt", "vega $/pt", "short_vega"),
    ]
    if not d.greeks:
        for ax in axes:
            no_data(ax, "no positions sampled")
        return svg(fig)
    times = [e["_time"] for e in d.greeks]
    for ax, (key, label, limit_name) in zip(axes, series, strict=True):
        ax.plot(*thin(times, [e.get(key, 0.0) for e in d.greeks]), lw=0.9, marker=".", ms=2)
        limits = [_limit(e, limit_name) for e in d.greeks]
        if any(v is not None for v in limits):
            ys = [math.nan if v is None else v for v in limits]
            if limit_name in ("delta", "gamma"):
                ax.plot(times, ys, color="#d62728", lw=0.7, ls="--", label="limit")
                ax.plot(times, [-y for y in ys], color="#d62728", lw=0.7, ls="--")
            elif limit_name == "short_vega":
                ax.plot(times, [-y for y in ys], color="#d62728", lw=0.7, ls="--", label="limit")
            else:
                ax.plot(times, ys, color="#d62728", lw=0.7, ls="--", label="limit")
        ax.axhline(0, color="#999", lw=0.6)
        ax.set_ylabel(label, fontsize=8)
    if axes[0].get_legend_handles_labels()[0]:
        axes[0].legend(loc="upper left", fontsize=8)
    fig.autofmt_xdate()
    return svg(fig)


def _limit(e: dict[str, Any], name: str) -> float | None:
    for row in e.get("limits", []):
        if row.get("name") == name:
            return float(row["limit"])
    return None


def risk_timeline(d: ReportData) -> str:
    cats: dict[str, list[datetime]] = defaultdict(list)
    for e in d.timeline:
        cats[event_label(e)].append(e["_time"])
    names = sorted(cats, key=lambda n: (-len(cats[n]), n))[:20]
    fig, ax = subplots(figsize=(10, 1.5 + 0.3 * max(1, len(names))))
    if not names:
        no_data(ax, "no risk events recorded")
        return svg(fig)
    cmap = colormap("tab20")
    for i, n in enumerate(names):
        ax.scatter(
            cats[n], [i] * len(cats[n]), s=28, color=cmap(i % 20), marker="|" if len(cats[n]) > 50 else "o"
        )
    ax.set_yticks(range(len(names)), [f"{n} ({len(cats[n])})" for n in names], fontsize=8)
    ax.set_ylim(-0.7, len(names) - 0.3)
    if d.days:
        ax.set_xlim(
            datetime.combine(d.days[0], datetime.min.time()),
            datetime.combine(d.days[-1], datetime.max.time()),
        )
    fig.autofmt_xdate()
    return svg(fig)


def pnl_correlation(d: ReportData) -> str:
    names, corr = d.correlation
    fig, ax = subplots(figsize=(1.6 + 0.9 * max(1, len(names)), 0.9 + 0.8 * max(1, len(names))))
    if not names:
        no_data(ax, "no strategy P&L")
        return svg(fig)
    cmap = colormap("coolwarm")
    im = ax.imshow(corr, cmap=cmap, vmin=-1, vmax=1)
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.grid(False)
    for i in range(len(names)):
        for j in range(len(names)):
            v = corr[i][j]
            colour = "black" if math.isnan(v) else label_colour(cmap, (v + 1) / 2)
            label = "n/a" if math.isnan(v) else f"{v:+.2f}"
            ax.text(j, i, label, ha="center", va="center", fontsize=8, color=colour)
    fig.colorbar(im, ax=ax, fraction=0.046)
    return svg(fig)


def volatility_context(d: ReportData) -> str:
    fig, (ax1, ax2) = subplots(2, 1, figsize=(10, 4.5), sharex=True)
    per: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in d.vol:
        per[e["underlying"]].append(e)
    if not per:
        no_data(ax1, "no volatility samples")
        no_data(ax2, "no volatility samples")
        return svg(fig)
    for name, rows in sorted(per.items()):
        xs = [r["_time"].date() for r in rows]
        ax1.plot(
            xs, [100 * r["atm_iv"] if r["atm_iv"] is not None else math.nan for r in rows], lw=1, label=name
        )
        ax2.plot(
            xs, [r["skew_25d"] if r["skew_25d"] is not None else math.nan for r in rows], lw=1, label=name
        )
    vix = [(day, c.get("vix")) for day, c in sorted(d.day_closes.items()) if c.get("vix")]
    if vix:
        ax1.plot([v[0] for v in vix], [v[1] for v in vix], color="#444", lw=0.8, ls=":", label="VIX")
    ax1.set_ylabel("30-day ATM IV %")
    ax2.set_ylabel("25Δ put − call\nIV points")
    ax1.legend(loc="upper left", fontsize=8, ncol=5)
    fig.autofmt_xdate()
    return svg(fig)
