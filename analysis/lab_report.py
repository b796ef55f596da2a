"""``lab_report.html`` and ``results.csv`` of a lab study: one self-contained page (inline SVG, no
scripts, no network) with the distributions a trader decides on instead of one path's result.

Monte Carlo and sweeps: percentiles and histograms of return, max drawdown, Sharpe, worst day and
P&L per strategy, the probability of each breaker tripping; a sweep adds a table per grid point
and heat maps (median, 5th percentile) per pair of parameters.  Walk-forward: in-sample against
out-of-sample per fold, the degradation ratio and the stitched out-of-sample equity curve.
Built from the study folder alone: ``python -m sim lab report FOLDER`` rebuilds it.
"""

from __future__ import annotations

import csv
import html
import os
from collections.abc import Sequence
from pathlib import Path
from statistics import mean

from analysis import lab_charts, report_charts
from analysis.html_format import num, pct, table, text
from analysis.html_report import CSS, SCRIPT
from analysis.lab_data import (
    METRICS,
    PERCENTILES,
    LabStudy,
    LabTask,
    breaker_probabilities,
    by_point,
    csv_rows,
    degradation,
    fold_rows,
    heat_maps,
    in_sample_grid,
    load_study,
    percentiles,
    stitched_out_of_sample,
    strategy_pnl,
    values,
)
from monitoring.performance import max_drawdown, returns_from_values
from monitoring.redact import Redactor, secrets_from_environment

REPORT_NAME, CSV_NAME = "lab_report.html", "results.csv"


def write_lab_report(folder: Path) -> list[Path]:
    """Write the HTML report and the CSV of every task into ``folder``; return their paths."""
    study = load_study(folder)
    columns, rows = csv_rows(study)
    csv_path = folder / CSV_NAME
    with csv_path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        writer.writerows(rows)
    html_path = folder / REPORT_NAME
    html_path.write_text(render(study, Redactor(secrets_from_environment(os.environ))), encoding="utf-8")
    return [html_path, csv_path]


def _population(study: LabStudy) -> tuple[list[LabTask], str]:
    if study.kind == "walkforward":
        return study.finished("out_of_sample"), "out-of-sample folds"
    return study.finished(), "finished tasks"


def render(study: LabStudy, redact: Redactor) -> str:
    charts = not report_charts.available()
    tasks, who = _population(study)
    sections = [("study", "Study", _header(study))]
    if study.unfinished():
        sections.append(("failures", "Tasks that did not finish", _failures(study, redact)))
    if study.kind == "walkforward":
        sections.append(("folds", "Walk-forward: in-sample against out-of-sample", _folds(study, charts)))
    if study.kind == "sweep":
        sections.append(("points", "Sweep: each grid point", _points(study, charts)))
    dist = _percentile_table({METRICS[m][0]: (values(tasks, m), METRICS[m][1]) for m in METRICS}, who)
    if charts and tasks:
        series = {METRICS[m][0]: values(tasks, m) for m in METRICS}
        dist += lab_charts.histograms(series, {METRICS[m][0]: METRICS[m][1] for m in METRICS})
    sections.append(("distributions", "Distributions", dist))
    pnl = strategy_pnl(tasks)
    body = _percentile_table({k: (v, False) for k, v in pnl.items()}, who, money=True)
    if charts and pnl:
        body += lab_charts.histograms({f"{k} ($)": v for k, v in pnl.items()}, {}, cols=3)
    sections.append(("strategies", "P&L per strategy (realised + open)", body))
    sections.append(("breakers", "Circuit breakers", _breakers(study, tasks)))
    if not charts:
        sections.append(("charts", "Charts", f'<p class="note">{html.escape(report_charts.available())}</p>'))
    nav = " ".join(f'<a href="#{cid}">{html.escape(cap)}</a>' for cid, cap, _ in sections)
    content = "\n".join(f'<section id="{c}"><h2>{html.escape(t)}</h2>{b}</section>' for c, t, b in sections)
    title = f"Lab report: {study.kind}"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><nav>{nav}</nav>{content}<script>{SCRIPT}</script></body></html>\n"
    )


def _header(study: LabStudy) -> str:
    d = study.doc
    rows = [("kind", study.kind), ("market", d.get("market", "")),
            ("tasks", f"{len(study.finished())} finished of {len(study.tasks)}")]  # fmt: skip
    if d.get("window"):
        rows.append(("window", " .. ".join(d["window"])))
    if d.get("paths"):
        rows.append(
            ("paths", f"{d['paths']} (seeds {d['first_seed']} .. {d['first_seed'] + d['paths'] - 1})")
        )
    if d.get("seed") is not None and d.get("market") == "synthetic":
        rows.append(("synthetic seed", str(d["seed"])))
    if d.get("metric"):
        rows.append(("in-sample choice by", d["metric"]))
    for name, vals in d.get("grid", {}).items():
        rows.append((f"grid {name}", " | ".join(vals)))
    if d.get("overrides"):
        rows.append(("--set", " ".join(d["overrides"])))
    rows.append(("starting cash", f"{d.get('starting_cash', 0):,.0f}"))
    return table(["", ""], [f"<tr>{text(k)}{text(v)}</tr>" for k, v in rows], left=2)


def _failures(study: LabStudy, redact: Redactor) -> str:
    rows = [f"<tr>{text(t.id)}{text(_tags(t))}{text(redact(t.error))}</tr>" for t in study.unfinished()]
    note = '<p class="note">A re-run of the same command runs these again and skips the finished ones.</p>'
    return note + table(["task", "tags", "error"], rows, left=3, scroll=True)


def _tags(t: LabTask) -> str:
    return " ".join(f"{k}={v}" for k, v in t.tags.items())


def _percentile_table(series: dict[str, tuple[list[float], bool]], who: str, money: bool = False) -> str:
    if not series:
        return '<p class="note">nothing to show: no finished task</p>'
    head = ["", *(f"p{q}" for q in PERCENTILES), "mean", "n"]
    rows = []
    for name, (xs, percent) in series.items():
        p = percentiles(xs)
        cell = (lambda v: pct(v, True)) if percent else (lambda v: num(v, "{:,.0f}" if money else "{:.2f}"))
        cells = "".join(cell(p.get(q)) for q in PERCENTILES)
        rows.append(f"<tr>{text(name)}{cells}{cell(mean(xs) if xs else None)}{num(len(xs), '{:d}')}</tr>")
    return f'<p class="note">over {len(next(iter(series.values()))[0])} {who}</p>' + table(head, rows)


def _breakers(study: LabStudy, tasks: Sequence[LabTask]) -> str:
    probs = breaker_probabilities(study, tasks)
    rows = [f"<tr>{text(rule)}{pct(n / total if total else None)}{text(f'{n} of {total}')}</tr>"
            for rule, (n, total) in probs.items()]  # fmt: skip
    forced = values(tasks, "forced_exits")
    note = f'<p class="note">forced exits per task: mean {mean(forced):.2f}</p>' if forced else ""
    return table(["rule", "probability of tripping", "tasks"], rows) + note


def _points(study: LabStudy, charts: bool) -> str:
    points = by_point(study)
    head = ["grid point", "n", "return p50", "return p5", "Sharpe p50", "Sharpe p5", "max DD p5",
            "worst day p5", "P(any breaker trip)"]  # fmt: skip
    rows = []
    for label, tasks in points:
        ret, sh = percentiles(values(tasks, "total_return")), percentiles(values(tasks, "sharpe"))
        dd, wd = percentiles(values(tasks, "max_drawdown")), percentiles(values(tasks, "worst_day"))
        tripped = sum(1 for t in tasks if any((t.result or {}).get("breaker_trips", {}).values()))
        rows.append(f"<tr>{text(label)}{num(len(tasks), '{:d}')}{pct(ret.get(50), True)}"
                    f"{pct(ret.get(5), True)}{num(sh.get(50))}{num(sh.get(5))}{pct(dd.get(5), True)}"
                    f"{pct(wd.get(5), True)}{pct(tripped / len(tasks) if tasks else None)}</tr>")  # fmt: skip
    body = table(head, rows)
    if not charts:
        return body
    for metric in ("total_return", "sharpe"):
        label, percent = METRICS[metric]
        maps = zip(heat_maps(study, metric, 50), heat_maps(study, metric, 5), strict=True)
        for median, p5 in maps:
            body += f"<h3>{html.escape(label)}: {html.escape(median.y)} × {html.escape(median.x)}</h3>"
            body += lab_charts.heat_map(median, p5, label, percent)
        if len(study.doc.get("grid", {})) == 1:
            series = [values(tasks, metric) for _, tasks in points]
            body += lab_charts.point_lines([lbl for lbl, _ in points], series, label, percent)
    return body


def _folds(study: LabStudy, charts: bool) -> str:
    metric = str(study.doc.get("metric", "sharpe"))
    rows = fold_rows(study)
    fmt = (lambda v: pct(v, True)) if METRICS.get(metric, ("", False))[1] else (lambda v: num(v))
    head = ["fold", "in-sample", "out-of-sample", "chosen", f"IS {metric}", f"OOS {metric}", "OOS / IS",
            "IS return", "OOS return", "note"]  # fmt: skip
    body_rows = [
        f"<tr>{num(r.fold, '{:d}')}{text(' .. '.join(r.train))}{text(' .. '.join(r.test))}"
        f"{text(', '.join(f'{k}={v}' for k, v in r.params.items()))}{fmt(r.metric(metric, 'in_sample'))}"
        f"{fmt(r.metric(metric, 'out_of_sample'))}{num(r.ratio(metric))}"
        f"{pct(r.metric('total_return', 'in_sample'), True)}"
        f"{pct(r.metric('total_return', 'out_of_sample'), True)}{text(r.error)}</tr>"
        for r in rows
    ]
    curve = stitched_out_of_sample(rows, float(study.doc.get("starting_cash", 0.0)) or 1.0)
    ratio = degradation(rows, metric)
    start = float(study.doc.get("starting_cash", 0.0)) or 1.0
    total = curve[-1][1] / start - 1.0 if curve else None
    dd = max_drawdown(returns_from_values([v for _, v in curve], start)) if curve else None
    summary = table(["", ""], [
        f"<tr>{text(f'degradation ratio (mean OOS {metric} / mean IS {metric})')}{num(ratio)}</tr>",
        f"<tr>{text('stitched out-of-sample return')}{pct(total, True)}</tr>",
        f"<tr>{text('stitched out-of-sample max drawdown')}{pct(dd, True)}</tr>",
    ], left=1)  # fmt: skip
    note = ('<p class="note">Each fold chooses the grid point with the best in-sample '
            f"{html.escape(metric)} and runs it on the next window from a flat book; a ratio near 1 "
            "means the in-sample edge held out of sample, near 0 or below that it did not. The ratio "
            "is undefined when the in-sample value is not positive.</p>")  # fmt: skip
    labels, grid = in_sample_grid(study, metric)
    grid_rows = [f"<tr>{num(f, '{:d}')}{''.join(fmt(v) for v in vs)}</tr>" for f, vs in grid.items()]
    body = note + table(head, body_rows) + summary
    body += f"<h3>In-sample {html.escape(metric)} of every grid point</h3>" + table(
        ["fold", *labels], grid_rows
    )
    if charts:
        body += "<h3>Out-of-sample equity, folds chained</h3>" + lab_charts.out_of_sample_curve(curve, rows)
        body += f"<h3>{html.escape(metric)} per fold</h3>" + lab_charts.fold_bars(rows, metric)
    return body


def summary_text(folder: Path) -> str:
    """A few lines for the terminal: counts, the percentiles, and the folds of a walk-forward."""
    study = load_study(folder)
    tasks, who = _population(study)
    lines = [f"lab {study.kind}: {len(study.finished())} of {len(study.tasks)} tasks finished"
             f" ({len(study.unfinished())} not), in {folder}"]  # fmt: skip
    for t in study.unfinished()[:10]:
        lines.append(f"  not finished {t.id}: {t.error}")
    lines.append(f"{'percentiles over ' + who:<28}" + "".join(f"{f'p{q}':>10}" for q in PERCENTILES))
    for metric, (label, percent) in METRICS.items():
        p = percentiles(values(tasks, metric))
        cells = "".join(f"{p[q]:>+10.2%}" if percent else f"{p[q]:>10.2f}" for q in PERCENTILES) if p else ""
        lines.append(f"  {label:<26}{cells or '      n/a'}")
    if study.kind == "walkforward":
        metric = str(study.doc.get("metric", "sharpe"))
        rows = fold_rows(study)
        for r in rows:
            ins, oos = r.metric(metric, "in_sample"), r.metric(metric, "out_of_sample")
            lines.append(f"  fold {r.fold} test {r.test[0]}..{r.test[1]}  {metric} IS {_f(ins)}  OOS {_f(oos)}"
                         f"  chosen {', '.join(f'{k}={v}' for k, v in r.params.items()) or '-'} {r.error}")  # fmt: skip
        lines.append(f"  degradation ratio (OOS/IS {metric}): {_f(degradation(rows, metric))}")
    return "\n".join(lines)


def _f(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f}"
