"""IPMCC campaigns on SPY, QQQ, IWM (STRATEGY_RULES.md §4).

From phase 3, on Fridays at 10:00: an underlying without a campaign buys one ~80Δ call (75-85Δ)
with at least 280 DTE (target 365) whose extrinsic value is below 5% of the underlying's price
(see ``pick_long``), sized so the
campaign costs at most 8% of NLV and its cost (the long call's max loss) stays within the 5%-of-NLV
max risk per new position.  A campaign with its long call and no weekly short sells one
7-DTE ~30Δ call per long call whose strike is at or above the campaign's break-even (long strike +
long price paid - weekly credits kept so far: an assignment then locks in no loss), the nearest
strike that clears it when the ~30Δ one does not, else the week is skipped and recorded.  The
weekly short is bought back at 50% profit (on the expected exit fill), or rolled on its expiry day
(closed; the next weekly is sold in the same Friday window).  The campaign ends when it (long call
+ every weekly, realised and open) has lost 20% of the long call's cost; below 120 DTE it is rolled out (closed with reason ``roll`` and a new
long bought in the same campaign) while the phase allows IPMCC, else closed.  The short is always
closed before the long, so no short call is ever left uncovered.  No calls are sold in the EXTREME
regime (put-side premium selling only).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from core.closing import close_intent
from core.ports import StrategyContext
from core.regime import Regime
from core.settings import Settings
from core.types import Leg, MarketSnapshot, OptionChain, OptionQuote, OrderIntent, PositionGroup, Right
from strategies.common import (
    RolledToday,
    Skipper,
    StepMarks,
    days_to_expiry,
    open_intent,
    pending_rolls,
    phase_of,
    pick_expiry,
    profit_points,
    regime_of,
    scheduled,
    target_exit_price,
)

NAME = "ipmcc"
LONG, SHORT = "long_call", "short_call"
LONG_MAX_DTE = 800  # LEAPs are listed up to ~2.5 years out


class Ipmcc:
    name = NAME

    def __init__(self, settings: Settings) -> None:
        self.s = settings
        self._rolled = RolledToday()  # today's rolls, asked for at every step
        self._memo = StepMarks()  # a campaign's parts are marked once per step

    # --- entries ---------------------------------------------------------------------------------
    def propose(self, snapshot: MarketSnapshot, context: StrategyContext) -> Sequence[OrderIntent]:
        s, now = self.s, snapshot.time
        today = now.date()
        phase = phase_of(context, s)
        if phase < s.ipmcc_min_phase or not context.calendar.is_trading_day(today):
            return []
        intents: list[OrderIntent] = []
        live = context.open_groups(NAME)
        # A rolled long call is replaced at once, in its campaign.
        for rolled in pending_rolls(context, NAME, today, LONG, self._rolled):
            intent = self._long(snapshot, context, rolled.legs[0].contract.underlying, rolled.campaign_id)
            intents += [intent] if intent is not None else []
        if not scheduled(now, s.ipmcc_weekday, s.ipmcc_entry_time, s.entry_window_minutes):
            return intents
        busy = {i.legs[0].contract.underlying for i in intents} | {
            g.legs[0].contract.underlying for g in context.groups_opened_on(today, NAME) if g.part == LONG
        }
        for underlying in s.ipmcc_underlyings:
            mine = [g for g in live if g.legs[0].contract.underlying == underlying]
            if not mine and underlying not in busy:
                intent = self._long(snapshot, context, underlying, "")
                intents += [intent] if intent is not None else []
        if regime_of(snapshot, s) is not Regime.EXTREME:
            for long in (g for g in live if g.part == LONG and g.opened_at is not None):
                has_short = any(g.part == SHORT and g.campaign_id == long.campaign_id for g in live)
                if not has_short:
                    intent = self._short(snapshot, context, long)
                    intents += [intent] if intent is not None else []
        return intents

    def _long(
        self, snapshot: MarketSnapshot, context: StrategyContext, underlying: str, campaign: str
    ) -> OrderIntent | None:
        s, today = self.s, snapshot.time.date()
        expiry = pick_expiry(
            snapshot.chains, underlying, today, s.ipmcc_long_min_dte, LONG_MAX_DTE, s.ipmcc_long_target_dte
        )
        chain = None if expiry is None else snapshot.chains.chain(underlying, expiry)
        call = None if chain is None else self.pick_long(chain)
        if call is None:
            return None
        cost = call.ask * call.contract.multiplier
        # A long call is defined risk (its cost), so the 5% max-risk rule caps it below the 8% share.
        budget = min(s.ipmcc_nlv_share, s.risk_max_position_risk) * context.account.net_liquidation
        quantity = math.floor(budget / cost) if cost > 0 else 0
        if quantity < 1:
            return None
        notes = {"extrinsic": extrinsic(call), "underlying": call.underlying_price, "cost": cost * quantity}
        legs = (Leg(call.contract, 1),)
        return open_intent(
            context, snapshot, NAME, legs, [call], quantity, cost, notes, campaign=campaign,
            part=LONG, reason="roll_entry" if campaign else "entry",
        )  # fmt: skip

    def pick_long(self, chain: OptionChain) -> OptionQuote | None:
        """The call nearest the target delta inside its range whose extrinsic value is below
        ``ipmcc_max_extrinsic`` of the underlying's price.  (Read as a share of the call's own
        price the rule could never be met: a 75-85Δ call with 280+ DTE carries 17-40% of its price
        as time value at any realistic volatility.)"""
        s = self.s
        lo, hi = s.ipmcc_long_delta_range
        ok = [
            q for q in chain.side(Right.CALL)
            if lo <= q.delta <= hi and q.mid > 0 and extrinsic(q) < s.ipmcc_max_extrinsic * q.underlying_price
        ]  # fmt: skip
        return min(ok, key=lambda q: (abs(q.delta - s.ipmcc_long_delta), -q.contract.strike), default=None)

    def _short(
        self, snapshot: MarketSnapshot, context: StrategyContext, long: PositionGroup
    ) -> OrderIntent | None:
        s, today = self.s, snapshot.time.date()
        quotes = snapshot.quotes(long.legs)
        if quotes is None:
            return None
        long_quote = quotes[0]
        if self._long_exit_reason(snapshot, context, long) is not None:
            return None  # the long is about to go: don't sell against it
        underlying = long.legs[0].contract.underlying
        expiry = pick_expiry(
            snapshot.chains,
            underlying,
            today,
            s.ipmcc_short_dte - 2,
            s.ipmcc_short_dte + 2,
            s.ipmcc_short_dte,
        )
        chain = None if expiry is None else snapshot.chains.chain(underlying, expiry)
        if chain is None:
            return None
        kept = sum(g.realized_pnl() for g in self._closed_weeklies(context, long)) / (
            long.quantity * long.multiplier
        )
        break_even = long.legs[0].contract.strike + long.entry_price - kept
        above = [q for q in chain.side(Right.CALL) if q.contract.strike >= break_even - 1e-9 and q.bid > 0]
        call = min(above, key=lambda q: (abs(q.delta - s.ipmcc_short_delta), q.contract.strike), default=None)
        if call is None:
            message = f"{underlying} {expiry}: no call at or above the break-even {break_even:.2f}"
            Skipper(context, NAME)("below_break_even", message)
            return None
        legs = (Leg(call.contract, -1),)
        notes = {
            "long_strike": long.legs[0].contract.strike,
            "long_paid": long.entry_price,
            "weekly_kept": kept,
            "break_even": break_even,
        }
        # Covered by the long call with the strike at or above the break-even: if assigned, the
        # campaign loses nothing; the risk is bounded by the long call's time value.
        max_loss = extrinsic(long_quote) * call.contract.multiplier
        return open_intent(
            context, snapshot, NAME, legs, [call], long.quantity, max_loss, notes, campaign=long.campaign_id,
            part=SHORT,
        )  # fmt: skip

    @staticmethod
    def _closed_weeklies(context: StrategyContext, long: PositionGroup) -> list[PositionGroup]:
        return [
            g for g in context.closed_groups(NAME) if g.campaign_id == long.campaign_id and g.part == SHORT
        ]

    def campaign_pnl(
        self, snapshot: MarketSnapshot, context: StrategyContext, long: PositionGroup
    ) -> float | None:
        """The campaign's dollar P&L: its closed parts realised, its open parts at the expected
        exit fill net of fees (None when an open part has no quote)."""
        pnl = self._memo.realised(context.closed_groups(NAME), long.campaign_id)
        for g in context.open_groups(NAME):
            if g.campaign_id != long.campaign_id or g.opened_at is None:
                continue
            mark = self._memo(g, snapshot)
            if mark is None:
                return None
            pnl += profit_points(g, mark) * g.quantity * g.multiplier
        return pnl

    # --- management ------------------------------------------------------------------------------
    def manage(
        self, snapshot: MarketSnapshot, group: PositionGroup, context: StrategyContext
    ) -> OrderIntent | None:
        s, today = self.s, snapshot.time.date()
        mark = self._memo(group, snapshot)  # None: a leg has no quote
        if mark is None:
            return None
        dte = days_to_expiry(group.legs[0].contract.expiry, today)
        profit = profit_points(group, mark)
        notes = {"mark": mark, "profit": profit, "dte": float(dte)}
        campaign = [
            g for g in context.open_groups(NAME) if g.campaign_id == group.campaign_id and g is not group
        ]
        if group.part == SHORT:
            long = next((g for g in campaign if g.part == LONG), None)
            if long is not None:
                reason = self._long_exit_reason(snapshot, context, long)
                if reason is not None:
                    return close_intent(group, snapshot, "campaign_exit", {**notes, "long_" + reason: 1.0})
            target = s.ipmcc_short_profit_target * group.credit
            if profit >= target:
                notes["credit"] = group.credit
                return close_intent(group, snapshot, "profit_target", notes, target_exit_price(group, target))
            if dte <= 0:
                return close_intent(group, snapshot, "roll", notes)
            return None
        if any(g.part == SHORT for g in campaign):
            return None  # the short goes first (see above)
        reason = self._long_exit_reason(snapshot, context, group)
        if reason is None:
            return None
        if reason == "stop_loss":
            notes["campaign_pnl"] = self.campaign_pnl(snapshot, context, group) or 0.0
        if reason == "roll" and phase_of(context, s) < s.ipmcc_min_phase:
            reason = "dte_exit"
        return close_intent(group, snapshot, reason, {**notes, "cost": group.entry_price})

    def _long_exit_reason(
        self, snapshot: MarketSnapshot, context: StrategyContext, long: PositionGroup
    ) -> str | None:
        s = self.s
        cost = long.entry_price * long.quantity * long.multiplier
        pnl = self.campaign_pnl(snapshot, context, long)
        if cost > 0 and pnl is not None and pnl <= -s.ipmcc_campaign_stop * cost:
            return "stop_loss"
        if days_to_expiry(long.legs[0].contract.expiry, snapshot.time.date()) < s.ipmcc_long_min_hold_dte:
            return "roll"
        return None


def extrinsic(q: OptionQuote) -> float:
    """Time value per share: mid minus intrinsic value at the current underlying price."""
    return max(0.0, q.mid - q.contract.intrinsic(q.underlying_price))
