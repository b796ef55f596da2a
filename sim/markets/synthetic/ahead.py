"""Open legs' quotes for the rest of the day, priced in one vectorised call.

The engine marks every held contract at every step, and the system reads them again: a handful of
contracts priced step after step, each step a numpy call on a few elements that costs what a call
on hundreds does.  The market is a pure function of its configuration and the point in time, so a
contract asked for at one point is priced at once for every remaining point of that day; the later
steps read their row.  Each element is computed exactly as alone (numpy's element-wise functions do
not depend on the array around an element), so the quotes are the same to the last bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from core.types import OptionContract, OptionQuote, Right
from sim.markets.synthetic.pricing import GROUP_FIELDS, group_values, price, stack
from sim.markets.synthetic.roots import ROOTS
from sim.markets.synthetic.rows import quotes_from_columns

if TYPE_CHECKING:
    from sim.markets.synthetic.market import SyntheticMarket

_BOOK = ("bid", "ask", "bid_size", "ask_size", "volume", "open_interest")  # OptionQuote fields before
_GREEKS = ("iv", "delta", "gamma", "theta", "vega")  # ... and after underlying_price, in field order
Wanted = list[tuple[str, date, list[OptionContract]]]  # (root, expiry, contracts of that expiry)
Group = tuple[tuple[float, ...], str]  # an expiry's GROUP_FIELDS values at one point, its underlying
_SPOT = GROUP_FIELDS.index("spot")


def group_at(market: SyntheticMarket, point: int, root: str, expiry: date) -> Group | None:
    """The per-expiry pricing inputs at ``point`` (``GROUP_FIELDS`` values) and the expiry's
    underlying, or None when (root, expiry) is not listed that day (or its underlying has no price)."""
    spec = ROOTS.get(root)
    if spec is None:
        return None
    grid = market.grid
    listing = market.listing(grid.days[grid.point_day[point]], root, expiry)
    spot = None if listing is None else market.underlying_price(point, listing.underlying)
    if listing is None or spot is None or not spot > 0.0:
        return None
    group = group_values(
        spec, spot, market.vol_level(point, spec.family), grid.calendar_time(point, expiry),
        grid.variance_time(point, expiry), grid.elapsed[point], market.dividend(listing.underlying), market.config,
    )  # fmt: skip
    return group, listing.underlying


@dataclass(frozen=True)
class _Batch:
    """Contracts priced together from point ``first`` to ``end`` (exclusive), point by point:
    element ``(point - first) * width + j`` is contract j at that point; each element's
    ``OptionQuote`` fields after ``time``, in field order, are one tuple of ``rows``."""

    first: int
    end: int
    width: int
    rows: list[tuple]


class QuotesAhead:
    """The day's priced rows of every contract asked for; forgotten when the day changes."""

    def __init__(self, market: SyntheticMarket) -> None:
        self._m = market
        self._rows: dict[OptionContract, tuple[_Batch, int]] = {}
        self._groups: dict[tuple[str, date, int], Group | None] = {}
        self.batches = 0  # vectorised pricing calls so far (what pricing ahead saves is testable)

    def forget(self) -> None:
        self._rows, self._groups = {}, {}

    def group(self, point: int, root: str, expiry: date) -> Group | None:
        """``group_at``, once per (root, expiry, point) of the day: chains and batches share it."""
        key = (root, expiry, point)
        found = self._groups.get(key, self)
        if found is self:
            found = self._groups[key] = group_at(self._m, point, root, expiry)
        return found  # type: ignore[return-value]

    def covers(self, contract: OptionContract, point: int) -> bool:
        """Whether ``contract`` has a row priced for ``point`` (it was listed and priced then)."""
        found = self._rows.get(contract)
        return found is not None and found[0].first <= point < found[0].end

    def quotes(
        self, point: int, time: datetime, contracts: list[OptionContract]
    ) -> dict[OptionContract, OptionQuote]:
        """Quotes at ``point`` of the ``contracts`` that have rows for it (see ``price``)."""
        keep, rows = [], []
        for c in contracts:  # one look-up each: ``covers`` and the row together
            found = self._rows.get(c)
            if found is not None and found[0].first <= point < found[0].end:
                b, j = found
                keep.append(c)
                rows.append(b.rows[(point - b.first) * b.width + j])
        if not keep:
            return {}
        columns = (keep, [time] * len(keep), *zip(*rows, strict=True))
        return dict(zip(keep, quotes_from_columns(columns), strict=True))

    def price(self, point: int, wanted: Wanted) -> None:
        """Price ``wanted`` (listed at ``point``: the caller checked) at every point from there to the
        day's close in one call, stopping early at a point where one of the expiries is not
        priceable (its contracts are asked again there)."""
        grid = self._m.grid
        day = grid.point_day[point]
        end = grid.day_start[day + 1] if day + 1 < len(grid.days) else len(grid.times)
        groups: list[tuple[float, ...]] = []
        for q in range(point, end):
            found = [self.group(q, root, expiry) for root, expiry, _ in wanted]
            if any(f is None for f in found):
                end = q
                break
            groups += [f[0] for f in found if f is not None]
        points = end - point
        if points <= 0:
            return
        counts = [len(cs) for _, _, cs in wanted]
        contracts = [c for _, _, cs in wanted for c in cs]
        strikes = [float(c.strike) for c in contracts]
        calls = [c.right is Right.CALL for c in contracts]
        priced = price(stack(groups, strikes * points, calls * points, counts * points))
        spots = [g[_SPOT] for g, n in zip(groups, counts * points, strict=True) for _ in range(n)]
        book, greeks = ([getattr(priced, name) for name in names] for names in (_BOOK, _GREEKS))
        rows = list(zip(*book, spots, *greeks, strict=True))
        batch = _Batch(point, end, len(contracts), rows)
        self.batches += 1
        for j, c in enumerate(contracts):
            self._rows[c] = (batch, j)
