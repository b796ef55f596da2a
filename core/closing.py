"""The one closing intent: every leg of a group reversed.

Strategy exits and risk exits differ only in where the execution ladder starts: a strategy exit
is planned and starts at the mid; a risk exit (expiry, pin, assignment, limits) must be flat by a
deadline and starts at the natural price.  Both record the signal minute and their trigger values
in ``notes`` so an audit can check the reason.
"""

from __future__ import annotations

from collections.abc import Mapping

from core.costs import WORST_PRICE, net_mid, net_natural
from core.types import Leg, MarketSnapshot, OrderIntent, PositionGroup, Purpose


def close_intent(
    group: PositionGroup,
    snapshot: MarketSnapshot,
    reason: str,
    notes: Mapping[str, float] | None = None,
    worst_price: float | None = None,
    *,
    urgent: bool = False,
) -> OrderIntent | None:
    """The intent that flattens ``group``, or None when a leg has no quote.  ``worst_price`` (net
    per unit of the closing legs, debit +) is the most the exit may pay (a profit target's: the
    price that still realises its target); ``urgent`` prices the reference at natural instead of
    mid (risk exits)."""
    closing = tuple(Leg(leg.contract, -leg.ratio) for leg in group.legs)
    quotes = snapshot.quotes(closing)
    if quotes is None:
        return None
    natural = net_natural(closing, quotes)
    now = snapshot.time
    extra = dict(notes or {})
    if worst_price is not None:
        extra[WORST_PRICE] = worst_price
    return OrderIntent(
        group_id=group.group_id,
        strategy=group.strategy,
        purpose=Purpose.CLOSE,
        legs=closing,
        quantity=group.quantity,
        reference_price=natural if urgent else net_mid(closing, quotes),
        natural_price=natural,
        max_loss_per_unit=0.0,
        reason=reason,
        created=now,
        notes={"minute": float(now.hour * 60 + now.minute), **extra},
    )
