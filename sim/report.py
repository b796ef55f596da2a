"""Backtest outputs a trader reads: trades.csv, equity.csv and a short text summary."""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from pathlib import Path

from core.types import PositionGroup
from sim.broker.fault_report import summary_lines as execution_summary_lines
from sim.broker.fault_report import write_execution_report
from sim.engine import EquityPoint, RunResult

TRADE_COLUMNS = [
    "group_id", "strategy", "opened_at", "closed_at", "quantity", "legs", "entry_price", "exit_price",
    "entry_fees", "exit_fees", "pnl", "exit_reason", "max_loss_per_unit", "notes", "campaign", "part",
]  # fmt: skip


def write_trades(path: Path, trades: list[PositionGroup]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(TRADE_COLUMNS)
        for g in trades:
            writer.writerow([
                g.group_id, g.strategy, _iso(g.opened_at), _iso(g.closed_at), g.quantity,
                " ".join(f"{leg.ratio:+d}x{leg.contract.symbol.replace(' ', '')}" for leg in g.legs),
                f"{g.entry_price:.4f}", f"{g.exit_price:.4f}", f"{g.entry_fees:.2f}", f"{g.exit_fees:.2f}",
                f"{g.realized_pnl():.2f}", g.exit_reason, f"{g.max_loss_per_unit:.2f}",
                ";".join(f"{k}={v:.10g}" for k, v in sorted(g.notes.items())), g.campaign_id, g.part,
            ])  # fmt: skip


def write_equity(path: Path, equity: list[EquityPoint]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["day", "net_liquidation", "cash", "buying_power_used"])
        for p in equity:
            writer.writerow(
                [p.day.isoformat(), f"{p.net_liquidation:.2f}", f"{p.cash:.2f}", f"{p.buying_power_used:.2f}"]
            )


def max_drawdown(values: list[float]) -> float:
    peak, worst = float("-inf"), 0.0
    for v in values:
        peak = max(peak, v)
        if peak > 0:
            worst = min(worst, v / peak - 1.0)
    return worst


def summary_text(result: RunResult, wall_seconds: float | None = None) -> str:
    rec, eq = result.recorder, result.equity
    lines = ["Backtest summary", "================"]
    if eq:
        start_nlv, end_nlv = eq[0].net_liquidation, eq[-1].net_liquidation
        lines += [
            f"period            {eq[0].day} .. {eq[-1].day}  ({len(eq)} sessions, {result.steps} steps)",
            f"net liquidation   {start_nlv:,.2f} -> {end_nlv:,.2f}  ({end_nlv / start_nlv - 1:+.2%})",
            f"max drawdown      {max_drawdown([p.net_liquidation for p in eq]):.2%}",
        ]
    by_strategy: dict[str, list[PositionGroup]] = defaultdict(list)
    for t in rec.trades:
        by_strategy[t.strategy].append(t)
    lines.append(f"closed trades     {len(rec.trades)}")
    for name, trades in sorted(by_strategy.items()):
        pnl = sum(t.realized_pnl() for t in trades)
        wins = sum(1 for t in trades if t.realized_pnl() > 0)
        fees = sum(t.entry_fees + t.exit_fees for t in trades)
        reasons = Counter(t.exit_reason for t in trades)
        lines.append(
            f"  {name:<14} {len(trades):>4} trades  win rate {wins / len(trades):.0%}  P&L {pnl:>12,.2f}  "
            f"fees {fees:,.2f}  exits: " + ", ".join(f"{r} {n}" for r, n in sorted(reasons.items()))
        )
    if rec.risk_blocks:
        lines.append("entries blocked   " + ", ".join(f"{c} {n}" for c, n in sorted(rec.risk_blocks.items())))
    lines.append(f"abandoned entries {rec.counts.get('entry_abandoned', 0)}   alerts {len(rec.alerts)}")
    lines += execution_summary_lines(result)
    lines += rec.risk.summary_lines()
    if wall_seconds is not None:
        lines.append(f"wall time         {wall_seconds:.1f} s")
    return "\n".join(lines)


def write_reports(out_dir: Path, result: RunResult, wall_seconds: float | None = None) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "trades": out_dir / "trades.csv",
        "equity": out_dir / "equity.csv",
        "summary": out_dir / "summary.txt",
    }
    write_trades(paths["trades"], result.recorder.trades)
    write_equity(paths["equity"], result.equity)
    paths["summary"].write_text(summary_text(result, wall_seconds) + "\n", encoding="utf-8")
    paths.update(write_execution_report(out_dir, result))
    return paths


def _iso(value: object) -> str:
    return "" if value is None else value.isoformat()  # type: ignore[attr-defined]
