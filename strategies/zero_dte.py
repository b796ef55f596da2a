"""Friday 0DTE iron condor (STRATEGY_RULES.md §1).

Fridays that are full trading days, between 10:30 and 13:00, when VIX > 22 and SPX has moved no
more than 0.5% since the open: sell the ~16Δ put and call, buy the ~5Δ wings (or fixed-width
wings), one entry a day.  Exit at 50% of the credit, stop at a loss of 200% of the credit, and
close everything by 15:30 (30 minutes before an early close).  In the EXTREME regime only the put
side is sold, as the rulebook allows put-side premium selling only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from core.closing import close_intent
from core.costs import expected_entry_credit
from core.portfolio_greeks import BetaTable, GreeksUnknown, legs_greeks, portfolio_greeks
from core.ports import StrategyContext
from core.regime import Regime, account_phase, max_bp_fraction, vix_regime
from core.settings import Settings
from core.types import (
    Leg,
    MarketSnapshot,
    OptionChain,
    OptionQuote,
    OrderIntent,
    PositionGroup,
    Right,
)
from strategies.common import (
    Skipper,
    exit_deadline,
    exit_mark,
    in_window,
    minute_of_day,
    open_intent,
    profit_points,
    target_exit_price,
)

NAME = "zero_dte"


class ZeroDteIronCondor:
    name = NAME

    def __init__(self, settings: Settings) -> None:
        self.s = settings
        self._betas = BetaTable.from_settings(settings)

    # --- entries ---------------------------------------------------------------------------------
    def propose(self, snapshot: MarketSnapshot, context: StrategyContext) -> Sequence[OrderIntent]:
        s, now = self.s, snapshot.time
        today = now.date()
        if now.weekday() != s.zero_dte_weekday or not in_window(
            now, s.zero_dte_first_entry, s.zero_dte_last_entry
        ):
            return []
        calendar = context.calendar
        if not calendar.is_trading_day(today) or context.groups_opened_on(today, NAME):
            return []
        skip = Skipper(context, NAME)
        if calendar.is_early_close(today):
            return skip("early_close", f"{today} closes early: no 0DTE condor")
        nlv = context.account.net_liquidation
        if account_phase(nlv, s) < s.zero_dte_min_phase:
            return skip("phase", f"NLV {nlv:,.0f} is below phase {s.zero_dte_min_phase}")
        vix, spot, day_open = (
            snapshot.vix,
            snapshot.price(s.zero_dte_underlying),
            snapshot.day_open.get(s.zero_dte_underlying),
        )
        if vix is None or not vix > s.zero_dte_min_vix:
            return skip("vix_below_min", f"VIX {vix} is not above {s.zero_dte_min_vix:g}")
        if not spot or not day_open:
            return skip("no_underlying", f"{s.zero_dte_underlying} price {spot} / open {day_open} unknown")
        move = spot / day_open - 1.0
        if abs(move) > s.zero_dte_max_move:
            return skip(
                "move_filter",
                f"{s.zero_dte_underlying} moved {move:+.2%} since the open (limit {s.zero_dte_max_move:.2%})",
            )
        put_side_only = vix_regime(vix, s) is Regime.EXTREME
        # Full size (SPXW) first; the mini (XSP, a tenth of SPX) when one full condor would break a cap.
        why = ("no_chain", f"no {s.zero_dte_root} chain expiring today")
        for root in (s.zero_dte_root, s.zero_dte_mini_root):
            chain = snapshot.chains.chain(root, today) if root else None
            if chain is None:
                continue
            picked = self._pick_legs(chain, put_side_only, scale=chain.underlying_price / spot)
            if picked is None:
                why = ("no_strikes", f"{root}: no short/wing strikes at the target deltas")
                continue
            legs, quotes = picked
            credit_after_costs = expected_entry_credit(legs, quotes, s.exec_expected_slippage)
            if credit_after_costs < s.zero_dte_min_credit * chain.underlying_price / spot:
                why = (
                    "credit_below_min",
                    f"{root}: expected credit {credit_after_costs:.2f} after costs too small",
                )
                continue
            max_loss = _max_loss_per_unit(legs, credit_after_costs)
            quantity, binding = self._size(snapshot, context, legs, max_loss)
            if quantity < 1:
                why = ("size_zero", f"{root}: not one condor fits {binding}")
                continue
            notes = {"underlying": spot, "move_since_open": move, "credit_after_costs": credit_after_costs}
            return [open_intent(context, snapshot, NAME, legs, quotes, quantity, max_loss, notes)]
        return skip(*why)

    def _pick_legs(
        self, chain: OptionChain, put_side_only: bool, scale: float = 1.0
    ) -> tuple[tuple[Leg, ...], list[OptionQuote]] | None:
        s = self.s
        sides = (Right.PUT,) if put_side_only else (Right.PUT, Right.CALL)
        legs: list[Leg] = []
        quotes: list[OptionQuote] = []
        for right in sides:
            short = chain.nearest_delta(right, s.zero_dte_short_delta)
            if short is None:
                return None
            wing = self._wing(chain, right, short, scale)
            if wing is None:
                return None
            legs += [Leg(short.contract, -1), Leg(wing.contract, +1)]
            quotes += [short, wing]
        return tuple(legs), quotes

    def _wing(self, chain: OptionChain, right: Right, short: OptionQuote, scale: float) -> OptionQuote | None:
        """The long wing: strictly further out than the short strike (a fixed width is in SPX
        points, scaled to the chain's underlying)."""
        sign = -1.0 if right is Right.PUT else 1.0
        if self.s.zero_dte_wing_width > 0:
            return chain.at_strike(right, short.contract.strike + sign * self.s.zero_dte_wing_width * scale)
        further = [  # a NaN delta (no bid: LEAN has no IV for it) would poison min()
            q
            for q in chain.side(right)
            if sign * (q.contract.strike - short.contract.strike) > 0 and math.isfinite(q.delta)
        ]
        if not further:
            return None
        return min(
            further, key=lambda q: (abs(abs(q.delta) - self.s.zero_dte_long_delta), sign * q.contract.strike)
        )

    def _size(
        self,
        snapshot: MarketSnapshot,
        context: StrategyContext,
        legs: tuple[Leg, ...],
        max_loss: float,
    ) -> tuple[int, str]:
        """Condors within the phase cap, the day's BP share, the max risk per position and the gamma
        limit on the portfolio after the trade, as the gate judges it (theta and vega of an
        intraday position are not held against their caps).  Rounded down; with the name of the
        binding limit."""
        s = self.s
        nlv = context.account.net_liquidation
        cap = 1 if account_phase(nlv, s) == 1 else s.zero_dte_max_condors  # phase 1: one lot
        margin = context.margin_required(legs, 1, snapshot)
        budget = s.zero_dte_max_bp_share * max_bp_fraction(nlv, snapshot.vix, s) * nlv
        limits = {
            "the condor cap": cap,
            "the day's BP share": math.floor(budget / margin) if margin > 0 else cap,
            "the max risk per position": math.floor(s.risk_max_position_risk * nlv / max_loss)
            if max_loss > 0
            else cap,
            "the gamma limit": self._gamma_fit(snapshot, context, legs, s.risk_max_gamma_nlv * nlv, cap),
        }
        binding = min(limits, key=lambda k: limits[k])
        return max(0, limits[binding]), binding

    def _gamma_fit(
        self, snapshot: MarketSnapshot, context: StrategyContext, legs: Sequence[Leg], limit: float, cap: int
    ) -> int:
        """Condors whose gamma the portfolio's room under the gamma limit holds (the gate blocks
        a trade that leaves |gamma| beyond it, not a smaller one that fits).  0 when a Greek is
        unknown: the gate would block the entry anyway."""
        try:
            unit = legs_greeks(legs, 1, snapshot.chains, self._betas).gamma_1pct
            held = portfolio_greeks(context.open_groups(), snapshot.chains, self._betas, snapshot.time.date())
            before = held.judged().gamma_1pct
        except GreeksUnknown:
            return 0
        if unit == 0:
            return cap
        room = limit - before * math.copysign(1.0, unit)  # how far gamma may still move the condor's way
        return max(0, math.floor(room / abs(unit)))

    # --- management ------------------------------------------------------------------------------
    def manage(
        self, snapshot: MarketSnapshot, group: PositionGroup, context: StrategyContext
    ) -> OrderIntent | None:
        s, now = self.s, snapshot.time
        deadline = exit_deadline(context.calendar, now, s.zero_dte_close_time)
        if now >= deadline:
            return close_intent(group, snapshot, "time_exit", {"deadline_minute": minute_of_day(deadline)})
        mark = exit_mark(group, snapshot)
        if mark is None:
            return None
        credit = group.credit
        profit = profit_points(group, mark)
        notes = {"mark": mark, "profit": profit, "credit": credit}
        target = s.zero_dte_profit_target * credit
        if profit >= target:
            return close_intent(group, snapshot, "profit_target", notes, target_exit_price(group, target))
        if -profit >= s.zero_dte_stop_loss * credit:
            return close_intent(group, snapshot, "stop_loss", notes)
        return None


def _max_loss_per_unit(legs: Sequence[Leg], credit: float) -> float:
    """Widest wing minus the credit expected after costs, in dollars per unit (only one side can
    finish in the money)."""
    widths = []
    for right in (Right.PUT, Right.CALL):
        strikes = [leg.contract.strike for leg in legs if leg.contract.right is right]
        if len(strikes) == 2:
            widths.append(abs(strikes[0] - strikes[1]))
    return max(0.0, (max(widths) - credit) * legs[0].contract.multiplier)
