"""Pieces every strategy needs: schedules, expiry choice, marking a group, building intents."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from core.costs import WORST_PRICE, expected_exit_value, fees_per_unit, net_mid, net_natural
from core.ports import StrategyContext, TradingCalendar
from core.regime import Regime, account_phase, vix_regime
from core.settings import Settings
from core.types import (
    ChainSource,
    Leg,
    MarketSnapshot,
    OptionQuote,
    OrderIntent,
    PositionGroup,
    Purpose,
)


def open_intent(
    context: StrategyContext,
    snapshot: MarketSnapshot,
    strategy: str,
    legs: tuple[Leg, ...],
    quotes: Sequence[OptionQuote],
    quantity: int,
    max_loss_per_unit: float,
    notes: dict[str, float],
    campaign: str = "",
    part: str = "",
    parts: tuple[tuple[str, tuple[int, ...]], ...] = (),
    reason: str = "entry",
) -> OrderIntent:
    """An opening intent with the entry context every audit needs: signal time, each leg's delta
    and mid, DTE of the first leg, NLV, phase and VIX (plus the strategy's own ``notes``)."""
    now = snapshot.time
    context_notes = {
        "signal_minute": minute_of_day(now),
        "nlv": context.account.net_liquidation,
        "vix": snapshot.vix if snapshot.vix is not None else float("nan"),
        "dte": float(days_to_expiry(legs[0].contract.expiry, now.date())),
    }
    if reason != "entry":
        context_notes["roll_entry"] = 1.0  # a roll's successor: opened when its predecessor closed
    # The entry never pays more than the natural price it was sized and judged at (limits are
    # limits: a market that moves away leaves the entry unfilled instead of over its risk).
    context_notes[WORST_PRICE] = net_natural(legs, quotes)
    for i, q in enumerate(quotes):
        context_notes[f"delta_{i}"] = q.delta
        context_notes[f"mid_{i}"] = q.mid
        context_notes[f"strike_{i}"] = q.contract.strike
    return OrderIntent(
        group_id=context.new_group_id(strategy),
        strategy=strategy,
        purpose=Purpose.OPEN,
        legs=legs,
        quantity=quantity,
        reference_price=net_mid(legs, quotes),
        natural_price=net_natural(legs, quotes),
        max_loss_per_unit=max_loss_per_unit,
        reason=reason,
        created=now,
        notes={**context_notes, **notes},
        campaign=campaign,
        part=part,
        parts=parts,
    )


def group_mark(group: PositionGroup, snapshot: MarketSnapshot) -> float | None:
    """Net value per unit at mid of holding the group now (credit structures are negative)."""
    quotes = snapshot.quotes(group.legs)
    return None if quotes is None else net_mid(group.legs, quotes)


def exit_mark(group: PositionGroup, snapshot: MarketSnapshot) -> float | None:
    """Net value per unit of the group at the price its exit would pay now (the expected fill,
    ``core.costs.expected_exit_value``): what targets and stops trigger on (STRATEGY_RULES.md,
    "How targets, stops and trades are measured").  The snapshot's quotes are the system's
    screened ones: a position is never judged on a quote that failed the sanity rules."""
    quotes = snapshot.quotes(group.legs)
    return None if quotes is None else expected_exit_value(group.legs, quotes)


class StepMarks:
    """``exit_mark`` once per group and step, and each campaign's realised P&L once per change of
    the closed groups: a campaign's P&L (IPMCC, LT112) is asked for by each of its parts, and the
    closed parts grow with the run.  Marks are the current snapshot's (a new snapshot starts
    afresh), keyed by the group object (groups are immutable: a changed group is a new object,
    marked anew); the realised sums depend on no quote, so they are kept until the closed groups
    change, keyed by their number and the last one itself (groups only ever join them)."""

    def __init__(self) -> None:
        self._snapshot: MarketSnapshot | None = None
        self._marks: dict[int, tuple[PositionGroup, float | None]] = {}
        self._realised: tuple[tuple[int, PositionGroup | None], dict[str, float]] = ((-1, None), {})

    def __call__(self, group: PositionGroup, snapshot: MarketSnapshot) -> float | None:
        self._step(snapshot)
        found = self._marks.get(id(group))
        if found is None or found[0] is not group:
            found = self._marks[id(group)] = (group, exit_mark(group, snapshot))
        return found[1]

    def realised(self, closed: Sequence[PositionGroup], campaign: str) -> float:
        """The realised P&L of ``campaign``'s groups among ``closed`` (a strategy's closed groups)."""
        key = (len(closed), closed[-1] if closed else None)
        (count, last), _ = self._realised
        if count != key[0] or last is not key[1]:
            sums: dict[str, float] = {}
            for g in closed:
                sums[g.campaign_id] = sums.get(g.campaign_id, 0) + g.realized_pnl()
            self._realised = (key, sums)
        return self._realised[1].get(campaign, 0)

    def _step(self, snapshot: MarketSnapshot) -> None:
        if snapshot is not self._snapshot:  # the snapshot is kept, so its identity is not reused
            self._snapshot, self._marks = snapshot, {}


def fee_points(group: PositionGroup) -> float:
    """Round-trip fees per unit in price points (opening fees paid, closing fees ahead)."""
    return (group.entry_fees / group.quantity + fees_per_unit(group.legs, opening=False)) / group.multiplier


def profit_points(group: PositionGroup, mark: float) -> float:
    """Profit per unit in price points at ``mark``, net of round-trip fees.  Works for credit
    (entry < 0) and debit (entry > 0) structures."""
    return mark - group.entry_price - fee_points(group)


def stop_reached(group: PositionGroup, profit: float, multiple: float, max_risk: float) -> bool:
    """An undefined-risk position's stop: its loss (``-profit`` points per unit, net of fees) reaches
    ``multiple`` x its credit, or the max risk per position (``max_risk`` of the NLV it was approved
    at, its ``nlv`` note).  The entry was judged on the stop at its expected credit; a fill for more
    credit widens the multiple's stop, never the loss past that limit (limits are limits)."""
    if -profit >= multiple * group.credit:
        return True
    return -profit * group.multiplier * group.quantity >= max_risk * group.notes.get("nlv", math.inf)


def target_exit_price(group: PositionGroup, profit: float) -> float:
    """The closing net price per unit (debit +) at which the group realises ``profit`` points
    after fees: the most a profit-target exit may pay."""
    return -(group.entry_price + fee_points(group) + profit)


def minute_of_day(now: datetime) -> float:
    return float(now.hour * 60 + now.minute)


def in_window(now: datetime, first: time, last: time) -> bool:
    return first <= now.time() <= last


def scheduled(now: datetime, weekday: int, at: time, window_minutes: int) -> bool:
    """True on ``weekday`` from ``at`` until ``window_minutes`` later: an entry "at 10:00" may be
    placed on the first step at or after 10:00, and retried within the window."""
    last = (datetime.combine(now.date(), at) + timedelta(minutes=window_minutes)).time()
    return now.weekday() == weekday and in_window(now, at, last)


def days_to_expiry(expiry: date, today: date) -> int:
    return (expiry - today).days


def pick_expiry(
    chains: ChainSource, root: str, today: date, lo: int, hi: int, target: int, tolerance: int = 0
) -> date | None:
    """The listed expiry nearest ``target`` days out within [lo, hi] (ties: the shorter); when none
    is listed inside, the one nearest ``target`` within ``tolerance`` days outside the window (ES
    future options list quarterly only, so a 40-day window holds one on fewer than half the days)."""
    listed = chains.expiries(root)
    for low, high in ((lo, hi), (lo - tolerance, hi + tolerance)):
        inside = [e for e in listed if low <= days_to_expiry(e, today) <= high]
        if inside:
            return min(inside, key=lambda e: (abs(days_to_expiry(e, today) - target), e))
    return None


def tolerance_note(expiry: date, today: date, lo: int, hi: int, tolerance: int) -> dict[str, float]:
    """The entry note that says an expiry came from the tolerance (the auditor widens by it)."""
    return {} if lo <= days_to_expiry(expiry, today) <= hi else {"dte_tolerance": float(tolerance)}


def phase_of(context: StrategyContext, settings: Settings) -> int:
    return account_phase(context.account.net_liquidation, settings)


def regime_of(snapshot: MarketSnapshot, settings: Settings) -> Regime:
    return vix_regime(snapshot.vix, settings)


def exit_deadline(calendar: TradingCalendar, now: datetime, close_time: time) -> datetime:
    """The configured close time, or 30 minutes before an early close if that comes first."""
    deadline = datetime.combine(now.date(), close_time)
    session_close = calendar.session_close(now.date())
    if session_close is not None:
        deadline = min(deadline, session_close - timedelta(minutes=30))
    return deadline


class RolledToday:
    """A strategy's groups closed today for a roll, asked for at every step: the closed groups are
    scanned again only when the day or the closed groups change (groups only ever join the closed
    ones, so their number and the last one say whether they did)."""

    def __init__(self) -> None:
        self._key: tuple[date, int, int] | None = None
        self._rolled: list[PositionGroup] = []

    def __call__(self, closed: Sequence[PositionGroup], today: date) -> list[PositionGroup]:
        key = (today, len(closed), id(closed[-1]) if closed else 0)
        if key != self._key:
            self._key, self._rolled = key, [
                g for g in closed
                if g.exit_reason == "roll" and g.closed_at is not None and g.closed_at.date() == today
            ]  # fmt: skip
        return self._rolled


def pending_rolls(
    context: StrategyContext, strategy: str, today: date, part: str | None = None,
    rolled_today: RolledToday | None = None,
) -> list[PositionGroup]:  # fmt: skip
    """Groups closed today for a roll that have no successor yet.  Successors carry the
    ``roll_entry`` note and their predecessor's campaign; within a campaign the n-th roll of the
    day is answered by the n-th roll entry opened that day (ids carry their date).  ``part``
    restricts both to one role of a campaign (the IPMCC long call); ``rolled_today`` is the
    strategy's memory of today's rolls."""
    closed = (rolled_today or RolledToday())(context.closed_groups(strategy), today)
    rolled = sorted((g for g in closed if part in (None, g.part)), key=lambda g: (g.closed_at, g.group_id))
    if not rolled:  # most steps: no roll today, nothing to match (asked every step)
        return []
    stamp = f"{strategy}-{today:%Y%m%d}-"
    answered: dict[str, int] = {}
    for g in (*context.open_groups(strategy), *context.closed_groups(strategy)):
        if g.group_id.startswith(stamp) and g.notes.get("roll_entry") == 1.0 and part in (None, g.part):
            answered[g.campaign_id] = answered.get(g.campaign_id, 0) + 1
    pending = []
    for g in rolled:
        if answered.get(g.campaign_id, 0) > 0:
            answered[g.campaign_id] -= 1
        else:
            pending.append(g)
    return pending


class Skipper:
    """Says why a scheduled entry check proposes nothing (``StrategyContext.skip``: recorded once
    per strategy, reason and day); returns the empty proposal."""

    def __init__(self, context: StrategyContext, strategy: str) -> None:
        self.context = context
        self.strategy = strategy

    def __call__(self, code: str, message: str) -> list[OrderIntent]:
        self.context.skip(self.strategy, code, message)
        return []
