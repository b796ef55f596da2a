"""The short LEAP put ladder (STRATEGY_RULES.md §5).

From phase 3, Mondays at 10:00, one rung a week per underlying (SPY; QQQ and IWM added in phase 4):
sell one ~365-DTE put at 12/13/14/12Δ by week of the month.  Skip the week when VIX < 15; sell two
when VIX > 20.  Each rung may use 2% of the allowed buying power, all rungs 20%, at most 10 rungs.
Exits: 30% of the credit, a stop at a loss of 200% of the credit, and a roll when DTE <= 150 (closed
with reason ``roll``; a new ~365-DTE rung is sold the same day).  All rungs on one underlying
form one campaign, the ladder.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from core.costs import expected_entry_credit
from core.ports import StrategyContext
from core.regime import max_bp_fraction
from core.settings import Settings
from core.types import Leg, MarketSnapshot, OrderIntent, PositionGroup, Right
from strategies.common import (
    close_intent,
    days_to_expiry,
    group_mark,
    open_intent,
    pending_rolls,
    phase_of,
    pick_expiry,
    profit_points,
    scheduled,
)

NAME = "leap_ladder"


class LeapPutLadder:
    name = NAME

    def __init__(self, settings: Settings) -> None:
        self.s = settings

    def underlyings(self, phase: int) -> tuple[str, ...]:
        extra = self.s.leap_phase4_underlyings if phase >= 4 else ()
        return tuple(dict.fromkeys((*self.s.leap_underlyings, *extra)))

    def rung_delta(self, day_of_month: int) -> float:
        deltas = self.s.leap_deltas_by_week
        return deltas[((day_of_month - 1) // 7) % len(deltas)]

    # --- entries ---------------------------------------------------------------------------------
    def propose(self, snapshot: MarketSnapshot, context: StrategyContext) -> Sequence[OrderIntent]:
        s, now = self.s, snapshot.time
        today = now.date()
        phase = phase_of(context, s)
        if phase < s.leap_min_phase or not context.calendar.is_trading_day(today):
            return []
        rolls = pending_rolls(context, NAME, today)
        wanted = [(g.legs[0].contract.underlying, g.campaign_id, g.quantity, "roll_entry") for g in rolls]
        vix = snapshot.vix
        weekly = scheduled(now, s.leap_weekday, s.leap_entry_time, s.entry_window_minutes)
        if weekly and vix is not None and vix >= s.leap_skip_below_vix:
            size = 2 if vix > s.leap_double_above_vix else 1
            done = {g.legs[0].contract.underlying for g in context.groups_opened_on(today, NAME)}
            wanted += [
                (u, ladder_campaign(u), size, "entry") for u in self.underlyings(phase) if u not in done
            ]
        intents: list[OrderIntent] = []
        for underlying, campaign, size, reason in wanted:
            intent = self._rung(snapshot, context, underlying, campaign, size, reason, intents)
            if intent is not None:
                intents.append(intent)
        return intents

    def _rung(
        self,
        snapshot: MarketSnapshot,
        context: StrategyContext,
        underlying: str,
        campaign: str,
        size: int,
        reason: str,
        pending: list[OrderIntent],
    ) -> OrderIntent | None:
        s, today = self.s, snapshot.time.date()
        live = context.open_groups(NAME)
        if len(live) + len(pending) >= s.leap_max_rungs:
            return None
        expiry = pick_expiry(
            snapshot.chains, underlying, today, s.leap_min_dte, s.leap_max_dte, s.leap_target_dte
        )
        chain = None if expiry is None else snapshot.chains.chain(underlying, expiry)
        put = None if chain is None else chain.nearest_delta(Right.PUT, self.rung_delta(today.day))
        if put is None or put.bid <= 0:
            return None
        legs = (Leg(put.contract, -1),)
        nlv = context.account.net_liquidation
        allowed = max_bp_fraction(nlv, snapshot.vix, s) * nlv
        margin = context.margin_required(legs, 1, snapshot)
        used = sum(context.margin_required(g.legs, g.quantity, snapshot) for g in live)
        used += sum(context.margin_required(i.legs, i.quantity, snapshot) for i in pending)
        if not 0 < margin <= s.leap_bp_per_rung * allowed:
            return None  # one put must fit the per-rung budget (a doubled rung is two such puts)
        quantity = min(size, math.floor((s.leap_bp_total * allowed - used) / margin))
        if quantity < 1:
            return None
        credit = expected_entry_credit(legs, [put], s.exec_expected_slippage)
        if credit <= 0:
            return None
        max_loss = s.leap_stop_loss * credit * put.contract.multiplier  # undefined risk: the stop
        notes = {
            "credit_after_costs": credit,
            "underlying": put.underlying_price,
            "target_delta": self.rung_delta(today.day),
            "margin": margin,
        }
        return open_intent(
            context, snapshot, NAME, legs, [put], quantity, max_loss, notes, campaign=campaign, reason=reason
        )

    # --- management ------------------------------------------------------------------------------
    def manage(
        self, snapshot: MarketSnapshot, group: PositionGroup, context: StrategyContext
    ) -> OrderIntent | None:
        s = self.s
        mark = group_mark(group, snapshot)
        if mark is None:
            return None
        dte = days_to_expiry(group.legs[0].contract.expiry, snapshot.time.date())
        credit = group.credit
        profit = profit_points(group, mark)
        notes = {"mark": mark, "profit": profit, "credit": credit, "dte": float(dte)}
        if profit >= s.leap_profit_target * credit:
            return close_intent(group, snapshot, "profit_target", notes)
        if -profit >= s.leap_stop_loss * credit:
            return close_intent(group, snapshot, "stop_loss", notes)
        if dte <= s.leap_roll_dte:
            return close_intent(group, snapshot, "roll", notes)
        return None


def ladder_campaign(underlying: str) -> str:
    """Every rung on one underlying belongs to one ladder: the correlation caps count the ladder
    as one position (ten rungs could never fit under a group cap of two or three otherwise)."""
    return f"{NAME}-{underlying}"
