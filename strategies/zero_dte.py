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

from core.costs import expected_entry_credit, net_mid
from core.dollar_greeks import dollar_greeks
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
    close_intent,
    exit_deadline,
    group_mark,
    in_window,
    minute_of_day,
    open_intent,
    profit_points,
)

NAME = "zero_dte"


class ZeroDteIronCondor:
    name = NAME

    def __init__(self, settings: Settings) -> None:
        self.s = settings

    # --- entries ---------------------------------------------------------------------------------
    def propose(self, snapshot: MarketSnapshot, context: StrategyContext) -> Sequence[OrderIntent]:
        s, now = self.s, snapshot.time
        today = now.date()
        if now.weekday() != s.zero_dte_weekday or not in_window(
            now, s.zero_dte_first_entry, s.zero_dte_last_entry
        ):
            return []
        calendar = context.calendar
        if not calendar.is_trading_day(today) or calendar.is_early_close(today):
            return []
        nlv = context.account.net_liquidation
        if account_phase(nlv, s) < s.zero_dte_min_phase or context.groups_opened_on(today, NAME):
            return []
        vix, spot, day_open = (
            snapshot.vix,
            snapshot.price(s.zero_dte_underlying),
            snapshot.day_open.get(s.zero_dte_underlying),
        )
        if vix is None or not vix > s.zero_dte_min_vix or not spot or not day_open:
            return []
        move = spot / day_open - 1.0
        if abs(move) > s.zero_dte_max_move:
            return []
        put_side_only = vix_regime(vix, s) is Regime.EXTREME
        # Full size (SPXW) first; the mini (XSP, a tenth of SPX) when one full condor would break a cap.
        for root in (s.zero_dte_root, s.zero_dte_mini_root):
            chain = snapshot.chains.chain(root, today) if root else None
            if chain is None:
                continue
            picked = self._pick_legs(chain, put_side_only, scale=chain.underlying_price / spot)
            if picked is None:
                continue
            legs, quotes = picked
            credit_after_costs = expected_entry_credit(legs, quotes, s.exec_expected_slippage)
            if credit_after_costs < s.zero_dte_min_credit * chain.underlying_price / spot:
                continue
            max_loss = _max_loss_per_unit(legs, -net_mid(legs, quotes))
            quantity = self._size(snapshot, context, legs, quotes, max_loss)
            if quantity < 1:
                continue
            notes = {"underlying": spot, "move_since_open": move, "credit_after_costs": credit_after_costs}
            return [open_intent(context, snapshot, NAME, legs, quotes, quantity, max_loss, notes)]
        return []

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
        quotes: Sequence[OptionQuote],
        max_loss: float,
    ) -> int:
        """Condors within the phase cap, the day's BP share, the max risk per position and, alone,
        the portfolio gamma and theta limits (a 0DTE condor's gamma is what usually binds)."""
        s = self.s
        nlv = context.account.net_liquidation
        cap = 1 if account_phase(nlv, s) == 1 else s.zero_dte_max_condors  # phase 1: one lot
        margin = context.margin_required(legs, 1, snapshot)
        budget = s.zero_dte_max_bp_share * max_bp_fraction(nlv, snapshot.vix, s) * nlv
        by_bp = math.floor(budget / margin) if margin > 0 else cap
        by_risk = math.floor(s.risk_max_position_risk * nlv / max_loss) if max_loss > 0 else cap
        gamma, theta = _unit_gamma_theta(legs, quotes)
        by_gamma = math.floor(s.risk_max_gamma_nlv * nlv / gamma) if gamma > 0 else cap
        by_theta = math.floor(s.risk_max_theta_nlv * nlv / theta) if theta > 0 else cap
        return max(0, min(cap, by_bp, by_risk, by_gamma, by_theta))

    # --- management ------------------------------------------------------------------------------
    def manage(
        self, snapshot: MarketSnapshot, group: PositionGroup, context: StrategyContext
    ) -> OrderIntent | None:
        s, now = self.s, snapshot.time
        deadline = exit_deadline(context.calendar, now, s.zero_dte_close_time)
        if now >= deadline:
            return close_intent(group, snapshot, "time_exit", {"deadline_minute": minute_of_day(deadline)})
        mark = group_mark(group, snapshot)
        if mark is None:
            return None
        credit = group.credit
        profit = profit_points(group, mark)
        notes = {"mark": mark, "profit": profit, "credit": credit}
        if profit >= s.zero_dte_profit_target * credit:
            return close_intent(group, snapshot, "profit_target", notes)
        if -profit >= s.zero_dte_stop_loss * credit:
            return close_intent(group, snapshot, "stop_loss", notes)
        return None


def _max_loss_per_unit(legs: Sequence[Leg], credit: float) -> float:
    """Widest wing minus the credit, in dollars per unit (only one side can finish in the money)."""
    widths = []
    for right in (Right.PUT, Right.CALL):
        strikes = [leg.contract.strike for leg in legs if leg.contract.right is right]
        if len(strikes) == 2:
            widths.append(abs(strikes[0] - strikes[1]))
    return max(0.0, (max(widths) - credit) * legs[0].contract.multiplier)


def _unit_gamma_theta(legs: Sequence[Leg], quotes: Sequence[OptionQuote]) -> tuple[float, float]:
    """|$ delta change per 1% move| and $ theta per day of one condor."""
    gamma = theta = 0.0
    for leg, q in zip(legs, quotes, strict=True):
        _, g, _, t = dollar_greeks(q, leg.ratio)
        gamma += g
        theta += t
    return abs(gamma), theta
