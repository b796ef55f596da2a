"""The lab report's charts (matplotlib to inline SVG, as the backtest report's): histograms with
percentile marks, heat maps of a sweep, the stitched out-of-sample curve of a walk-forward."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date

from analysis.lab_data import FoldRow, HeatMap, percentiles
from analysis.report_charts import colormap, label_colour, no_data, subplots, svg


def histograms(series: Mapping[str, Sequence[float]], percent: Mapping[str, bool], cols: int = 2) -> str:
    """One histogram per series, with dashed lines at the 5th, 50th and 95th percentiles."""
    names = list(series)
    rows = max(1, math.ceil(len(names) / cols))
    fig, axes = subplots(rows, cols, figsize=(10, 2.6 * rows), squeeze=False)
    for k, ax in enumerate(axes.flat):
        if k >= len(names):
            ax.set_visible(False)
            continue
        name = names[k]
        scale = 100.0 if percent.get(name, False) else 1.0
        xs = [v * scale for v in series[name]]
        ax.set_title(name + (" (%)" if percent.get(name, False) else ""), fontsize=9)
        if not xs:
            no_data(ax, "no finished task has this value")
            continue
        ax.hist(xs, bins=min(30, max(5, len(xs) // 3)), color="#1f77b4", alpha=0.8)
        p = percentiles(xs)
        for q, style in ((5, ":"), (50, "--"), (95, ":")):
            ax.axvline(p[q], color="#b00020", ls=style, lw=1)
        ax.set_ylabel("tasks")
    fig.tight_layout()
    return svg(fig)


def heat_map(median: HeatMap, p5: HeatMap, label: str, percent: bool) -> str:
    """Median and 5th percentile side by side on one colour scale centred on zero (red a loss,
    green a gain, as in the backtest report), each cell labelled with its value."""
    fig, axes = subplots(1, 2, figsize=(10, 0.6 * len(median.y_values) + 2.2), squeeze=False)
    scale = 100.0 if percent else 1.0
    grids = [[[math.nan if v is None else v * scale for v in row] for row in hm.cells] for hm in (median, p5)]
    lim = max((abs(v) for g in grids for row in g for v in row if not math.isnan(v)), default=1.0) or 1.0
    cmap = colormap("RdYlGn").with_extremes(bad="#ececec")
    for ax, hm, grid, title in zip(axes[0], (median, p5), grids, ("median", "5th percentile"), strict=True):
        image = ax.imshow(grid, cmap=cmap, vmin=-lim, vmax=lim, aspect="auto", origin="lower")
        ax.set_xticks(range(len(hm.x_values)), hm.x_values, rotation=30, ha="right")
        ax.set_yticks(range(len(hm.y_values)), hm.y_values)
        ax.set_xlabel(hm.x)
        ax.set_ylabel(hm.y)
        ax.grid(False)
        ax.set_title(f"{label}: {title}" + (" (%)" if percent else ""), fontsize=9)
        for yi, row in enumerate(grid):
            for xi, v in enumerate(row):
                colour = "#888" if math.isnan(v) else label_colour(cmap, (v + lim) / (2 * lim))
                ax.text(xi, yi, "n/a" if math.isnan(v) else f"{v:.2f}", ha="center", va="center",
                        fontsize=8, color=colour)  # fmt: skip
        fig.colorbar(image, ax=ax, shrink=0.8)
    fig.tight_layout()
    return svg(fig)


def point_lines(labels: Sequence[str], series: Sequence[Sequence[float]], label: str, percent: bool) -> str:
    """A one-parameter sweep: median and the 5-95 percentile band of ``label`` per grid point."""
    fig, ax = subplots(figsize=(10, 3))
    scale = 100.0 if percent else 1.0
    xs = list(range(len(labels)))
    stats = [percentiles([v * scale for v in s]) for s in series]
    for q, style in ((5, ":"), (50, "-"), (95, ":")):
        ys = [p.get(q, math.nan) for p in stats]
        ax.plot(xs, ys, ls=style, marker="o", color="#1f77b4", label=f"p{q}")
    ax.set_xticks(xs, labels, rotation=20, ha="right")
    ax.set_ylabel(label + (" (%)" if percent else ""))
    ax.legend(fontsize=8)
    return svg(fig)


def out_of_sample_curve(curve: Sequence[tuple[date, float]], rows: Sequence[FoldRow]) -> str:
    fig, ax = subplots(figsize=(10, 3.5))
    if not curve:
        no_data(ax, "no out-of-sample fold finished")
        return svg(fig)
    ax.plot([d for d, _ in curve], [v for _, v in curve], color="#1f77b4", lw=1.5)
    for r in rows[1:]:
        ax.axvline(date.fromisoformat(r.test[0]), color="#999", lw=0.8, ls="--")
    ax.set_ylabel("net liquidation, $ (folds chained)")
    fig.autofmt_xdate()
    return svg(fig)


def fold_bars(rows: Sequence[FoldRow], metric: str) -> str:
    fig, ax = subplots(figsize=(10, 3))
    xs = list(range(len(rows)))
    ins = [r.metric(metric, "in_sample") or 0.0 for r in rows]
    oos = [r.metric(metric, "out_of_sample") or 0.0 for r in rows]
    ax.bar([x - 0.2 for x in xs], ins, width=0.4, label="in-sample", color="#9ecae1")
    ax.bar([x + 0.2 for x in xs], oos, width=0.4, label="out-of-sample", color="#1f77b4")
    ax.set_xticks(xs, [f"fold {r.fold}" for r in rows])
    ax.axhline(0, color="#444", lw=0.8)
    ax.set_ylabel(metric)
    ax.legend(fontsize=8)
    return svg(fig)
