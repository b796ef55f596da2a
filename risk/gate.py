"""Pre-trade gate for new entries.  Every rule returns a reason code; the first block wins.

Exits never pass through here: a rule that blocks risk-reducing trades would make things worse.
"""

from __future__ import annotations

from core.ports import StrategyContext, TradingCalendar
from core.regime import account_phase, max_bp_fraction
from core.settings import Settings
from core.types import Decision, MarketSnapshot, OrderIntent, Purpose
from risk.data_quality import check_entry_quote


class EntryGate:
    def __init__(self, settings: Settings, calendar: TradingCalendar, is_live: bool = False) -> None:
        self.s = settings
        self.calendar = calendar
        self.is_live = is_live

    def evaluate(self, intent: OrderIntent, snapshot: MarketSnapshot, context: StrategyContext) -> Decision:
        if intent.purpose is not Purpose.OPEN:
            return Decision.ok("exit", "exits are not gated")
        for rule in (self._calendar, self._quotes, self._phase, self._position_risk, self._buying_power):
            decision = rule(intent, snapshot, context)
            if not decision.approved:
                return decision
        return Decision.ok()

    def _calendar(self, intent: OrderIntent, snapshot: MarketSnapshot, context: StrategyContext) -> Decision:
        now = snapshot.time
        if not self.calendar.is_trading_day(now.date()):
            return Decision.block("calendar_closed", f"{now.date()} is not a trading day")
        close = self.calendar.session_close(now.date())
        if close is None or now >= close:
            return Decision.block("calendar_after_close", f"{now} is at or after the session close {close}")
        return Decision.ok()

    def _quotes(self, intent: OrderIntent, snapshot: MarketSnapshot, context: StrategyContext) -> Decision:
        for leg in intent.legs:
            quote = snapshot.chains.quote(leg.contract)
            if quote is None:
                return Decision.block("dq_missing", f"{leg.contract.symbol}: no quote")
            decision = check_entry_quote(quote, snapshot.time, self.s, self.is_live)
            if not decision.approved:
                return decision
        return Decision.ok()

    def _phase(self, intent: OrderIntent, snapshot: MarketSnapshot, context: StrategyContext) -> Decision:
        phase = account_phase(context.account.net_liquidation, self.s)
        if phase < 1:
            return Decision.block(
                "phase_0", f"NLV {context.account.net_liquidation:,.0f} is below phase 1: monitor only"
            )
        return Decision.ok()

    def _position_risk(
        self, intent: OrderIntent, snapshot: MarketSnapshot, context: StrategyContext
    ) -> Decision:
        nlv = context.account.net_liquidation
        risk = intent.max_loss_per_unit * intent.quantity
        limit = self.s.risk_max_position_risk * nlv
        if risk > limit:
            return Decision.block(
                "max_position_risk",
                f"max loss ${risk:,.0f} exceeds {self.s.risk_max_position_risk:.0%} of NLV (${limit:,.0f})",
            )
        return Decision.ok()

    def _buying_power(
        self, intent: OrderIntent, snapshot: MarketSnapshot, context: StrategyContext
    ) -> Decision:
        account = context.account
        nlv = account.net_liquidation
        needed = context.margin_required(intent.legs, intent.quantity, snapshot)
        cap = max_bp_fraction(nlv, snapshot.vix, self.s) * nlv
        after = account.buying_power_used + needed
        if after > cap:
            return Decision.block(
                "bp_cap",
                f"buying power after trade ${after:,.0f} exceeds cap ${cap:,.0f} "
                f"(phase {account_phase(nlv, self.s)}, VIX {snapshot.vix})",
            )
        return Decision.ok()
