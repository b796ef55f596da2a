"""A backtest's ``trades.csv`` as typed trades, refusing anything that is not one: a wrong header,
a row of the wrong width or a value that does not parse raises ValueError naming file and line."""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path


@dataclass(frozen=True)
class Trade:
    group_id: str
    strategy: str
    opened_at: datetime
    closed_at: datetime
    quantity: int
    exit_reason: str
    max_loss_per_unit: float
    notes: dict[str, float]
    campaign: str
    part: str
    roots: tuple[str, ...]
    entry_price: float = math.nan  # net per unit (debit +, credit -), as filled
    exit_price: float = math.nan
    fees: float = 0.0  # entry + exit, dollars
    pnl: float = math.nan  # dollars after fees

    @property
    def entry_id(self) -> str:
        """The id of the intent that opened it (parts carry ``-<part>`` after it)."""
        return self.group_id.removesuffix(f"-{self.part}") if self.part else self.group_id

    @property
    def signal_day(self) -> date:
        return datetime.strptime(self.group_id.split("-")[1], "%Y%m%d").date()

    @property
    def signal_time(self) -> time:
        minute = int(self.notes.get("signal_minute", -1))
        return time(minute // 60, minute % 60) if 0 <= minute < 24 * 60 else time(0, 0)

    @property
    def is_roll_entry(self) -> bool:
        return self.notes.get("roll_entry", 0.0) == 1.0

    def note(self, key: str) -> float:
        return self.notes.get(key, math.nan)


# The columns sim/report.py writes (tests/analysis/test_audit.py keeps the two lists equal); the
# auditor reads them all (the prices, fees and P&L for the profit-target fills).  ``campaign`` and
# ``part`` may be absent (older runs).
TRADE_COLUMNS = (
    "group_id", "strategy", "opened_at", "closed_at", "quantity", "legs", "entry_price", "exit_price",
    "entry_fees", "exit_fees", "pnl", "exit_reason", "max_loss_per_unit", "notes", "campaign", "part",
)  # fmt: skip
_OPTIONAL = {"campaign", "part"}
_READ = {"group_id", "strategy", "opened_at", "closed_at", "quantity", "legs", "exit_reason"}
_READ |= {"max_loss_per_unit", "notes", "entry_price", "exit_price", "entry_fees", "exit_fees", "pnl"}


def load_trades(path: Path) -> list[Trade]:
    """Read ``trades.csv``; anything that is not a backtest's trade log raises ValueError naming
    the file and line (a wrong header, a row of the wrong width, a value that does not parse)."""
    trades = []
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        _check_header(path, reader.fieldnames)
        for row in reader:
            try:
                trades.append(_trade(row))
            except (KeyError, ValueError, TypeError, IndexError) as exc:
                raise ValueError(f"{path}:{reader.line_num}: malformed trade row ({exc})") from None
    return trades


def _check_header(path: Path, header: Sequence[str] | None) -> None:
    if not header:
        raise ValueError(f"{path}:1: empty file, expected the header {','.join(TRADE_COLUMNS)}")
    missing = [c for c in TRADE_COLUMNS if c not in header and c not in _OPTIONAL and c in _READ]
    unknown = [c for c in header if c not in TRADE_COLUMNS]
    repeated = sorted({c for c in header if header.count(c) > 1})
    problems = [f"missing column(s) {', '.join(missing)}"] if missing else []
    problems += [f"unknown column(s) {', '.join(unknown)}"] if unknown else []
    problems += [f"column(s) {', '.join(repeated)} written twice"] if repeated else []
    if problems:
        raise ValueError(f"{path}:1: not a backtest's trades.csv: " + "; ".join(problems))


def _trade(row: dict[str | None, str | None]) -> Trade:
    if None in row:
        raise ValueError("more fields than the header")
    if any(value is None for value in row.values()):
        raise ValueError("fewer fields than the header")
    text: dict[str, str] = {str(k): str(v) for k, v in row.items()}
    notes = {}
    for item in filter(None, text["notes"].split(";")):
        key, _, value = item.partition("=")
        notes[key] = float(value)
    trade = Trade(
        group_id=text["group_id"],
        strategy=text["strategy"],
        opened_at=datetime.fromisoformat(text["opened_at"]),
        closed_at=datetime.fromisoformat(text["closed_at"]),
        quantity=int(text["quantity"]),
        exit_reason=text["exit_reason"],
        max_loss_per_unit=float(text["max_loss_per_unit"]),
        notes=notes,
        campaign=text.get("campaign") or text["group_id"],
        part=text.get("part") or "",
        roots=tuple(_LEG_ROOT.findall(text["legs"])),
        entry_price=_finite(text["entry_price"]),
        exit_price=_finite(text["exit_price"]),
        fees=_finite(text["entry_fees"]) + _finite(text["exit_fees"]),
        pnl=_finite(text["pnl"]),
    )
    try:
        trade.signal_day  # noqa: B018 - the id carries the signal day the entry rules check
    except (IndexError, ValueError):
        raise ValueError(f"group_id {trade.group_id!r} is not STRATEGY-YYYYMMDD-N") from None
    return trade


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number")
    return value


_LEG_ROOT = re.compile(r"[+-]\d+x([A-Z]+)\d{6}[CP]")
