"""Continuous risk monitors, run once per step before strategies manage their positions.

Each step: apply a manual reset if one was asked for; feed the circuit breaker the NLV; watch
underlyings for jumps and open legs for stuck quotes; alert once a day when VIX, an underlying or a
held contract's quote fails the data rules (positions are then marked from their last good quotes);
detect assignments (re-label the group, flatten what was delivered, alert); force out what the
expiry rules say must close now; alert once per breach when the portfolio's Greeks are outside
their limits, with hedge suggestions, and once a day when the market has taken the portfolio's
stress loss (``core.stress``) past its limit.  Closed trades come back through ``on_trade_closed`` and
update the per-strategy pause and size cut.

The monitors' memory is one typed value (``risk.state.RiskState``, shared with the gate): the
system's persistence saves and restores it with everything else (``state`` / ``restore``); the
monitors never touch a store.  A manual reset comes from the ``risk_breaker_reset`` parameter or
an operator request the persistence layer hands over (``request_reset``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from core.book import Book
from core.closing import close_intent
from core.futures_root import futures_root
from core.greek_limits import Limits, hedge_suggestions
from core.portfolio_greeks import BetaTable, GreeksUnknown
from core.ports import Platform, Severity, StrategyContext
from core.quote_screen import QuoteScreen, raw_chains
from core.settings import Settings, parse_ex_dividends
from core.types import GroupStatus, MarketSnapshot, OrderIntent, PositionGroup
from risk.assignment import ASSIGNED_SUFFIX, delivered_holdings, find_shortfalls, relabel
from risk.data_quality import check_underlying, check_vix
from risk.events import Action, RiskEvent, RiskLog
from risk.expiry import expiry_reason
from risk.portfolio import PortfolioCache
from risk.state import RiskState
from risk.stress_watch import stress_breach

CloseFn = Callable[[PositionGroup, float, float, datetime, str], None]
_FLATTEN_RETRY = timedelta(minutes=15)


class RiskMonitors:
    def __init__(
        self,
        settings: Settings,
        platform: Platform,
        state: RiskState,
        log: RiskLog,
        portfolio: PortfolioCache | None = None,
        screen: QuoteScreen | None = None,
    ) -> None:
        self.s = settings
        self.screen = screen or QuoteScreen(settings)
        self.platform = platform
        self.risk = state  # shared with the gate
        self.log = log
        self.dividends = parse_ex_dividends(settings.risk_ex_dividends)
        self._portfolio = (
            portfolio if portfolio is not None else PortfolioCache(BetaTable.from_settings(settings))
        )
        self._requested: dict[str, str] = {}  # symbol -> exit reason (request_exits)
        self._traded = _traded_underlyings(settings)

    # --- hooks the orchestrator calls --------------------------------------------------------------
    def on_step(
        self, snapshot: MarketSnapshot, context: StrategyContext, book: Book, close: CloseFn
    ) -> Sequence[OrderIntent]:
        now = snapshot.time
        self._manual_reset(now)
        self._emit_all(self.risk.breaker.observe(now, context.account.net_liquidation, self.s))
        watched = self._watched(snapshot, book)  # once per step: both watches read the same list
        self._watch_market(snapshot, watched)
        self._watch_data(snapshot, book, watched)
        exits = self._assignments(snapshot, context, book, close)
        exits += self._expiries(snapshot, context, book)
        exits += self._requested_exits(snapshot, book)
        self._greeks_alert(snapshot, book)
        self._stress_alert(snapshot, book)
        return exits

    def request_exits(self, symbols: Sequence[str], reason: str) -> None:
        """Close, at the next step and with our own orders, every open group holding one of
        ``symbols`` (an engine's margin call: LEAN's own margin orders are not sent)."""
        self._requested.update(dict.fromkeys(symbols, reason))

    def _requested_exits(self, snapshot: MarketSnapshot, book: Book) -> list[OrderIntent]:
        exits, wanted, self._requested = [], self._requested, {}
        for group in book.live():
            reason = next(
                (wanted[leg.contract.symbol] for leg in group.legs if leg.contract.symbol in wanted), None
            )
            if reason is not None and group.status is GroupStatus.OPEN:
                intent = close_intent(group, snapshot, reason, urgent=True)
                if intent is not None:
                    exits.append(intent)
        return exits

    def on_trade_closed(self, group: PositionGroup) -> None:
        when = group.closed_at or self.platform.now()
        pnl = self.risk.units.close(group)  # a part of an LT112 unit / IPMCC campaign waits for the rest
        if pnl is None:
            return
        events = self.risk.guard.on_trade_closed(group.strategy, pnl, when, self.s, self.platform.calendar)
        self._emit_all(events)
        for e in events:
            if e.action in (Action.PAUSE, Action.REDUCE_SIZE):
                self._alert(when, Severity.WARNING, f"Risk: {e.rule} ({e.strategy})", e.message)

    def request_reset(self, source: str) -> None:
        self.risk.alerts.reset_requests.append(source)

    # --- state -------------------------------------------------------------------------------------
    def state(self) -> RiskState:
        return self.risk

    def restore(self, state: RiskState) -> None:
        self.risk.replace_with(state)

    def _manual_reset(self, now: datetime) -> None:
        sources = []
        token = self.s.risk_breaker_reset
        if token and token != self.risk.reset_token:
            sources.append(f"parameter risk_breaker_reset={token!r}")
            self.risk.reset_token = token
        sources += self.risk.alerts.reset_requests
        self.risk.alerts.reset_requests = []
        if not sources:
            return
        source = " and ".join(sources)
        events = self.risk.breaker.reset(now, source) + self.risk.guard.reset(now, source)
        self.risk.jumps.halted_until = None
        events.append(RiskEvent(now, "manual_reset", Action.RESET, f"risk breakers reset by {source}", {}))
        self._emit_all(events)
        self._alert(now, Severity.WARNING, "Risk breakers reset manually", source)

    # --- market watch ------------------------------------------------------------------------------
    def _watch_market(self, snapshot: MarketSnapshot, watched: Sequence[str]) -> None:
        now = snapshot.time
        for symbol in watched:
            quote = snapshot.underlyings[symbol]
            message = self.risk.jumps.observe(symbol, quote.price, now, self.s, self.platform.calendar)
            if message:
                self._emit(
                    RiskEvent(
                        now,
                        "underlying_jump",
                        Action.HALT_ENTRIES,
                        f"{message}: new entries halted for {self.s.dq_jump_halt_minutes} min",
                        {
                            "symbol": symbol,
                            "price": quote.price,
                            "halted_until": str(self.risk.jumps.halted_until),
                        },
                    )
                )
                self._alert(now, Severity.WARNING, "Underlying jump: entries halted", message)
        if self.risk.alerts.day != now.date():
            self.risk.alerts.day = now.date()
            self.risk.quotes.forget_before(now - timedelta(days=1))
            self.risk.alerts.forget_before(now.date())

    def _watch_data(self, snapshot: MarketSnapshot, book: Book, watched: Sequence[str]) -> None:
        """Bad market data is alerted once per instrument (or position group) and day."""
        now = snapshot.time
        vix = check_vix(snapshot.vix)
        found = [] if vix.approved else [("VIX", vix.message)]
        for symbol in watched:
            decision = check_underlying(snapshot.underlyings[symbol])
            if not decision.approved:
                found.append((symbol, decision.message))
        chains = raw_chains(snapshot.chains)
        for group in book.live():
            quotes = [chains.quote(leg.contract) for leg in group.legs]
            problems = self.screen.bad_quotes([q for q in quotes if q is not None])  # missing: not data
            if group.status is not GroupStatus.OPENING and problems:
                found.append((group.group_id, "held, marked from last good quotes: " + "; ".join(problems)))
        for key, message in found:
            if f"dq:{key}:{now.date()}" in self.risk.alerts.reported:
                continue
            self.risk.alerts.reported.add(f"dq:{key}:{now.date()}")
            group = book.get(key)
            self._emit(RiskEvent(now, "bad_market_data", Action.ALERT, message, {"instrument": key},
                                 group.strategy if group else "", group.group_id if group else ""))  # fmt: skip
            self._alert(now, Severity.WARNING, f"Bad market data: {key}", message)

    def _watched(self, snapshot: MarketSnapshot, book: Book) -> list[str]:
        """Engines build quotes on demand, so only what we trade or hold is watched: held
        underlyings, the strategies' underlyings, and one listed contract per futures root (the
        contracts of a root move together; the held ones are watched individually)."""
        held = {leg.contract.underlying for g in book.live() for leg in g.legs}
        roots: set[str] = set()
        out = []
        for symbol in snapshot.underlyings:
            root = futures_root(symbol)
            if symbol in held or symbol in self._traded:
                out.append(symbol)
            elif root != symbol and root in self._traded and root not in roots:
                roots.add(root)
                out.append(symbol)
        return out

    # --- assignment --------------------------------------------------------------------------------
    def _assignments(
        self, snapshot: MarketSnapshot, context: StrategyContext, book: Book, close: CloseFn
    ) -> list[OrderIntent]:
        now = snapshot.time
        holdings = context.account.holdings
        exits: list[OrderIntent] = []
        delivered = delivered_holdings(holdings)
        by_group: dict[str, list] = {}
        for shortfall in find_shortfalls(book.live(), holdings):
            by_group.setdefault(shortfall.group.group_id, []).append(shortfall)
        for group_id, shortfalls in by_group.items():
            if not any(s.expected < 0 and s.underlying in delivered for s in shortfalls):
                # Contracts missing with nothing delivered is not an assignment: it is a book that
                # disagrees with the broker, which reconciliation owns.  Never guess a repair.
                self._unexplained(now, group_id, shortfalls)
                continue
            group = shortfalls[0].group
            relabelled = relabel(group, shortfalls)
            values = {s.symbol: f"{s.expected:+d} -> {s.held:+d}" for s in shortfalls}
            message = (
                f"{group_id}: assignment/exercise detected ({', '.join(f'{k} {v}' for k, v in values.items())}); "
                f"group re-labelled {relabelled.strategy}"
            )
            self._emit(
                RiskEvent(now, "assignment", Action.RELABEL, message, values, group.strategy, group_id)
            )
            self._alert(now, Severity.CRITICAL, "Assignment detected", message)
            if relabelled.legs:
                book.put(relabelled)
            else:
                close(relabelled, 0.0, 0.0, now, "assigned")
        for group in book.live():
            if group.strategy.endswith(ASSIGNED_SUFFIX) and group.status is GroupStatus.OPEN:
                intent = close_intent(group, snapshot, "assignment", urgent=True)
                if intent is None:
                    self._cannot_close(now, group, "assignment")
                else:
                    exits.append(intent)
                    self._emit(
                        RiskEvent(
                            now,
                            "assignment",
                            Action.FORCED_EXIT,
                            f"{group.group_id}: closing what the assignment left",
                            {"legs": len(group.legs)},
                            group.strategy,
                            group.group_id,
                        )
                    )
        self._flatten(now, delivered)
        return exits

    def _cannot_close(self, now: datetime, group: PositionGroup, reason: str) -> None:
        """A forced exit with a leg unquoted: alerted once a day per group, retried every step."""
        key = f"cannot_close:{group.group_id}:{now.date()}"
        if key in self.risk.alerts.reported:
            return
        self.risk.alerts.reported.add(key)
        message = f"{group.group_id}: {reason} exit due but a leg has no quote; retrying every step"
        self._emit(RiskEvent(now, reason, Action.ALERT, message, {}, group.strategy, group.group_id))
        self._alert(now, Severity.CRITICAL, f"Cannot close {group.group_id}", message)

    def _unexplained(self, now: datetime, group_id: str, shortfalls: list) -> None:
        key = f"unexplained:{group_id}"
        if key in self.risk.alerts.reported:
            return
        self.risk.alerts.reported.add(key)
        values = {s.symbol: f"{s.expected:+d} -> {s.held:+d}" for s in shortfalls}
        message = (
            f"{group_id}: holdings differ from the book ({values}) with no delivery: left to reconciliation"
        )
        self._emit(RiskEvent(now, "holdings_mismatch", Action.ALERT, message, values, shortfalls[0].group.strategy,
                             group_id))  # fmt: skip
        self._alert(now, Severity.CRITICAL, "Holdings differ from the book", message)

    def _flatten(self, now: datetime, delivered: dict[str, float]) -> None:
        for symbol in [s for s in self.risk.flattened if s not in delivered]:
            del self.risk.flattened[symbol]
        for symbol, quantity in sorted(delivered.items()):
            handled = self.risk.flattened.get(symbol)
            keep = self.s.risk_assignment_action == "keep"
            if handled and (keep or now - handled < _FLATTEN_RETRY):
                continue
            self.risk.flattened[symbol] = now
            values = {"symbol": symbol, "quantity": quantity, "action": self.s.risk_assignment_action}
            if keep:
                message = f"{symbol} {quantity:+g} delivered by assignment kept (risk_assignment_action=keep)"
                self._emit(RiskEvent(now, "assignment", Action.ALERT, message, values))
            else:  # journaled before it is sent, like every order (``persistence.guard``)
                message = f"{symbol} {quantity:+g} delivered by assignment: flattening at market"
                self._emit(RiskEvent(now, "assignment", Action.FLATTEN, message, values))
                self.platform.liquidate(symbol, -quantity, f"risk|flatten|{symbol}|{now:%Y%m%d%H%M}")
            self._alert(now, Severity.CRITICAL, "Assigned position", message)

    # --- expiry ------------------------------------------------------------------------------------
    def _expiries(self, snapshot: MarketSnapshot, context: StrategyContext, book: Book) -> list[OrderIntent]:
        exits = []
        for group in book.live():
            if group.status is not GroupStatus.OPEN or group.strategy.endswith(ASSIGNED_SUFFIX):
                continue
            for leg in group.legs:  # open legs feed the stuck-quote memory
                q = snapshot.chains.quote(leg.contract)
                if q is not None:
                    self.risk.quotes.observe(q, snapshot.time)
            found = expiry_reason(group, snapshot, context.calendar, self.s, self.dividends)
            if found is None:
                continue
            reason, values = found
            intent = close_intent(group, snapshot, reason, urgent=True)
            if intent is None:
                self._cannot_close(snapshot.time, group, reason)
                continue
            exits.append(intent)
            self._emit(
                RiskEvent(
                    snapshot.time,
                    reason,
                    Action.FORCED_EXIT,
                    f"{group.group_id}: {reason.replace('_', ' ')} on {values['contract']}; closing",
                    values,
                    group.strategy,
                    group.group_id,
                )
            )
        return exits

    # --- Greeks ------------------------------------------------------------------------------------
    def _greeks_alert(self, snapshot: MarketSnapshot, book: Book) -> None:
        groups = book.live()  # the same list the gate sees, so its view is built once per step
        if not groups:
            return
        view = self._portfolio.view(groups, snapshot)
        try:
            greeks = view.greeks()
        except GreeksUnknown:
            return  # the gate blocks entries on unknown Greeks; a missing quote is not a breach
        nlv = self.risk.breaker.last_nlv  # this step's NLV, as the breaker just saw it
        if nlv <= 0:
            return
        limits = Limits.for_nlv(nlv, self.s)
        breached = {k for k, v in limits.excess(greeks).items() if v > 1e-6}
        memory = self.risk.alerts
        if memory.greeks_day != snapshot.time.date():
            memory.greeks_day, memory.greeks_alerted = snapshot.time.date(), set()
        fresh = breached - memory.greeks_alerted  # alert once per Greek per day, not on every wobble
        if fresh:
            memory.greeks_alerted |= fresh
            advice = hedge_suggestions(greeks, limits, view.portfolio_greeks(), snapshot)
            message = f"portfolio Greeks outside limits ({', '.join(sorted(breached))}): " + "; ".join(advice)
            self._emit(
                RiskEvent(
                    snapshot.time, "greeks_limits", Action.ALERT, message, {**greeks.as_dict(), "nlv": nlv}
                )
            )
            self._alert(snapshot.time, Severity.WARNING, "Portfolio Greeks outside limits", message)

    def _stress_alert(self, snapshot: MarketSnapshot, book: Book) -> None:
        key, live, nlv = f"stress:{snapshot.time.date()}", book.live(), self.risk.breaker.last_nlv
        if key in self.risk.alerts.reported or not live:  # once a day
            return
        if (event := stress_breach(self._portfolio.view(live, snapshot), nlv, self.s)) is not None:
            self.risk.alerts.reported.add(key)
            self._emit(event)
            self._alert(
                snapshot.time, Severity.WARNING, "Portfolio stress loss beyond its limit", event.message
            )

    # --- output ------------------------------------------------------------------------------------
    def _emit(self, event: RiskEvent) -> None:
        self.log.emit(event)

    def _emit_all(self, events: Sequence[RiskEvent]) -> None:
        for e in events:
            self._emit(e)
            if e.action is Action.TRIP or e.rule == "nlv_invalid":
                self._alert(e.time, Severity.CRITICAL, f"Circuit breaker: {e.rule}", e.message)

    def _alert(self, when: datetime, severity: Severity, title: str, message: str) -> None:
        self.platform.notify(severity, title, message)
        if self.log.sink is not None:
            self.log.sink.record(
                "alert", when, {"severity": severity.value, "title": title, "message": message}
            )


def _traded_underlyings(s: Settings) -> frozenset[str]:
    """Underlyings (and futures roots) the strategies may open positions on."""
    names = {"SPX", s.zero_dte_underlying, *s.ipmcc_underlyings, *s.leap_underlyings, *s.strangle_underlyings}
    names.update(s.leap_phase4_underlyings)
    names.add(s.lt112_futures_root)
    return frozenset(names)
