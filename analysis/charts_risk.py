"""The charts a Tastytrade user looks for first, and the tail view: buying power used against its
cap, theta as a share of NLV, unrealised P&L per strategy, the portfolio stress loss (when the
risk layer records it), the distribution of daily returns and rolling Sharpe / volatility / beta.
matplotlib (``report`` extra) draws them as inline SVG, as in ``report_charts``."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from analysis import tail
from analysis.chart_points import thin
from analysis.report_charts import no_data, subplots, svg
from analysis.report_data import BENCHMARK, ReportData, stress_points


def buying_power(d: ReportData) -> str:
    fig, (ax1, ax2) = subplots(2, 1, figsize=(10, 4.5), sharex=True, height_ratios=[2, 1])
    if not d.days:
        no_data(ax1, "no sessions")
        no_data(ax2, "no sessions")
        return svg(fig)
    ax1.plot(d.days, d.bp_used, color="#1f77b4", lw=1.3, label="buying power used")
    caps = [math.nan if c is None else c for c in d.bp_cap]
    if any(c is not None for c in d.bp_cap):
        ax1.step(
            d.days, caps, where="post", color="#d62728", lw=1.0, ls="--", label="cap (phase × VIX regime)"
        )
        shares = [100.0 * u / c if c and c > 0 else math.nan for u, c in zip(d.bp_used, caps, strict=True)]
        ax2.plot(d.days, shares, color="#9467bd", lw=1.1)
        ax2.axhline(100, color="#d62728", lw=0.7, ls="--")
        ax2.set_ylabel("% of cap")
    else:
        no_data(ax2, "cap not recorded in equity.csv")
    ax1.set_ylabel("USD")
    ax1.legend(loc="center left", fontsize=8)
    fig.autofmt_xdate()
    return svg(fig)


def theta_share(d: ReportData) -> str:
    fig, ax = subplots(figsize=(10, 2.6))
    points = [
        (e["_time"], 100.0 * e["theta_day"] / e["net_liquidation"])
        for e in d.greeks
        if isinstance(e.get("theta_day"), int | float) and (e.get("net_liquidation") or 0) > 0
    ]
    if not points:
        no_data(ax, "no positions sampled")
        return svg(fig)
    ax.plot(*thin([p[0] for p in points], [p[1] for p in points]), lw=0.9, color="#2ca02c", label="Θ / NLV")
    limit = 100.0 * float(d.settings.risk_max_theta_nlv)
    ax.axhline(limit, color="#d62728", lw=0.7, ls="--", label=f"cap {limit:.2f}%")
    ax.axhline(0, color="#999", lw=0.6)
    ax.set_ylabel("% of NLV per day")
    ax.legend(loc="upper left", fontsize=8)
    fig.autofmt_xdate()
    return svg(fig)


def unrealized_by_strategy(d: ReportData) -> str:
    fig, ax = subplots(figsize=(10, 3))
    series: dict[str, list[tuple[Any, float]]] = defaultdict(list)
    closes = [e for e in d.greeks if e.get("eod")]
    names = sorted({p["strategy"] for e in closes for p in e.get("positions", [])})
    for e in closes:
        by: dict[str, float] = defaultdict(float)
        for p in e.get("positions", []):
            u = p.get("unrealized_pnl")
            if isinstance(u, int | float) and math.isfinite(u):
                by[p["strategy"]] += float(u)
        for name in names:
            series[name].append((e["_time"].date(), by.get(name, 0.0)))
    if not names:
        no_data(ax, "no position was open at a close")
        return svg(fig)
    for name in names:
        ax.plot([p[0] for p in series[name]], [p[1] for p in series[name]], lw=1.1, label=name)
    ax.axhline(0, color="#999", lw=0.6)
    ax.set_ylabel("unrealised P&L, USD")
    ax.legend(loc="upper left", fontsize=8, ncol=5)
    fig.autofmt_xdate()
    return svg(fig)


def stress_loss(d: ReportData) -> str | None:
    """None when no sample carries a stress loss (the page says so instead of drawing nothing)."""
    points = stress_points(d)
    if not points:
        return None
    fig, ax = subplots(figsize=(10, 2.8))
    in_share = all(p[2] is not None for p in points)
    ys = [100.0 * p[2] if in_share and p[2] is not None else p[1] for p in points]
    ax.plot(*thin([p[0] for p in points], ys), color="#8c564b", lw=1.1, label="worst-case stress loss")
    limits = [100.0 * p[3] if p[3] is not None else math.nan for p in points]
    if in_share and any(p[3] is not None for p in points):
        ax.step([p[0] for p in points], limits, where="post", color="#d62728", lw=0.7, ls="--", label="limit")
    ax.set_ylabel("% of NLV" if in_share else "USD")
    ax.legend(loc="upper left", fontsize=8)
    fig.autofmt_xdate()
    return svg(fig)


def return_distribution(d: ReportData) -> str:
    fig, ax = subplots(figsize=(10, 3))
    r = tail.daily_returns(d.nlv, d.start_value)
    dist = None if r is None else tail.distribution(r)
    if r is None or dist is None:
        no_data(ax, "fewer than 3 sessions, or net liquidation fell to zero")
        return svg(fig)
    ax.hist([100.0 * v for v in r], bins=min(60, max(10, len(r) // 4)), color="#1f77b4", alpha=0.8)
    ax.axvline(100 * dist.var, color="#ff7f0e", lw=1.0, ls="--", label=f"VaR 95% {dist.var:+.2%}")
    ax.axvline(100 * dist.cvar, color="#d62728", lw=1.0, ls="--", label=f"CVaR 95% {dist.cvar:+.2%}")
    ax.set_xlabel(f"daily return %  (skew {dist.skew:+.2f}, excess kurtosis {dist.excess_kurtosis:+.2f})")
    ax.set_ylabel("sessions")
    ax.legend(loc="upper left", fontsize=8)
    return svg(fig)


def rolling_stats(d: ReportData) -> str:
    returns = tail.daily_returns(d.nlv, d.start_value)
    roll = None if returns is None else tail.rolling(d.days, returns, d.benchmark)
    if roll is None:
        fig, ax = subplots(figsize=(10, 1.6))
        no_data(ax, f"fewer than {2 * tail.MIN_WINDOW} sessions: no rolling window")
        return svg(fig)
    fig, axes = subplots(3, 1, figsize=(10, 5.5), sharex=True)
    rows = [
        (roll.sharpe, "Sharpe", "#1f77b4"),
        ([100 * v for v in roll.volatility], "volatility %", "#ff7f0e"),
        (roll.beta, f"beta vs {BENCHMARK}", "#2ca02c"),
    ]
    for ax, (ys, label, colour) in zip(axes, rows, strict=True):
        ax.plot(roll.days, ys, lw=1.1, color=colour)
        ax.axhline(0, color="#999", lw=0.6)
        ax.set_ylabel(label, fontsize=8)
    axes[0].set_title(f"rolling {roll.window} sessions, annualised", fontsize=9, loc="left")
    fig.autofmt_xdate()
    return svg(fig)
