"""LT112: the long-term 1-1-2 put ratio (STRATEGY_RULES.md §2).

First Wednesday of the month at 10:00 (and the third Wednesday from phase 3), on /ES options, or
/MES (a tenth, quoted at the ES level) when one /ES unit breaks the max risk per position, the BP
cap or the portfolio stress limit: buy the ~25Δ put, sell the put 50 points lower (the nearest
strike within ±10 points, else skip and say why: the debit spread), sell two ~5Δ puts (the naked
part), expiry nearest 120 DTE within 110-150.  One unit is one 1-1-2; the fill is split into two
parts managed separately inside one campaign: the naked puts close at 90% of their credit, the
spread when it is worth 150% of its cost; everything closes at 21 DTE; the whole unit stops when
its loss reaches the smaller of 200% of its net credit and 2% of NLV.  Targets trigger on the
expected exit fill and cap the exit at the price that realises them.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.closing import close_intent
from core.costs import expected_entry_credit
from core.ports import StrategyContext
from core.regime import max_bp_fraction
from core.settings import Settings
from core.stress import Scenarios, StressUnknown, breaches_limit, positions_of, stress_loss
from core.types import Leg, MarketSnapshot, OptionChain, OptionQuote, OrderIntent, PositionGroup, Right
from strategies.common import (
    Skipper,
    StepMarks,
    days_to_expiry,
    open_intent,
    phase_of,
    pick_expiry,
    profit_points,
    scheduled,
    target_exit_price,
    tolerance_note,
)

NAME = "lt112"
SPREAD, NAKED = "spread", "naked"


class Lt112:
    name = NAME

    def __init__(self, settings: Settings) -> None:
        self.s = settings
        self._memo = StepMarks()  # a campaign's parts are marked once per step

    # --- entries ---------------------------------------------------------------------------------
    def propose(self, snapshot: MarketSnapshot, context: StrategyContext) -> Sequence[OrderIntent]:
        s, now = self.s, snapshot.time
        today = now.date()
        phase = phase_of(context, s)
        if phase < s.lt112_min_phase or not scheduled(
            now, s.lt112_weekday, s.lt112_entry_time, s.entry_window_minutes
        ):
            return []
        nth = (today.day - 1) // 7 + 1  # which Wednesday of the month
        if not (nth == 1 or (nth == 3 and phase >= s.lt112_second_entry_min_phase)):
            return []
        if not context.calendar.is_trading_day(today) or context.groups_opened_on(today, NAME):
            return []
        skip = Skipper(context, NAME)
        if open_units(context) >= s.lt112_max_units_by_phase[phase]:
            return skip("max_units", f"{open_units(context)} units open: the phase {phase} maximum")
        why = ("no_chain", f"no {s.lt112_futures_root} chain within {s.lt112_min_dte}-{s.lt112_max_dte} DTE")
        too_large: list[str] = []  # each root's cap that one unit breaks, for the skip record
        # A full-size /ES unit first; /MES (a tenth, quoted at the ES level) when one /ES unit
        # does not fit the max risk per position, the BP cap or the portfolio stress limit.
        for root in (s.lt112_futures_root, s.lt112_micro_root):
            expiry = (
                pick_expiry(
                    snapshot.chains,
                    root,
                    today,
                    s.lt112_min_dte,
                    s.lt112_max_dte,
                    s.lt112_target_dte,
                    s.expiry_tolerance_days,
                )
                if root
                else None
            )
            chain = None if expiry is None else snapshot.chains.chain(root, expiry)
            if chain is None:
                continue
            picked, problem = self.pick_legs(chain)
            if picked is None:
                why = ("strikes", f"{root} {expiry}: {problem}")
                continue
            legs, quotes = picked
            intent, problem = self._unit_intent(snapshot, context, chain, legs, quotes, phase)
            if intent is not None:
                return [intent]
            too_large.append(f"one {root} unit {problem}")
            why = ("unit_too_large", "; ".join(too_large))
        return skip(*why)

    def _unit_intent(
        self,
        snapshot: MarketSnapshot,
        context: StrategyContext,
        chain: OptionChain,
        legs: tuple[Leg, ...],
        quotes: Sequence[OptionQuote],
        phase: int,
    ) -> tuple[OrderIntent | None, str]:
        """One unit's intent, or None and which cap one unit breaks."""
        s = self.s
        net_credit = expected_entry_credit(legs, quotes, s.exec_expected_slippage)
        nlv = context.account.net_liquidation
        stop = s.lt112_stop_nlv_fraction * nlv
        if net_credit > 0:
            stop = min(stop, s.lt112_stop_credit_multiple * net_credit * legs[0].contract.multiplier)
        risk_limit = s.risk_max_position_risk * nlv
        if stop > risk_limit:
            return None, f"risks ${stop:,.0f} > the max risk per position ${risk_limit:,.0f}"
        margin = context.margin_required(legs, 1, snapshot)
        cap = max_bp_fraction(nlv, snapshot.vix, s) * nlv
        if context.account.buying_power_used + margin > cap:
            return (
                None,
                f"needs ${margin:,.0f} of buying power; the cap ${cap:,.0f} is used to ${context.account.buying_power_used:,.0f}",
            )
        problem = self._stress_problem(snapshot, context, legs)
        if problem:
            return None, problem
        notes = {
            "underlying": chain.underlying_price,
            "credit_after_costs": net_credit,
            "phase": float(phase),
            **tolerance_note(
                chain.expiry, snapshot.time.date(), s.lt112_min_dte, s.lt112_max_dte, s.expiry_tolerance_days
            ),
        }
        parts = ((SPREAD, (0, 1)), (NAKED, (2,)))
        return open_intent(context, snapshot, NAME, legs, quotes, 1, stop, notes, parts=parts), ""

    def _stress_problem(
        self, snapshot: MarketSnapshot, context: StrategyContext, legs: tuple[Leg, ...]
    ) -> str:
        """Why one unit takes the portfolio's stress loss past its limit, else "" (the gate's own
        rule, ``core.stress``; a stress that cannot be computed is left to the gate to block)."""
        scenarios = Scenarios.from_settings(self.s)
        try:
            held = positions_of([(g.legs, g.quantity) for g in context.open_groups()], snapshot.chains)
            before = stress_loss(held, snapshot.time, scenarios)
            after = stress_loss(
                [*held, *positions_of([(legs, 1)], snapshot.chains)], snapshot.time, scenarios
            )
        except StressUnknown:
            return ""
        limit = self.s.risk_max_stress_nlv * context.account.net_liquidation
        if not breaches_limit(before, after, limit):
            return ""
        return (
            f"takes the stress loss to ${after.loss:,.0f} > the stress limit ${limit:,.0f} "
            f"({self.s.risk_max_stress_nlv:.0%} of NLV; ${before.loss:,.0f} before it)"
        )

    def pick_legs(self, chain: OptionChain) -> tuple[tuple[tuple[Leg, ...], list[OptionQuote]] | None, str]:
        """+1 put at ~25Δ, -1 put ``lt112_spread_width_es`` lower (the nearest listed strike within
        ``lt112_width_tolerance`` when none is exactly there), -2 puts at ~5Δ strictly below the
        short put; else None and why."""
        s = self.s
        long = chain.nearest_delta(Right.PUT, s.lt112_long_delta)
        if long is None:
            return None, f"no put near {s.lt112_long_delta:g} delta"
        width = s.lt112_spread_width_es
        target = long.contract.strike - width
        tolerance = s.lt112_width_tolerance
        rows, contracts, deltas = chain.side_columns(Right.PUT)  # rows are built only for the picks
        below = [k for k, c in enumerate(contracts) if c.strike < long.contract.strike]
        near = [k for k in below if abs(contracts[k].strike - target) <= tolerance + 1e-9]
        short = min(
            near, key=lambda k: (abs(contracts[k].strike - target), contracts[k].strike), default=None
        )
        if short is None:
            return (
                None,
                f"no strike within {tolerance:g} of {target:g} ({width:g} below the {long.contract.strike:g} put)",
            )
        further = [k for k in below if contracts[k].strike < contracts[short].strike]
        naked = min(
            further,
            key=lambda k: (abs(abs(deltas[k]) - s.lt112_naked_delta), contracts[k].strike),
            default=None,
        )
        if naked is None:
            return None, f"no put below the {contracts[short].strike:g} short put for the naked part"
        short_q, naked_q = chain.quotes[rows[short]], chain.quotes[rows[naked]]
        legs = (Leg(long.contract, 1), Leg(short_q.contract, -1), Leg(naked_q.contract, -2))
        return (legs, [long, short_q, naked_q]), ""

    # --- management ------------------------------------------------------------------------------
    def manage(
        self, snapshot: MarketSnapshot, group: PositionGroup, context: StrategyContext
    ) -> OrderIntent | None:
        s, today = self.s, snapshot.time.date()
        mark = self._memo(group, snapshot)
        if mark is None:
            return None
        dte = days_to_expiry(group.legs[0].contract.expiry, today)
        profit = profit_points(group, mark)
        notes = {"mark": mark, "profit": profit, "dte": float(dte)}
        unit_pnl, unit_credit = self._unit(snapshot, group, context)
        if unit_pnl is not None:
            stop = s.lt112_stop_nlv_fraction * context.account.net_liquidation
            if unit_credit > 0:
                stop = min(stop, s.lt112_stop_credit_multiple * unit_credit)
            if -unit_pnl >= stop:
                return close_intent(
                    group, snapshot, "stop_loss", {**notes, "unit_pnl": unit_pnl, "unit_stop": stop}
                )
        if dte <= s.lt112_spread_exit_dte:
            return close_intent(group, snapshot, "dte_exit", notes)
        if group.part == NAKED:
            target = s.lt112_naked_profit_target * group.credit
            if profit >= target:
                notes["credit"] = group.credit
                return close_intent(group, snapshot, "profit_target", notes, target_exit_price(group, target))
        elif group.part == SPREAD and group.entry_price > 0:
            worth = s.lt112_spread_profit_multiple * group.entry_price
            if mark >= worth:  # the exit sells the spread for at least 150% of its cost
                notes["cost"] = group.entry_price
                return close_intent(group, snapshot, "profit_target", notes, -worth)
        return None

    def _unit(
        self, snapshot: MarketSnapshot, group: PositionGroup, context: StrategyContext
    ) -> tuple[float | None, float]:
        """The whole unit's dollar P&L (live parts at mid, closed parts realised) and net credit."""
        members = [g for g in context.open_groups(NAME) if g.campaign_id == group.campaign_id]
        closed = [g for g in context.closed_groups(NAME) if g.campaign_id == group.campaign_id]
        pnl = sum(g.realized_pnl() for g in closed)
        for g in members:
            if g.opened_at is None:
                continue
            mark = self._memo(g, snapshot)
            if mark is None:
                return None, 0.0
            pnl += profit_points(g, mark) * g.quantity * g.multiplier
        credit = sum(g.credit * g.quantity * g.multiplier for g in (*members, *closed))
        return pnl, credit


def open_units(context: StrategyContext) -> int:
    """Open LT112 units: the campaigns with at least one live part."""
    return len({g.campaign_id for g in context.open_groups(NAME)})
