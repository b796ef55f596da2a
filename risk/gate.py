"""Pre-trade gate for new entries.  Every rule returns a reason code; the first block wins.

Exits never pass through here: a rule that blocks risk-reducing trades would make things worse.

Order: entry pauses (safe mode, brokerage down: ``core.pauses``), calendar, circuit breaker,
underlying-jump halt, strategy pause, market data (VIX and the underlyings plausible), quotes (data
quality, sanity vs the last good quote, stuck quotes), the sign of a credit structure's expected
credit, account phase, EXTREME-regime call selling, then the sized rules on the intent at the
quantity it may have (a strategy running at reduced size is approved at that size): max risk per
position, BP cap (phase x regime), the strategy's BP budget, correlation groups, portfolio Greeks
and the portfolio stress loss after the trade.  An intraday entry (every leg expires today: the
0DTE condor) is outside the overnight caps: no correlation count, and of the Greeks only the gamma
limit.  Every block is recorded as a risk event with the values compared; an approval carries the
stress and gamma figures it was judged on (``notes``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

from core.costs import expected_entry_credit
from core.greek_limits import Limits, check_greeks, hedge_suggestions
from core.pauses import Pauses
from core.portfolio_greeks import BetaTable, Greeks, GreeksUnknown, legs_greeks
from core.ports import StrategyContext, TradingCalendar
from core.quote_screen import QuoteScreen, raw_chains
from core.regime import Regime, account_phase, max_bp_fraction, vix_regime
from core.settings import Settings, named_values
from core.stress import Scenarios, StressUnknown, breaches_limit, positions_of, stress_loss
from core.types import Decision, MarketSnapshot, OrderIntent, Purpose
from risk.correlation import check_correlation
from risk.data_quality import check_entry_quote, check_underlying, observe_vix
from risk.events import Action, RiskEvent, RiskLog
from risk.portfolio import PortfolioCache, PortfolioView
from risk.state import RiskState

Values = dict[str, Any]
Rule = Callable[[OrderIntent, MarketSnapshot, StrategyContext, Values], Decision]


class EntryGate:
    def __init__(
        self,
        settings: Settings,
        calendar: TradingCalendar,
        is_live: bool = False,
        state: RiskState | None = None,
        log: RiskLog | None = None,
        portfolio: PortfolioCache | None = None,
        pauses: Pauses | None = None,
        screen: QuoteScreen | None = None,
    ) -> None:
        self.s = settings
        self.screen = screen or QuoteScreen(settings)
        self.calendar = calendar
        self.is_live = is_live
        self.state = state if state is not None else RiskState()
        self.log = log
        self._betas = BetaTable.from_settings(settings)
        self._scenarios = Scenarios.from_settings(settings)
        self._portfolio = portfolio if portfolio is not None else PortfolioCache(self._betas)
        self._pauses = pauses if pauses is not None else Pauses()
        self._shares = named_values(settings.risk_strategy_bp_shares)
        self._unsized: tuple[Rule, ...] = (
            self._paused,
            self._calendar,
            self._breaker,
            self._jump_halt,
            self._strategy_pause,
            self._market_data,
            self._quotes,
            self._credit_sign,
            self._phase,
            self._extreme_regime,
        )
        self._sized: tuple[Rule, ...] = (
            self._position_risk,
            self._buying_power,
            self._strategy_budget,
            self._correlation,
            self._greeks,
            self._stress,
        )

    def evaluate(self, intent: OrderIntent, snapshot: MarketSnapshot, context: StrategyContext) -> Decision:
        if intent.purpose is not Purpose.OPEN:
            return Decision.ok("exit", "exits are not gated")
        values: Values = {"quantity": intent.quantity}
        for rule in self._unsized:
            decision = rule(intent, snapshot, context, values)
            if not decision.approved:
                return self._blocked(intent, snapshot, decision, values)
        sized, factor = self._reduced(intent, snapshot)
        for rule in self._sized:
            decision = rule(sized, snapshot, context, values)
            if not decision.approved:
                return self._blocked(sized, snapshot, decision, values)
        if sized.quantity != intent.quantity:
            message = (
                f"{intent.strategy} runs at {factor:.0%} size: {intent.quantity} -> {sized.quantity} units"
            )
            self._emit(
                RiskEvent(
                    snapshot.time,
                    "reduced_size",
                    Action.RESIZE_ENTRY,
                    message,
                    {"proposed": intent.quantity, "approved": sized.quantity, "factor": factor},
                    intent.strategy,
                    intent.group_id,
                )
            )
            return Decision(True, "reduced_size", message, sized.quantity, _approval_notes(values))
        return Decision(True, "ok", "approved", None, _approval_notes(values))

    # --- plumbing --------------------------------------------------------------------------------
    def _blocked(
        self, intent: OrderIntent, snapshot: MarketSnapshot, decision: Decision, values: Values
    ) -> Decision:
        self._emit(
            RiskEvent(
                snapshot.time,
                decision.code,
                Action.BLOCK_ENTRY,
                decision.message,
                values,
                intent.strategy,
                intent.group_id,
            )
        )
        return decision

    def _emit(self, event: RiskEvent) -> None:
        if self.log is not None:
            self.log.emit(event)

    def _reduced(self, intent: OrderIntent, snapshot: MarketSnapshot) -> tuple[OrderIntent, float]:
        """The intent at the strategy's current size factor (never below one unit)."""
        factor = self.state.guard.size_factor(intent.strategy, snapshot.time.date(), self.s)
        if factor >= 1.0:
            return intent, 1.0
        quantity = max(1, math.floor(intent.quantity * factor))
        return dataclasses.replace(intent, quantity=quantity), factor

    def _view(self, snapshot: MarketSnapshot, context: StrategyContext) -> PortfolioView:
        return self._portfolio.view(context.open_groups(), snapshot)

    # --- rules without size ----------------------------------------------------------------------
    def _paused(
        self, intent: OrderIntent, snapshot: MarketSnapshot, context: StrategyContext, values: Values
    ) -> Decision:
        """Entries paused by a layer outside risk (safe mode, brokerage down, feed checks)."""
        if not self._pauses:
            return Decision.ok()
        reasons = self._pauses.reasons
        values["pauses"] = dict(reasons)
        return Decision.block("entries_paused", "new entries paused: " + "; ".join(reasons.values()))

    def _calendar(
        self, intent: OrderIntent, snapshot: MarketSnapshot, context: StrategyContext, values: Values
    ) -> Decision:
        now = snapshot.time
        if not self.calendar.is_trading_day(now.date()):
            return Decision.block("calendar_closed", f"{now.date()} is not a trading day")
        close = self.calendar.session_close(now.date())
        values["session_close"] = str(close)
        if close is None or now >= close:
            early = " (early close)" if self.calendar.is_early_close(now.date()) else ""
            return Decision.block(
                "calendar_after_close", f"{now} is at or after the session close {close}{early}"
            )
        return Decision.ok()

    def _breaker(
        self, intent: OrderIntent, snapshot: MarketSnapshot, context: StrategyContext, values: Values
    ) -> Decision:
        b = self.state.breaker
        values.update({"nlv": context.account.net_liquidation, "day_start": b.day_start, "peak": b.peak})
        return b.check()

    def _jump_halt(
        self, intent: OrderIntent, snapshot: MarketSnapshot, context: StrategyContext, values: Values
    ) -> Decision:
        return self.state.jumps.check(snapshot.time)

    def _strategy_pause(
        self, intent: OrderIntent, snapshot: MarketSnapshot, context: StrategyContext, values: Values
    ) -> Decision:
        return self.state.guard.check(intent.strategy, snapshot.time.date())

    def _market_data(
        self, intent: OrderIntent, snapshot: MarketSnapshot, context: StrategyContext, values: Values
    ) -> Decision:
        values["vix"] = snapshot.vix
        decision = observe_vix(snapshot.vix, self.screen.last, snapshot.time, self.s)
        for symbol in sorted({leg.contract.underlying for leg in intent.legs}):
            quote = snapshot.underlyings.get(symbol)
            if decision.approved and quote is not None:
                values[f"underlying_{symbol}"] = quote.price
                decision = check_underlying(quote)
        return decision

    def _quotes(
        self, intent: OrderIntent, snapshot: MarketSnapshot, context: StrategyContext, values: Values
    ) -> Decision:
        chains = raw_chains(snapshot.chains)  # judged as sent, never a quote marked from a last good one
        for leg in intent.legs:
            quote = chains.quote(leg.contract)
            if quote is None:
                values["contract"] = leg.contract.symbol
                return Decision.block("dq_missing", f"{leg.contract.symbol}: no quote")
            decision = check_entry_quote(quote, snapshot.time, self.s, self.is_live)
            if decision.approved:
                decision = self.screen.check(quote)
            if decision.approved:
                decision = self.state.quotes.check(quote, snapshot.time, self.s)
            if not decision.approved:
                values.update(
                    {
                        "contract": leg.contract.symbol,
                        "bid": quote.bid,
                        "ask": quote.ask,
                        "quote_time": quote.time.isoformat(),
                        "underlying": quote.underlying_price,
                    }
                )
                return decision
        return Decision.ok()

    def _credit_sign(
        self, intent: OrderIntent, snapshot: MarketSnapshot, context: StrategyContext, values: Values
    ) -> Decision:
        """A credit structure (one that states its expected credit, or sells every leg) whose quotes
        now say it would open at a debit is never sent (prices /1000 make a 1-1-2 a debit)."""
        if "credit_after_costs" not in intent.notes and not all(leg.ratio < 0 for leg in intent.legs):
            return Decision.ok()
        chains = raw_chains(snapshot.chains)  # every leg is quoted: ``_quotes`` passed
        quotes = [q for leg in intent.legs if (q := chains.quote(leg.contract)) is not None]
        credit = expected_entry_credit(intent.legs, quotes, self.s.exec_expected_slippage)
        values["expected_credit"] = credit
        if not math.isfinite(credit) or credit <= 0:
            return Decision.block(
                "entry_wrong_sign",
                f"expected credit {credit:+.4f} per unit after costs: a credit structure would open at a debit",
            )
        return Decision.ok()

    def _phase(
        self, intent: OrderIntent, snapshot: MarketSnapshot, context: StrategyContext, values: Values
    ) -> Decision:
        phase = account_phase(context.account.net_liquidation, self.s)
        values["phase"] = phase
        if phase < 1:
            return Decision.block(
                "phase_0", f"NLV {context.account.net_liquidation:,.0f} is below phase 1: monitor only"
            )
        return Decision.ok()

    def _extreme_regime(
        self, intent: OrderIntent, snapshot: MarketSnapshot, context: StrategyContext, values: Values
    ) -> Decision:
        regime = vix_regime(snapshot.vix, self.s)
        values["vix"], values["regime"] = snapshot.vix, regime.name
        if regime is Regime.EXTREME and any(leg.ratio < 0 and leg.contract.is_call for leg in intent.legs):
            return Decision.block(
                "regime_extreme_calls",
                f"VIX {snapshot.vix} is EXTREME (or unknown): only put-side premium selling may open",
            )
        return Decision.ok()

    # --- rules on the (possibly reduced) size ----------------------------------------------------
    def _position_risk(
        self, intent: OrderIntent, snapshot: MarketSnapshot, context: StrategyContext, values: Values
    ) -> Decision:
        nlv = context.account.net_liquidation
        risk = intent.max_loss_per_unit * intent.quantity
        limit = self.s.risk_max_position_risk * nlv
        values.update({"max_loss": risk, "risk_limit": limit})
        if not math.isfinite(risk) or risk <= 0:
            return Decision.block("max_position_risk", f"max loss {risk!r} is not a positive number")
        if risk > limit:
            return Decision.block(
                "max_position_risk",
                f"max loss ${risk:,.0f} exceeds {self.s.risk_max_position_risk:.0%} of NLV (${limit:,.0f})",
            )
        return Decision.ok()

    def _margin(
        self, intent: OrderIntent, snapshot: MarketSnapshot, context: StrategyContext, values: Values
    ) -> float:
        if "margin" not in values or values.get("margin_quantity") != intent.quantity:
            values["margin"] = context.margin_required(intent.legs, intent.quantity, snapshot)
            values["margin_quantity"] = intent.quantity
        return float(values["margin"])

    def _buying_power(
        self, intent: OrderIntent, snapshot: MarketSnapshot, context: StrategyContext, values: Values
    ) -> Decision:
        account = context.account
        nlv = account.net_liquidation
        needed = self._margin(intent, snapshot, context, values)
        cap = max_bp_fraction(nlv, snapshot.vix, self.s) * nlv
        after = account.buying_power_used + needed
        values.update({"bp_used": account.buying_power_used, "bp_after": after, "bp_cap": cap})
        if not math.isfinite(needed) or needed < 0:
            return Decision.block("bp_unknown", f"margin requirement {needed!r} is not usable")
        if after > cap:
            return Decision.block(
                "bp_cap",
                f"buying power after trade ${after:,.0f} exceeds cap ${cap:,.0f} "
                f"(phase {account_phase(nlv, self.s)}, VIX {snapshot.vix})",
            )
        return Decision.ok()

    def _strategy_budget(
        self, intent: OrderIntent, snapshot: MarketSnapshot, context: StrategyContext, values: Values
    ) -> Decision:
        nlv = context.account.net_liquidation
        share = self._shares.get(intent.strategy, self.s.risk_strategy_bp_default_share)
        factor = self.state.guard.size_factor(intent.strategy, snapshot.time.date(), self.s)
        budget = share * factor * max_bp_fraction(nlv, snapshot.vix, self.s) * nlv
        used = self._view(snapshot, context).strategy_margin(intent.strategy, context.margin_required)
        after = used + self._margin(intent, snapshot, context, values)
        values.update({"strategy_bp_used": used, "strategy_bp_after": after, "strategy_budget": budget})
        if after > budget:
            return Decision.block(
                "strategy_budget",
                f"{intent.strategy} would use ${after:,.0f} of buying power > its budget ${budget:,.0f} "
                f"({share:.0%} of the allowed BP" + (f", x{factor:.2f} reduced size)" if factor < 1 else ")"),
            )
        return Decision.ok()

    def _correlation(
        self, intent: OrderIntent, snapshot: MarketSnapshot, context: StrategyContext, values: Values
    ) -> Decision:
        if _intraday(intent, snapshot):
            return Decision.ok("intraday", "an intraday entry is outside the overnight correlation caps")
        view = self._view(snapshot, context)
        phase = account_phase(context.account.net_liquidation, self.s)
        values["correlation_counts"] = ",".join(
            f"{k}={v}" for k, v in sorted(view.correlation.per_group.items())
        )
        return check_correlation(intent, view.correlation, phase, vix_regime(snapshot.vix, self.s), self.s)

    def _greeks(
        self, intent: OrderIntent, snapshot: MarketSnapshot, context: StrategyContext, values: Values
    ) -> Decision:
        view = self._view(snapshot, context)
        try:
            before = view.greeks()
            trade = legs_greeks(intent.legs, intent.quantity, snapshot.chains, self._betas)
        except GreeksUnknown as exc:
            return Decision.block("greeks_unknown", f"portfolio Greeks cannot be computed: {exc}")
        values.update({f"before_{k}": v for k, v in _named(before).items()})
        values.update({f"trade_{k}": v for k, v in _named(trade).items()})
        limits = Limits.for_nlv(context.account.net_liquidation, self.s)
        values.update({"gamma_after": before.gamma_1pct + trade.gamma_1pct, "gamma_limit": limits.gamma})
        if _intraday(intent, snapshot):  # only the gamma limit, on the portfolio after the trade
            trade = Greeks(gamma_1pct=trade.gamma_1pct)
            before = Greeks(gamma_1pct=before.gamma_1pct)
        decision = check_greeks(before, trade, limits)
        if not decision.approved:
            advice = hedge_suggestions(before + trade, limits, view.portfolio_greeks(), snapshot)
            values["hedge"] = "; ".join(advice)
        return decision

    def _stress(
        self, intent: OrderIntent, snapshot: MarketSnapshot, context: StrategyContext, values: Values
    ) -> Decision:
        """The portfolio's worst stress loss after the trade within its share of NLV; a trade that
        lowers a loss already beyond it (a hedge) is never blocked by it."""
        view = self._view(snapshot, context)
        try:
            before = view.stress(self._scenarios)
            trade = positions_of([(intent.legs, intent.quantity)], snapshot.chains)
            after = stress_loss([*view.positions(), *trade], snapshot.time, self._scenarios)
        except StressUnknown as exc:
            return Decision.block("stress_unknown", f"portfolio stress loss cannot be computed: {exc}")
        limit = self.s.risk_max_stress_nlv * context.account.net_liquidation
        values.update({"stress_before": before.loss, "stress_after": after.loss, "stress_limit": limit})
        if breaches_limit(before, after, limit):
            return Decision.block(
                "stress_limit",
                f"stress loss after the trade ${after.loss:,.0f} ({after.describe()}) exceeds "
                f"{self.s.risk_max_stress_nlv:.0%} of NLV (${limit:,.0f}); before it ${before.loss:,.0f}",
            )
        return Decision.ok()


def _named(g: Greeks) -> dict[str, float]:
    """The Greeks by their limits' names (the risk event's ``before_delta`` is beta-weighted)."""
    return {"delta": g.bw_delta_1pct, "gamma": g.gamma_1pct, "vega": g.vega_1pt, "theta": g.theta_day}


def _intraday(intent: OrderIntent, snapshot: MarketSnapshot) -> bool:
    """Every leg expires today: opened and closed the same day (the 0DTE condor)."""
    return all(leg.contract.expiry <= snapshot.time.date() for leg in intent.legs)


_APPROVAL_NOTES = ("stress_before", "stress_after", "stress_limit", "gamma_after", "gamma_limit")


def _approval_notes(values: Values) -> dict[str, float]:
    """The figures an approval was judged on, kept with the position for audits (``gate_*``)."""
    return {f"gate_{k}": float(values[k]) for k in _APPROVAL_NOTES if k in values}
