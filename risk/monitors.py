"""Continuous risk monitors, run once per step before strategies manage their positions.

Each step: apply a manual reset if one was asked for; feed the circuit breaker the NLV; watch
underlyings for jumps and open legs for stuck quotes; alert once a day when VIX, an underlying or a
held contract's quote fails the data rules (positions are then marked from their last good quotes);
detect assignments (re-label the group, flatten what was delivered, alert); force out what the
expiry rules say must close now; alert once per breach when the portfolio's Greeks are outside
their limits, with hedge suggestions, and once a day when the market has taken the portfolio's
stress loss (``core.stress``) past its limit.  Closed trades come back through ``on_trade_closed`` and
update the per-strategy pause and size cut.

The state (``risk.state.RiskState``) is loaded from the platform's state store on the first step and
saved at the end of a step that changed what decisions depend on, and every 30 minutes for the
values that move every step.  Unreadable state fails closed: a breaker trip only a manual reset
clears, and a critical alert.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta

from core.book import Book
from core.ports import Platform, Severity, StrategyContext
from core.quote_screen import QuoteScreen, raw_chains
from core.settings import Settings, parse_ex_dividends
from core.types import GroupStatus, MarketSnapshot, OrderIntent, PositionGroup
from risk.assignment import ASSIGNED_SUFFIX, Liquidator, delivered_holdings, find_shortfalls, relabel
from risk.data_quality import check_underlying, check_vix
from risk.events import Action, RiskEvent, RiskLog
from risk.expiry import close_intent, expiry_reason
from risk.greeks import Betas, GreeksUnknown, Limits, hedge_suggestions
from risk.portfolio import PortfolioCache
from risk.state import RESET_KEY, STATE_KEY, RiskState
from risk.stress_watch import stress_breach

CloseFn = Callable[[PositionGroup, float, float, datetime, str], None]
_FLATTEN_RETRY = timedelta(minutes=15)
_VOLATILE_SAVE = 30  # minutes
_VOLATILE = {"last_prices"}  # top-level fields that move every step
_VOLATILE_BREAKER = {"last_nlv", "peak"}


class RiskMonitors:
    def __init__(
        self,
        settings: Settings,
        platform: Platform,
        state: RiskState,
        log: RiskLog,
        screen: QuoteScreen | None = None,
    ) -> None:
        self.s = settings
        self.screen = screen or QuoteScreen(settings)
        self.platform = platform
        self.state = state
        self.log = log
        self.dividends = parse_ex_dividends(settings.risk_ex_dividends)
        self._betas = Betas(settings)
        if state.portfolio is None:
            state.portfolio = PortfolioCache(self._betas)
        self._loaded = False
        self._saved = b""
        self._saved_parsed: tuple[bytes, dict] = (b"", {})
        self._reported: set[str] = set()  # one alert per unexplained difference
        self._requested: dict[str, str] = {}  # symbol -> exit reason (request_exits)
        self._traded = _traded_underlyings(settings)
        self._greeks_alerted: set[str] = set()
        self._greeks_day: date | None = None
        self._day: date | None = None

    # --- hooks the orchestrator calls --------------------------------------------------------------
    def on_step(
        self, snapshot: MarketSnapshot, context: StrategyContext, book: Book, close: CloseFn
    ) -> Sequence[OrderIntent]:
        now = snapshot.time
        if not self._loaded:
            self._load(now)
        self._manual_reset(now)
        self._emit_all(self.state.breaker.observe(now, context.account.net_liquidation, self.s))
        self._watch_market(snapshot, book)
        self._watch_data(snapshot, book)
        exits = self._assignments(snapshot, context, book, close)
        exits += self._expiries(snapshot, context, book)
        exits += self._requested_exits(snapshot, book)
        self._greeks_alert(snapshot, book)
        self._stress_alert(snapshot, book)
        self._save(now)
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
                intent = close_intent(group, snapshot, reason)
                if intent is not None:
                    exits.append(intent)
        return exits

    def on_trade_closed(self, group: PositionGroup) -> None:
        when = group.closed_at or self.platform.now()
        pnl = self.state.units.close(group)  # a part of an LT112 unit / IPMCC campaign waits for the rest
        if pnl is None:
            self._save(when, force=True)
            return
        events = self.state.guard.on_trade_closed(group.strategy, pnl, when, self.s, self.platform.calendar)
        self._emit_all(events)
        for e in events:
            if e.action in (Action.PAUSE, Action.REDUCE_SIZE):
                self._alert(when, Severity.WARNING, f"Risk: {e.rule} ({e.strategy})", e.message)
        if events:
            self._save(when, force=True)

    # --- state -------------------------------------------------------------------------------------
    def _load(self, now: datetime) -> None:
        self._loaded = True
        raw = self.platform.store.load(STATE_KEY)
        if not raw:
            return
        try:
            self.state = _replace_state(self.state, RiskState.from_json(json.loads(raw.decode("utf-8"))))
        except (ValueError, UnicodeDecodeError) as exc:
            self.platform.store.save(STATE_KEY + ".corrupt", raw)
            # A reset token already set before the restart must not clear this: a *new* value is needed.
            self.state.reset_token = self.s.risk_breaker_reset
            event = self.state.breaker.trip_manual(
                now,
                "state_unreadable",
                f"{STATE_KEY} unreadable ({exc}); entries blocked until a manual reset",
            )
            self._emit(event)
            self._alert(now, Severity.CRITICAL, "Risk state unreadable; entries blocked", event.message)

    def _save(self, now: datetime, force: bool = False) -> None:
        """At the end of a step that changed a decision-relevant part of the state (trips, pauses,
        baselines, halts, resets, flattens), and every ``_VOLATILE_SAVE`` of engine time for the
        values that move every step (last NLV, intraday peak, last prices).  The schedule depends
        only on the saved document and the clock, so a restarted run saves exactly when an
        uninterrupted one would."""
        doc = self.state.to_json()
        previous = self._saved_doc()
        volatile_due = previous is None or _bucket(now) != _bucket(
            datetime.fromisoformat(previous["saved_at"])
        )
        if not force and previous is not None and _stable(doc) == _stable(previous) and not volatile_due:
            return
        data = json.dumps({**doc, "saved_at": now.isoformat()}, sort_keys=True).encode("utf-8")
        self.platform.store.save(STATE_KEY, data)
        self._saved = data

    def _saved_doc(self) -> dict | None:
        if not self._saved:
            return None
        if self._saved_parsed[0] is not self._saved:
            self._saved_parsed = (self._saved, json.loads(self._saved.decode("utf-8")))
        return self._saved_parsed[1]

    def _manual_reset(self, now: datetime) -> None:
        sources = []
        token = self.s.risk_breaker_reset
        if token and token != self.state.reset_token:
            sources.append(f"parameter risk_breaker_reset={token!r}")
            self.state.reset_token = token
        request = self.platform.store.load(RESET_KEY)
        if request and request.strip():
            sources.append(f"state key {RESET_KEY}")
            self.platform.store.save(RESET_KEY, b"")
        if not sources:
            return
        source = " and ".join(sources)
        events = self.state.breaker.reset(now, source) + self.state.guard.reset(now, source)
        self.state.jumps.halted_until = None
        events.append(RiskEvent(now, "manual_reset", Action.RESET, f"risk breakers reset by {source}", {}))
        self._emit_all(events)
        self._alert(now, Severity.WARNING, "Risk breakers reset manually", source)

    # --- market watch ------------------------------------------------------------------------------
    def _watch_market(self, snapshot: MarketSnapshot, book: Book) -> None:
        now = snapshot.time
        for symbol in self._watched(snapshot, book):
            quote = snapshot.underlyings[symbol]
            message = self.state.jumps.observe(symbol, quote.price, now, self.s, self.platform.calendar)
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
                            "halted_until": str(self.state.jumps.halted_until),
                        },
                    )
                )
                self._alert(now, Severity.WARNING, "Underlying jump: entries halted", message)
        if self._day != now.date():
            self._day = now.date()
            self.state.quotes.forget_before(now - timedelta(days=1))

    def _watch_data(self, snapshot: MarketSnapshot, book: Book) -> None:
        """Bad market data is alerted once per instrument (or position group) and day."""
        now = snapshot.time
        vix = check_vix(snapshot.vix)
        found = [] if vix.approved else [("VIX", vix.message)]
        for symbol in self._watched(snapshot, book):
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
            if f"dq:{key}:{now.date()}" in self._reported:
                continue
            self._reported.add(f"dq:{key}:{now.date()}")
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
            root = _strip_month(symbol)
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
                intent = close_intent(group, snapshot, "assignment")
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
        if key in self._reported:
            return
        self._reported.add(key)
        message = f"{group.group_id}: {reason} exit due but a leg has no quote; retrying every step"
        self._emit(RiskEvent(now, reason, Action.ALERT, message, {}, group.strategy, group.group_id))
        self._alert(now, Severity.CRITICAL, f"Cannot close {group.group_id}", message)

    def _unexplained(self, now: datetime, group_id: str, shortfalls: list) -> None:
        key = f"unexplained:{group_id}"
        if key in self._reported:
            return
        self._reported.add(key)
        values = {s.symbol: f"{s.expected:+d} -> {s.held:+d}" for s in shortfalls}
        message = (
            f"{group_id}: holdings differ from the book ({values}) with no delivery: left to reconciliation"
        )
        self._emit(RiskEvent(now, "holdings_mismatch", Action.ALERT, message, values, shortfalls[0].group.strategy,
                             group_id))  # fmt: skip
        self._alert(now, Severity.CRITICAL, "Holdings differ from the book", message)

    def _flatten(self, now: datetime, delivered: dict[str, float]) -> None:
        for symbol in [s for s in self.state.flattened if s not in delivered]:
            del self.state.flattened[symbol]
        for symbol, quantity in sorted(delivered.items()):
            handled = self.state.flattened.get(symbol)
            keep = self.s.risk_assignment_action == "keep"
            if handled and (keep or now - datetime.fromisoformat(handled) < _FLATTEN_RETRY):
                continue
            self.state.flattened[symbol] = now.isoformat()
            values = {"symbol": symbol, "quantity": quantity, "action": self.s.risk_assignment_action}
            if keep:
                message = f"{symbol} {quantity:+g} delivered by assignment kept (risk_assignment_action=keep)"
                self._emit(RiskEvent(now, "assignment", Action.ALERT, message, values))
            elif isinstance(self.platform, Liquidator):
                message = f"{symbol} {quantity:+g} delivered by assignment: flattening at market"
                self._emit(RiskEvent(now, "assignment", Action.FLATTEN, message, values))
                self.platform.liquidate(symbol, -quantity, f"risk|flatten|{symbol}|{now:%Y%m%d%H%M}")
            else:
                message = f"{symbol} {quantity:+g} delivered by assignment: this engine cannot flatten it, do it by hand"
                self._emit(RiskEvent(now, "assignment", Action.ALERT, message, values))
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
                    self.state.quotes.observe(q, snapshot.time)
            found = expiry_reason(group, snapshot, context.calendar, self.s, self.dividends)
            if found is None:
                continue
            reason, values = found
            intent = close_intent(group, snapshot, reason)
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
        try:
            greeks = self.state.portfolio.view(groups, snapshot).greeks()
        except GreeksUnknown:
            return  # the gate blocks entries on unknown Greeks; a missing quote is not a breach
        nlv = self.state.breaker.last_nlv  # this step's NLV, as the breaker just saw it
        if nlv <= 0:
            return
        limits = Limits.for_nlv(nlv, self.s)
        breached = {k for k, v in limits.excess(greeks).items() if v > 1e-6}
        if self._greeks_day != snapshot.time.date():
            self._greeks_day, self._greeks_alerted = snapshot.time.date(), set()
        fresh = breached - self._greeks_alerted  # alert once per Greek per day, not on every wobble
        if fresh:
            self._greeks_alerted |= fresh
            advice = hedge_suggestions(greeks, limits, snapshot)
            message = f"portfolio Greeks outside limits ({', '.join(sorted(breached))}): " + "; ".join(advice)
            self._emit(
                RiskEvent(
                    snapshot.time, "greeks_limits", Action.ALERT, message, {**greeks.as_dict(), "nlv": nlv}
                )
            )
            self._alert(snapshot.time, Severity.WARNING, "Portfolio Greeks outside limits", message)

    def _stress_alert(self, snapshot: MarketSnapshot, book: Book) -> None:
        key, live, nlv = f"stress:{snapshot.time.date()}", book.live(), self.state.breaker.last_nlv
        if key in self._reported or not live:  # once a day
            return
        if (event := stress_breach(self.state.portfolio.view(live, snapshot), nlv, self.s)) is not None:
            self._reported.add(key)
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


def _replace_state(current: RiskState, loaded: RiskState) -> RiskState:
    """Copy loaded values into the shared state object in place (the gate holds a reference)."""
    current.breaker, current.guard, current.jumps = loaded.breaker, loaded.guard, loaded.jumps
    current.reset_token, current.flattened = loaded.reset_token, loaded.flattened
    return current


def _strip_month(symbol: str) -> str:
    """``ESH26`` -> ``ES`` (futures contract -> root); anything else unchanged."""
    return symbol[:-3] if len(symbol) > 3 and symbol[-2:].isdigit() and symbol[-3].isalpha() else symbol


def _traded_underlyings(s: Settings) -> frozenset[str]:
    """Underlyings (and futures roots) the strategies may open positions on."""
    names = {"SPX", s.zero_dte_underlying, *s.ipmcc_underlyings, *s.leap_underlyings, *s.strangle_underlyings}
    for optional in ("leap_phase4_underlyings",):
        names.update(getattr(s, optional, ()))
    names.add(s.lt112_futures_root)
    return frozenset(names)


def _bucket(t: datetime) -> tuple[object, int]:
    return t.date(), (t.hour * 60 + t.minute) // _VOLATILE_SAVE


def _stable(doc: dict) -> dict:
    """The state without the values that move every step (and without the save time)."""
    out = {k: v for k, v in doc.items() if k not in _VOLATILE and k != "saved_at"}
    out["breaker"] = {k: v for k, v in doc["breaker"].items() if k not in _VOLATILE_BREAKER}
    return out
