"""Futures strangles on /ES, /CL, /GC (STRATEGY_RULES.md §3).

Tuesdays at 10:00 from phase 2: for each underlying with no strangle in the target expiry cycle
(nearest 90 DTE within 80-100) and fewer than three open, sell the ~6Δ put (5-7Δ) and the ~6Δ call
(5-6Δ).  In the EXTREME regime only the put is sold.  Exits: 50% of the credit, a stop at a loss of
250% of the credit (or of the max risk per position, ``stop_reached``), and 21 DTE — where a strangle that is not at a loss is rolled: closed with
reason ``roll`` and the next cycle opened on the same underlying the same day, in the same campaign.
Micro options (MES, MCL, MGC) are used when one full-size strangle would break the buying-power cap.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from core.closing import close_intent
from core.costs import expected_entry_credit
from core.ports import StrategyContext
from core.regime import Regime, max_bp_fraction
from core.settings import Settings
from core.types import Leg, MarketSnapshot, OptionChain, OptionQuote, OrderIntent, PositionGroup, Right
from strategies.common import (
    RolledToday,
    days_to_expiry,
    exit_mark,
    open_intent,
    pending_rolls,
    phase_of,
    pick_expiry,
    profit_points,
    regime_of,
    scheduled,
    stop_reached,
    target_exit_price,
    tolerance_note,
)

NAME = "strangle"


class FuturesStrangle:
    name = NAME

    def __init__(self, settings: Settings) -> None:
        self.s = settings
        self._rolled = RolledToday()  # today's rolls, asked for at every step
        self.micro = dict(pair.split(":", 1) for pair in settings.strangle_micro_roots if ":" in pair)
        self.full = {micro: full for full, micro in self.micro.items()}

    # --- entries ---------------------------------------------------------------------------------
    def propose(self, snapshot: MarketSnapshot, context: StrategyContext) -> Sequence[OrderIntent]:
        s, now = self.s, snapshot.time
        today = now.date()
        if phase_of(context, s) < s.strangle_min_phase or not context.calendar.is_trading_day(today):
            return []
        intents: list[OrderIntent] = []
        wanted = [
            (self.underlying_root(g), g.campaign_id, "roll_entry")
            for g in pending_rolls(context, NAME, today, None, self._rolled)
        ]
        if scheduled(now, s.strangle_weekday, s.strangle_entry_time, s.entry_window_minutes):
            opened_today = {self.underlying_root(g) for g in context.groups_opened_on(today, NAME)}
            wanted += [(root, "", "entry") for root in s.strangle_underlyings if root not in opened_today]
        for root, campaign, reason in wanted:
            if any(self.underlying_root(i) == root for i in intents):
                continue  # one new strangle per underlying per step
            intent = self._entry(snapshot, context, root, campaign, reason)
            if intent is not None:
                intents.append(intent)
        return intents

    def underlying_root(self, item: PositionGroup | OrderIntent) -> str:
        """The full-size root (ES for MES options) a strangle is on."""
        root = item.legs[0].contract.root
        return self.full.get(root, root)

    def _entry(
        self, snapshot: MarketSnapshot, context: StrategyContext, root: str, campaign: str, reason: str
    ) -> OrderIntent | None:
        s, today = self.s, snapshot.time.date()
        live = [g for g in context.open_groups(NAME) if self.underlying_root(g) == root]
        if len(live) >= s.strangle_max_per_underlying:
            return None
        expiry = pick_expiry(
            snapshot.chains,
            root,
            today,
            s.strangle_min_dte,
            s.strangle_max_dte,
            s.strangle_target_dte,
            s.expiry_tolerance_days,
        )
        if expiry is None or any(_cycle(g) == _month(expiry) for g in live):
            return None  # a strangle is already open for this expiry cycle
        put_only = regime_of(snapshot, s) is Regime.EXTREME
        nlv = context.account.net_liquidation
        cap = max_bp_fraction(nlv, snapshot.vix, s) * nlv - context.account.buying_power_used
        for candidate in (root, self.micro.get(root)):
            if candidate is None:
                continue
            chain = snapshot.chains.chain(candidate, expiry)
            picked = None if chain is None else self.pick_legs(chain, put_only)
            if chain is None or picked is None:
                continue
            legs, quotes = picked
            if context.margin_required(legs, 1, snapshot) > cap:
                continue  # too big at full size: try the micro
            credit = expected_entry_credit(legs, quotes, s.exec_expected_slippage)
            if credit <= 0:
                return None
            max_loss = s.strangle_stop_loss * credit * legs[0].contract.multiplier  # undefined risk: the stop
            notes = {
                "credit_after_costs": credit,
                "underlying": chain.underlying_price,
                "put_only": float(put_only),
                **tolerance_note(
                    expiry, today, s.strangle_min_dte, s.strangle_max_dte, s.expiry_tolerance_days
                ),
            }
            return open_intent(
                context, snapshot, NAME, legs, quotes, 1, max_loss, notes, campaign=campaign, reason=reason
            )
        return None

    def pick_legs(
        self, chain: OptionChain, put_only: bool
    ) -> tuple[tuple[Leg, ...], list[OptionQuote]] | None:
        """Short put and call nearest their target deltas, each inside its accepted range."""
        s = self.s
        sides = [(Right.PUT, s.strangle_put_delta, s.strangle_put_delta_range)]
        if not put_only:
            sides.append((Right.CALL, s.strangle_call_delta, s.strangle_call_delta_range))
        legs: list[Leg] = []
        quotes: list[OptionQuote] = []
        for right, target, (lo, hi) in sides:
            q = chain.nearest_delta(right, target)
            if q is None or not lo <= abs(q.delta) <= hi:
                return None
            legs.append(Leg(q.contract, -1))
            quotes.append(q)
        return tuple(legs), quotes

    # --- management ------------------------------------------------------------------------------
    def manage(
        self, snapshot: MarketSnapshot, group: PositionGroup, context: StrategyContext
    ) -> OrderIntent | None:
        s = self.s
        mark = exit_mark(group, snapshot)  # targets and stops on the expected exit fill
        if mark is None:
            return None
        dte = days_to_expiry(group.legs[0].contract.expiry, snapshot.time.date())
        credit = group.credit
        profit = profit_points(group, mark)
        notes = {"mark": mark, "profit": profit, "credit": credit, "dte": float(dte)}
        target = s.strangle_profit_target * credit
        if profit >= target:
            return close_intent(group, snapshot, "profit_target", notes, target_exit_price(group, target))
        if stop_reached(group, profit, s.strangle_stop_loss, s.risk_max_position_risk):
            loss = -profit * group.multiplier * group.quantity
            return close_intent(group, snapshot, "stop_loss", {**notes, "loss_usd": loss})
        if dte <= s.strangle_exit_dte:
            return close_intent(group, snapshot, "roll" if profit >= 0 else "dte_exit", notes)
        return None


def _month(expiry: date) -> tuple[int, int]:
    return expiry.year, expiry.month


def _cycle(group: PositionGroup) -> tuple[int, int]:
    return _month(group.legs[0].contract.expiry)
