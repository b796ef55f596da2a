"""The short LEAP put ladder (STRATEGY_RULES.md §5).

From phase 3, Mondays at 10:00, one rung a week: sell one ~365-DTE put at 12/13/14/12Δ by week of
the month on SPY, or (phase 4) on QQQ, then IWM, only when SPY is at its cap or does not fit.  Skip
the week when VIX < 15; sell two when VIX > 20.  A rung's margin stays within 3% of NLV, the
ladder's within 25%, at most 10 rungs (quantities rounded down; every skipped week says why).
Exits: 30% of the credit, a stop at a loss of 200% of the credit (or of the max risk per
position, ``stop_reached``), and a roll when DTE <= 150 (closed
with reason ``roll``; a new ~365-DTE rung is sold the same day).  All rungs on one underlying
form one campaign, the ladder.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from core.closing import close_intent
from core.costs import expected_entry_credit
from core.ports import StrategyContext
from core.settings import Settings
from core.types import Leg, MarketSnapshot, OrderIntent, PositionGroup, Right
from strategies.common import (
    RolledToday,
    Skipper,
    days_to_expiry,
    exit_mark,
    open_intent,
    pending_rolls,
    phase_of,
    pick_expiry,
    profit_points,
    scheduled,
    stop_reached,
    target_exit_price,
)

NAME = "leap_ladder"


class LeapPutLadder:
    name = NAME

    def __init__(self, settings: Settings) -> None:
        self.s = settings
        self._rolled = RolledToday()  # today's rolls, asked for at every step

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
        rolls = pending_rolls(context, NAME, today, None, self._rolled)
        wanted = [(g.legs[0].contract.underlying, g.campaign_id, g.quantity, "roll_entry") for g in rolls]
        weekly = scheduled(now, s.leap_weekday, s.leap_entry_time, s.entry_window_minutes)
        intents: list[OrderIntent] = []
        for underlying, campaign, size, reason in wanted:
            intent, _ = self._rung(snapshot, context, underlying, campaign, size, reason, intents)
            if intent is not None:
                intents.append(intent)
        if weekly and not any("roll_entry" not in g.notes for g in context.groups_opened_on(today, NAME)):
            intent = self._weekly_rung(snapshot, context, phase, intents)
            if intent is not None:
                intents.append(intent)
        return intents

    def _weekly_rung(
        self, snapshot: MarketSnapshot, context: StrategyContext, phase: int, pending: list[OrderIntent]
    ) -> OrderIntent | None:
        """This week's one rung: SPY first, the next underlying only when it does not fit."""
        s, vix = self.s, snapshot.vix
        skip = Skipper(context, NAME)
        if vix is None or vix < s.leap_skip_below_vix:
            skip("vix_below_min", f"VIX {vix} is below {s.leap_skip_below_vix:g}: no rung this week")
            return None
        size = 2 if vix > s.leap_double_above_vix else 1
        why: list[str] = []
        for underlying in self.underlyings(phase):
            intent, problem = self._rung(
                snapshot, context, underlying, ladder_campaign(underlying), size, "entry", pending
            )
            if intent is not None:
                return intent
            why.append(f"{underlying}: {problem}")
        skip("no_rung", "; ".join(why))
        return None

    def _rung(
        self,
        snapshot: MarketSnapshot,
        context: StrategyContext,
        underlying: str,
        campaign: str,
        size: int,
        reason: str,
        pending: list[OrderIntent],
    ) -> tuple[OrderIntent | None, str]:
        """One rung of ``size`` puts (fewer when the caps allow fewer, rounded down), or None and
        why it does not fit."""
        s, today = self.s, snapshot.time.date()
        live = context.open_groups(NAME)
        if len(live) + len(pending) >= s.leap_max_rungs:
            return None, f"{s.leap_max_rungs} rungs open"
        expiry = pick_expiry(
            snapshot.chains, underlying, today, s.leap_min_dte, s.leap_max_dte, s.leap_target_dte
        )
        chain = None if expiry is None else snapshot.chains.chain(underlying, expiry)
        put = None if chain is None else chain.nearest_delta(Right.PUT, self.rung_delta(today.day))
        if put is None or put.bid <= 0:
            return (
                None,
                f"no bid put near {self.rung_delta(today.day):g} delta in {s.leap_min_dte}-{s.leap_max_dte} DTE",
            )
        legs = (Leg(put.contract, -1),)
        nlv = context.account.net_liquidation
        margin = context.margin_required(legs, 1, snapshot)
        used = sum(context.margin_required(g.legs, g.quantity, snapshot) for g in live)
        used += sum(context.margin_required(i.legs, i.quantity, snapshot) for i in pending)
        if not margin > 0:
            return None, f"margin {margin!r} is not usable"
        by_rung = math.floor(s.leap_rung_margin_nlv * nlv / margin + 1e-9)
        by_ladder = math.floor((s.leap_ladder_margin_nlv * nlv - used) / margin + 1e-9)
        quantity = min(size, by_rung, by_ladder)
        if quantity < 1:
            binding = "the rung cap" if by_rung < 1 else "the ladder cap"
            return None, f"one put's margin ${margin:,.0f} does not fit {binding}"
        credit = expected_entry_credit(legs, [put], s.exec_expected_slippage)
        if credit <= 0:
            return None, f"expected credit {credit:.2f} after costs is not positive"
        max_loss = s.leap_stop_loss * credit * put.contract.multiplier  # undefined risk: the stop
        notes = {
            "credit_after_costs": credit,
            "underlying": put.underlying_price,
            "target_delta": self.rung_delta(today.day),
            "margin": margin,
            "ladder_margin": used + quantity * margin,  # the whole ladder's with this rung (audits)
        }
        intent = open_intent(
            context, snapshot, NAME, legs, [put], quantity, max_loss, notes, campaign=campaign, reason=reason
        )
        return intent, ""

    # --- management ------------------------------------------------------------------------------
    def manage(
        self, snapshot: MarketSnapshot, group: PositionGroup, context: StrategyContext
    ) -> OrderIntent | None:
        s = self.s
        mark = exit_mark(group, snapshot)
        if mark is None:
            return None
        dte = days_to_expiry(group.legs[0].contract.expiry, snapshot.time.date())
        credit = group.credit
        profit = profit_points(group, mark)
        notes = {"mark": mark, "profit": profit, "credit": credit, "dte": float(dte)}
        target = s.leap_profit_target * credit
        if profit >= target:
            return close_intent(group, snapshot, "profit_target", notes, target_exit_price(group, target))
        if stop_reached(group, profit, s.leap_stop_loss, s.risk_max_position_risk):
            loss = -profit * group.multiplier * group.quantity
            return close_intent(group, snapshot, "stop_loss", {**notes, "loss_usd": loss})
        if dte <= s.leap_roll_dte:
            return close_intent(group, snapshot, "roll", notes)
        return None


def ladder_campaign(underlying: str) -> str:
    """Every rung on one underlying belongs to one ladder: the correlation caps count the ladder
    as one position (ten rungs could never fit under a group cap of two or three otherwise)."""
    return f"{NAME}-{underlying}"
