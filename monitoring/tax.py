"""A tax view of closed trades for the trader's accountant: Section 1256 contracts (60% long-term /
40% short-term whatever the holding period, marked to market at year end) apart from equity and
ETF options (short or long term by holding period), with possible wash sales flagged.

Section 1256 covers regulated futures, options on futures and "nonequity" options, i.e. options on
broad-based indices (SPX, SPXW, XSP, NDX, RUT, VIX...); Cboe lists Mini-SPX (XSP) as eligible
alongside SPX.  Options on ETFs such as SPY, QQQ and IWM are equity options and are not.  An index
option root not in the broad-based list is reported as unclassified rather than guessed.
This is a reporting aid, not tax advice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from core.types import PositionGroup, Right, SecurityKind

BROAD_BASED_INDEX_ROOTS = frozenset(
    {
        "SPX",
        "SPXW",
        "SPXPM",
        "XSP",
        "NDX",
        "NDXP",
        "XND",
        "RUT",
        "RUTW",
        "MRUT",
        "VIX",
        "VIXW",
        "OEX",
        "XEO",
        "DJX",
    }
)
SECTION_1256 = "section_1256"
EQUITY = "equity_option"
MIXED = "mixed"
UNCLASSIFIED = "unclassified"
WASH_SALE_DAYS = 30
LONG_TERM_AFTER = timedelta(days=365)


def classify(group: PositionGroup) -> str:
    kinds = {_leg_class(leg.contract.kind, leg.contract.root) for leg in group.legs}
    if len(kinds) == 1:
        return kinds.pop()
    return MIXED if kinds else UNCLASSIFIED


def _leg_class(kind: SecurityKind, root: str) -> str:
    if kind in (SecurityKind.FUTURE, SecurityKind.FUTURE_OPTION):
        return SECTION_1256
    if kind is SecurityKind.INDEX_OPTION:
        return SECTION_1256 if root.upper() in BROAD_BASED_INDEX_ROOTS else UNCLASSIFIED
    if kind is SecurityKind.EQUITY_OPTION:
        return EQUITY
    return UNCLASSIFIED


@dataclass(frozen=True)
class TaxRow:
    group_id: str
    strategy: str
    opened: date
    closed: date
    pnl: float
    treatment: str  # section_1256 | equity_option | mixed | unclassified
    term: str  # 60/40 | short | long | review
    wash_sale_with: tuple[str, ...] = ()  # loss groups: equity-option groups bought within 30 days


def tax_rows(closed: Sequence[PositionGroup]) -> list[TaxRow]:
    """One row per closed group, with wash-sale flags on equity-option losses."""
    rows = []
    for g in closed:
        if g.opened_at is None or g.closed_at is None:
            raise ValueError(f"{g.group_id}: a closed group needs opened_at and closed_at")
        treatment = classify(g)
        held = g.closed_at - g.opened_at
        term = {
            SECTION_1256: "60/40",
            EQUITY: "long" if held > LONG_TERM_AFTER else "short",
        }.get(treatment, "review")
        pnl = g.realized_pnl()
        wash = _wash_sale_partners(g, closed) if treatment == EQUITY and pnl < 0 else ()
        rows.append(
            TaxRow(g.group_id, g.strategy, g.opened_at.date(), g.closed_at.date(), pnl, treatment, term, wash)
        )
    return rows


def _wash_sale_partners(loss: PositionGroup, groups: Iterable[PositionGroup]) -> tuple[str, ...]:
    """Equity-option groups on the same underlying and option type that were opened within 30
    days either side of the loss being realised: candidates for substantially identical purchases."""
    assert loss.closed_at is not None
    when = loss.closed_at.date()
    keys = {(leg.contract.underlying, leg.contract.right) for leg in loss.legs if leg.ratio > 0}
    keys |= {(leg.contract.underlying, _opposite(leg.contract.right)) for leg in loss.legs if leg.ratio < 0}
    partners = []
    for other in groups:
        if other.group_id == loss.group_id or other.opened_at is None or classify(other) != EQUITY:
            continue
        if abs((other.opened_at.date() - when).days) > WASH_SALE_DAYS:
            continue
        bought = {(leg.contract.underlying, leg.contract.right) for leg in other.legs if leg.ratio > 0}
        sold = {
            (leg.contract.underlying, _opposite(leg.contract.right)) for leg in other.legs if leg.ratio < 0
        }
        if keys & (bought | sold):
            partners.append(other.group_id)
    return tuple(sorted(partners))


def _opposite(right: Right) -> Right:
    # a short put is economically a long position like a long call: both count as acquiring exposure
    return Right.CALL if right is Right.PUT else Right.PUT


@dataclass(frozen=True)
class TaxYear:
    year: int
    section_1256_realized: float
    section_1256_mark_to_market: float  # change in year-end marks of open 1256 positions
    equity_short_term: float
    equity_long_term: float
    review: float  # mixed or unclassified groups
    wash_sale_flags: int

    @property
    def section_1256_total(self) -> float:
        return self.section_1256_realized + self.section_1256_mark_to_market

    @property
    def section_1256_long_term(self) -> float:
        return 0.6 * self.section_1256_total

    @property
    def section_1256_short_term(self) -> float:
        return 0.4 * self.section_1256_total


def tax_years(rows: Sequence[TaxRow], year_end_marks: Mapping[int, float] | None = None) -> list[TaxYear]:
    """Totals per calendar year of closing.  ``year_end_marks[y]`` is the unrealised P&L of the
    1256 positions still open at the last close of year ``y``: it is taxed in ``y`` and reversed
    in ``y + 1`` (mark-to-market rule)."""
    marks = dict(year_end_marks or {})
    years = sorted({r.closed.year for r in rows} | set(marks))
    out = []
    for y in years:
        in_year = [r for r in rows if r.closed.year == y]
        out.append(
            TaxYear(
                year=y,
                section_1256_realized=sum(r.pnl for r in in_year if r.treatment == SECTION_1256),
                section_1256_mark_to_market=marks.get(y, 0.0) - marks.get(y - 1, 0.0),
                equity_short_term=sum(r.pnl for r in in_year if r.treatment == EQUITY and r.term == "short"),
                equity_long_term=sum(r.pnl for r in in_year if r.treatment == EQUITY and r.term == "long"),
                review=sum(r.pnl for r in in_year if r.treatment in (MIXED, UNCLASSIFIED)),
                wash_sale_flags=sum(1 for r in in_year if r.wash_sale_with),
            )
        )
    return out
