"""A backtest's output folder: the raw run files (trades.csv, open_positions.csv, equity.csv,
events.jsonl, execution.json, parameters.json), then summary.txt rendered from those files by
``analysis`` — the same reader and the same figures as report.html, so the two never disagree."""

from __future__ import annotations

import csv
import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from core.regime import max_bp_fraction
from core.settings import Settings
from core.types import PositionGroup
from monitoring import open_positions
from sim.broker.fault_report import write_execution_report

if TYPE_CHECKING:
    from sim.engine import EquityPoint, RunResult

TRADE_COLUMNS = [
    "group_id", "strategy", "opened_at", "closed_at", "quantity", "legs", "entry_price", "exit_price",
    "entry_fees", "exit_fees", "pnl", "exit_reason", "max_loss_per_unit", "notes", "campaign", "part",
]  # fmt: skip
EQUITY_COLUMNS = ["day", "net_liquidation", "cash", "buying_power_used", "vix", "buying_power_cap"]


def write_trades(path: Path, trades: list[PositionGroup]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(TRADE_COLUMNS)
        for g in trades:
            writer.writerow([
                g.group_id, g.strategy, _iso(g.opened_at), _iso(g.closed_at), g.quantity,
                open_positions.legs_text(g),
                f"{g.entry_price:.4f}", f"{g.exit_price:.4f}", f"{g.entry_fees:.2f}", f"{g.exit_fees:.2f}",
                f"{g.realized_pnl():.2f}", g.exit_reason, f"{g.max_loss_per_unit:.2f}",
                ";".join(f"{k}={v:.10g}" for k, v in sorted(g.notes.items())), g.campaign_id, g.part,
            ])  # fmt: skip


def final_open_positions(result: RunResult) -> list[open_positions.OpenPosition]:
    """The groups still held at the end, marked at the last close: the snapshot the last equity
    row was valued at (``monitoring.open_positions``, as the daily metrics export marks them)."""
    held = [] if result.system is None else list(result.system.book.live())
    if not held or result.platform is None:
        return []
    return open_positions.mark_positions(held, result.platform.snapshot())


def write_equity(path: Path, equity: list[EquityPoint], settings: Settings) -> None:
    """One row per session; ``buying_power_cap`` is the rulebook's cap at that close (the account
    phase of the NLV bounded by the VIX regime, ``core.regime.max_bp_fraction``) in dollars."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(EQUITY_COLUMNS)
        for p in equity:
            cap = max_bp_fraction(p.net_liquidation, p.vix, settings) * p.net_liquidation
            vix = "" if p.vix is None else f"{p.vix:.2f}"
            writer.writerow([
                p.day.isoformat(), f"{p.net_liquidation:.2f}", f"{p.cash:.2f}", f"{p.buying_power_used:.2f}",
                vix, f"{cap:.2f}",
            ])  # fmt: skip


def write_parameters(path: Path, settings: Settings) -> None:
    """The settings the run used, in config.json form (what the reports and the auditor read)."""
    doc = {"parameters": settings.as_parameters()}
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")


def write_reports(
    out_dir: Path, result: RunResult, wall_seconds: float | None = None, *, html: bool = False
) -> dict[str, Path]:
    """Write the run files and summary.txt (and with ``html`` report.html, from the same reading
    of the files) into ``out_dir``.  ``wall_seconds`` is accepted for the callers' symmetry with
    ``summary_text`` and not written: wall time is not a property of the run, so the same run
    gives byte-identical files."""
    from analysis.report_data import load
    from analysis.summary import write_summary

    out_dir.mkdir(parents=True, exist_ok=True)
    settings = _settings(result)
    paths = {
        "trades": out_dir / "trades.csv",
        "open_positions": out_dir / open_positions.OPEN_POSITIONS,
        "equity": out_dir / "equity.csv",
        "events": out_dir / "events.jsonl",
        "parameters": out_dir / "parameters.json",
    }
    write_trades(paths["trades"], result.recorder.trades)
    open_positions.write_csv(paths["open_positions"], final_open_positions(result))
    write_equity(paths["equity"], result.equity, settings)
    result.recorder.write_events(paths["events"])
    write_parameters(paths["parameters"], settings)
    paths.update(write_execution_report(out_dir, result))
    data = load(out_dir)  # read once: events.jsonl is most of a long run's output
    paths["summary"] = write_summary(out_dir, data=data)
    if html:
        from analysis.html_report import write_html_report

        paths["html"] = write_html_report(out_dir, data=data)
    result.recorder.report_dir = out_dir
    return paths


def summary_text(result: RunResult, wall_seconds: float | None = None) -> str:
    """The run's summary.txt (rendered from its files: those ``write_reports`` wrote, or a
    temporary copy of them), plus the wall time when given."""
    folder = result.recorder.report_dir
    if folder is not None and (folder / "summary.txt").exists():
        text = (folder / "summary.txt").read_text(encoding="utf-8")
    else:
        with tempfile.TemporaryDirectory(prefix="tomking-summary-") as tmp:
            text = write_reports(Path(tmp), result)["summary"].read_text(encoding="utf-8")
            result.recorder.report_dir = None
    if wall_seconds is not None:
        text += f"wall time         {wall_seconds:.1f} s\n"
    return text.rstrip("\n")


def _settings(result: RunResult) -> Settings:
    if result.system is None:
        raise ValueError("the run has no trading system: nothing to report")
    return result.system.settings


def _iso(value: object) -> str:
    return "" if value is None else value.isoformat()  # type: ignore[attr-defined]
