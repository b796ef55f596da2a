"""Pieces every strategy needs: marking a group, building its closing intent, session timing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta

from core.costs import net_mid, net_natural
from core.ports import TradingCalendar
from core.types import Leg, MarketSnapshot, OptionQuote, OrderIntent, PositionGroup, Purpose


def leg_quotes(snapshot: MarketSnapshot, legs: Sequence[Leg]) -> list[OptionQuote] | None:
    """Current quotes for every leg, or None if any leg has no quote right now."""
    quotes = []
    for leg in legs:
        q = snapshot.chains.quote(leg.contract)
        if q is None:
            return None
        quotes.append(q)
    return quotes


def close_intent(group: PositionGroup, snapshot: MarketSnapshot, reason: str) -> OrderIntent | None:
    """The intent that flattens ``group``: every leg reversed, priced at the current mid."""
    legs = tuple(Leg(leg.contract, -leg.ratio) for leg in group.legs)
    quotes = leg_quotes(snapshot, legs)
    if quotes is None:
        return None
    return OrderIntent(
        group_id=group.group_id,
        strategy=group.strategy,
        purpose=Purpose.CLOSE,
        legs=legs,
        quantity=group.quantity,
        reference_price=net_mid(legs, quotes),
        natural_price=net_natural(legs, quotes),
        max_loss_per_unit=0.0,
        reason=reason,
        created=snapshot.time,
    )


def group_mark(group: PositionGroup, snapshot: MarketSnapshot) -> float | None:
    """Net value per unit at mid of holding the group now (credit structures are negative)."""
    quotes = leg_quotes(snapshot, group.legs)
    return None if quotes is None else net_mid(group.legs, quotes)


def in_window(now: datetime, first: time, last: time) -> bool:
    return first <= now.time() <= last


def exit_deadline(calendar: TradingCalendar, now: datetime, close_time: time) -> datetime:
    """The configured close time, or 30 minutes before an early close if that comes first."""
    deadline = datetime.combine(now.date(), close_time)
    session_close = calendar.session_close(now.date())
    if session_close is not None:
        deadline = min(deadline, session_close - timedelta(minutes=30))
    return deadline
