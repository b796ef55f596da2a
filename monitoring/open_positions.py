"""The positions still held at a close, marked where the account values them (each leg at its mid),
so a strategy's P&L can be realised plus open (STRATEGY_RULES.md, IPMCC "Counting": an open
campaign's marked value belongs to its strategy's P&L).

One marking for every reader: the daily metrics export (``monitoring.export``: LEAN's ObjectStore,
the sim's store) and the backtest's ``open_positions.csv`` (``sim.report``), which the reports read.
A position with a leg unquoted at the close is listed with no mark ("unmarked"), never at a
guessed price: the broker still values it at its last price, so the reports show the gap.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from core.costs import net_mid
from core.types import GroupStatus, MarketSnapshot, OptionQuote, PositionGroup

OPEN_POSITIONS = "open_positions.csv"
COLUMNS: tuple[str, ...] = (
    "group_id", "strategy", "campaign", "part", "opened_at", "quantity", "multiplier", "legs",
    "entry_price", "entry_fees", "cost_basis", "mark", "market_value", "unrealized_pnl",
)  # fmt: skip
HELD = (GroupStatus.OPEN, GroupStatus.CLOSING)


@dataclass(frozen=True)
class OpenPosition:
    """One held position group at a close.  Prices are net per unit (debit +, credit -)."""

    group_id: str
    strategy: str
    campaign: str
    part: str
    opened_at: datetime | None
    quantity: int
    multiplier: float
    legs: str  # "+1xSPY250321C00500000 -2x..." per unit, as trades.csv writes them
    entry_price: float
    entry_fees: float
    mark: float | None  # net mid per unit at the close; None when a leg had no usable quote

    @property
    def cost_basis(self) -> float:
        """Dollars paid to open, fees included (negative: a credit received)."""
        return self.entry_price * self.quantity * self.multiplier + self.entry_fees

    @property
    def market_value(self) -> float | None:
        return None if self.mark is None else self.mark * self.quantity * self.multiplier

    @property
    def unrealized_pnl(self) -> float | None:
        """What closing at the mark would add to the realised P&L (entry fees already paid)."""
        value = self.market_value
        return None if value is None else value - self.cost_basis


def legs_text(group: PositionGroup) -> str:
    return " ".join(f"{leg.ratio:+d}x{leg.contract.symbol.replace(' ', '')}" for leg in group.legs)


def mark_positions(groups: Iterable[PositionGroup], snapshot: MarketSnapshot) -> list[OpenPosition]:
    """Every held group (open or closing) of ``groups`` marked at ``snapshot``, by group id."""
    out = []
    for g in sorted((g for g in groups if g.status in HELD), key=lambda g: g.group_id):
        out.append(
            OpenPosition(
                g.group_id, g.strategy, g.campaign_id, g.part, g.opened_at, g.quantity, g.multiplier,
                legs_text(g), g.entry_price, g.entry_fees, _mark(g, snapshot),
            )
        )  # fmt: skip
    return out


def _mark(group: PositionGroup, snapshot: MarketSnapshot) -> float | None:
    """Net mid per unit, valued as the sim broker values holdings (sim/broker/book.py ``mark``: a
    quote with bid >= 0 and ask > 0); None when any leg lacks one."""
    quotes: list[OptionQuote] = []
    for leg in group.legs:
        q = snapshot.chains.quote(leg.contract)
        if q is None or not (q.bid >= 0 and q.ask > 0 and math.isfinite(q.mid)):
            return None
        quotes.append(q)
    return net_mid(group.legs, quotes)


def as_row(p: OpenPosition) -> dict[str, str]:
    def money(v: float | None) -> str:
        return "" if v is None else f"{v:.2f}"

    return {
        "group_id": p.group_id, "strategy": p.strategy, "campaign": p.campaign, "part": p.part,
        "opened_at": "" if p.opened_at is None else p.opened_at.isoformat(), "quantity": str(p.quantity),
        "multiplier": f"{p.multiplier:g}", "legs": p.legs, "entry_price": f"{p.entry_price:.10g}",
        "entry_fees": f"{p.entry_fees:.2f}", "cost_basis": money(p.cost_basis),
        "mark": "" if p.mark is None else f"{p.mark:.10g}", "market_value": money(p.market_value),
        "unrealized_pnl": money(p.unrealized_pnl),
    }  # fmt: skip


def write_csv(path: Path, positions: Sequence[OpenPosition]) -> None:
    """``open_positions.csv``: a header and one row per held group (just the header when flat).
    Prices keep ten significant digits so the dollar columns can be recomputed to the cent."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(as_row(p) for p in positions)


def read_csv(path: Path) -> list[OpenPosition]:
    """The file ``write_csv`` wrote; a wrong header or a row that does not parse raises ValueError
    naming the file and line."""
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise ValueError(f"{path}:1: expected the columns {', '.join(COLUMNS)}, got {reader.fieldnames}")
        out = []
        for n, row in enumerate(reader, 2):
            try:
                out.append(_parse(row))
            except (KeyError, ValueError, TypeError) as exc:
                raise ValueError(f"{path}:{n}: bad open position row ({exc})") from None
        return out


def _parse(row: dict[str, str]) -> OpenPosition:
    quantity = int(row["quantity"])
    multiplier, entry, fees = (
        _finite(row["multiplier"]),
        _finite(row["entry_price"]),
        _finite(row["entry_fees"]),
    )
    if quantity <= 0 or multiplier <= 0 or not row["group_id"] or not row["strategy"]:
        raise ValueError("group id, strategy, a positive quantity and multiplier are required")
    mark = None if row["mark"] == "" else _finite(row["mark"])
    opened = datetime.fromisoformat(row["opened_at"]) if row["opened_at"] else None
    return OpenPosition(
        row["group_id"], row["strategy"], row["campaign"], row["part"], opened, quantity, multiplier,
        row["legs"], entry, fees, mark,
    )  # fmt: skip


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number")
    return value
