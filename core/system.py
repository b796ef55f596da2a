"""The orchestrator both engines drive.

Each step: let execution work its orders, let strategies manage what is open (exits are never
gated by entry rules), then let strategies propose entries, each through the risk gate (which
also reads the pause reasons).  Engine events (fills, expiries, end of day, brokerage outages)
come in through the ``on_*`` methods, which ``core.loop.EngineLoop`` (the one loop LEAN and the
sim both drive) calls.
The system's state is the parts ``state_parts`` lists (book, pauses, execution, risk, ...): the
``StateKeeper`` (``persistence``) alone saves, restores and reconciles them.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from core.book import Book, BookState, split_into_parts
from core.decisions import DecisionMemory, DecisionState
from core.pauses import Pauses, PauseState
from core.ports import (
    EventSink,
    Executor,
    Platform,
    RiskGate,
    RiskMonitor,
    Severity,
    StateKeeper,
    StatePart,
    Strategy,
    SystemObserver,
)
from core.quote_screen import QuoteScreen
from core.settings import Settings
from core.types import (
    AccountState,
    GroupStatus,
    GroupUpdate,
    Leg,
    MarketSnapshot,
    OrderEvent,
    OrderIntent,
    PositionGroup,
    Purpose,
    UpdateKind,
)

ENGINE = "engine"  # owner of the pause the engine's brokerage connection raises


class _Context:
    """The read-only view strategies and the gate get for one step."""

    def __init__(self, system: TradingSystem, account: AccountState) -> None:
        self._system = system
        self._account = account

    @property
    def account(self) -> AccountState:
        return self._account

    @property
    def calendar(self) -> Any:
        return self._system.platform.calendar

    def open_groups(self, strategy: str | None = None) -> Sequence[PositionGroup]:
        return self._system.book.live(strategy)

    def groups_opened_on(self, day: date, strategy: str) -> Sequence[PositionGroup]:
        return self._system.book.opened_on(day, strategy)

    def closed_groups(self, strategy: str) -> Sequence[PositionGroup]:
        return self._system.book.closed(strategy)

    def new_group_id(self, strategy: str) -> str:
        return self._system.book.new_group_id(strategy, self._system.platform.now())

    def margin_required(self, legs: Sequence[Leg], quantity: int, snapshot: MarketSnapshot) -> float:
        return self._system.platform.margin_required(legs, quantity, snapshot)

    def skip(self, strategy: str, code: str, message: str) -> None:
        self._system.record_decision(
            "entry_skipped", {"strategy": strategy, "code": code, "message": message}
        )


class TradingSystem:
    def __init__(
        self,
        platform: Platform,
        settings: Settings,
        strategies: Sequence[Strategy],
        gate: RiskGate,
        executor: Executor,
        sink: EventSink,
        state: StateKeeper,
        monitors: RiskMonitor | None = None,
        pauses: Pauses | None = None,
        parts: Sequence[StatePart[Any]] = (),
        observers: Sequence[SystemObserver] = (),
        screen: QuoteScreen | None = None,
    ) -> None:
        self.platform = platform
        self.settings = settings
        self.strategies = {s.name: s for s in strategies}
        self.gate = gate
        self.executor = executor
        self.sink = sink
        self.book = Book()
        self.pauses = pauses if pauses is not None else Pauses()  # the gate reads the same set
        self.monitors = monitors  # risk monitors: breakers, pin/assignment exits (None = none)
        self.state = state  # persistence: snapshot + journal, recovery, reconciliation
        self.observers = list(observers)  # monitoring: after every step and every close
        self.screen = screen  # market-data sanity: marks from last good quotes, exits held on bad ones
        self._held_alerted: set[tuple[str, date]] = set()
        self.decisions = DecisionMemory()  # skips and blocks already recorded today
        self._parts = tuple(parts)
        self._started = False

    def state_parts(self) -> Sequence[StatePart[Any]]:
        """Everything the system must not lose, one typed part per stateful component."""
        return (
            StatePart("book", BookState, self.book, lambda: self.book.version),
            StatePart("pauses", PauseState, self.pauses, lambda: self.pauses.version),
            StatePart("decisions", DecisionState, self.decisions),
            *self._parts,
        )

    # --- engine events ---------------------------------------------------------------------------
    def start(self) -> None:
        """Recover (once): the state as of the last stable point, reconciled at the first step."""
        if self._started:
            return
        self._started = True
        self.state.recover(self)
        if self.pauses.clear(ENGINE):  # the engine only starts an algorithm with its brokerage up
            self._record("brokerage_connected_at_start", {})
        self._record("start", {"open_groups": len(self.book.live())})

    def on_step(self) -> None:
        if not self.state.begin_step():
            return  # this step completed before a restart
        snapshot = self._view()
        for update in self.executor.on_step(snapshot):
            self._apply(update)
        context = _Context(self, self.platform.account())
        if self.monitors is not None:
            for intent in self.monitors.on_step(snapshot, context, self.book, self._close):
                self._force_exit(intent, snapshot)
        self._manage(snapshot, context)
        self._enter(snapshot, context)
        self.state.commit("step")

    def on_order_event(self, event: OrderEvent) -> None:
        if not self.state.admit(event):
            return  # already applied before a restart
        self._record(
            "order_event", {"tag": event.tag, "status": event.status.value, "message": event.message}
        )
        for update in self.executor.on_order_event(event, self._view()):
            self._apply(update)
        self.state.commit("order_event")

    def on_expiry(self, day: date, settlement_prices: dict[str, float]) -> None:
        """Close groups whose legs have all expired, at intrinsic value of the settlement prices."""
        for group in list(self.book.live()):
            if group.status is GroupStatus.OPENING or any(leg.contract.expiry > day for leg in group.legs):
                continue
            missing = [
                leg.contract.underlying
                for leg in group.legs
                if leg.contract.underlying not in settlement_prices
            ]
            if missing:
                self._alert(
                    Severity.CRITICAL, "Expiry without settlement price", f"{group.group_id}: {missing}"
                )
                continue
            # The price per unit of buying the group back at intrinsic: its reversed legs' net value.
            exit_price = -sum(
                leg.ratio * leg.contract.intrinsic(settlement_prices[leg.contract.underlying])
                for leg in group.legs
            )
            self._close(group, exit_price=exit_price, fees=0.0, when=self.platform.now(), reason="expired")
        self.state.commit("expiry")

    def on_end_of_day(self, day: date) -> None:
        self.save_state()
        self._record("end_of_day", {"day": day.isoformat(), "open_groups": len(self.book.live())})
        for observer in self.observers:
            observer.after_end_of_day(day, self)

    def on_brokerage_disconnect(self) -> None:
        if self.pauses.add(ENGINE, "brokerage_disconnected", "brokerage disconnected"):
            self._alert(Severity.WARNING, "Brokerage disconnected", "new entries paused until reconnect")

    def on_margin_call(self, symbols: Sequence[str]) -> None:
        """The engine is about to liquidate ``symbols``: entries pause and the risk monitors close
        the groups holding them with our own tagged orders at the next step."""
        self.pauses.add(ENGINE, "margin_call", f"margin call on {list(symbols)}")
        self._alert(
            Severity.CRITICAL, "Margin call", f"entries paused; closing {list(symbols)} with our own orders"
        )
        if self.monitors is not None:
            self.monitors.request_exits(symbols, "margin_call")

    def on_brokerage_reconnect(self) -> None:
        self.pauses.clear(ENGINE, "brokerage_disconnected")
        self._record("brokerage_reconnect", {})

    def request_risk_reset(self, source: str) -> None:
        """An operator's manual reset of the risk breakers, applied at the monitors' next step."""
        if self.monitors is not None:
            self.monitors.request_reset(source)

    def save_state(self) -> None:
        self.state.checkpoint()

    # --- decisions -------------------------------------------------------------------------------
    def _manage(self, snapshot: MarketSnapshot, context: _Context) -> None:
        for group in self.book.live():
            if group.status is not GroupStatus.OPEN or self.executor.is_working(group.group_id):
                continue
            strategy = self.strategies.get(group.strategy)
            if strategy is None:
                continue
            intent = strategy.manage(snapshot, group, context)
            if intent is not None and not self._held_back(intent, snapshot):
                # The exit's trigger values (mark, profit, DTE...) stay with the group for audits.
                exit_notes = {f"exit_{k}": v for k, v in intent.notes.items()}
                notes = _in_stored_order({**group.notes, **exit_notes})
                self.book.put(dataclasses.replace(group, status=GroupStatus.CLOSING, notes=notes))
                self._record("exit_signal", _intent_payload(intent))
                self.executor.submit(intent, snapshot)

    def _enter(self, snapshot: MarketSnapshot, context: _Context) -> None:
        if not math.isfinite(context.account.net_liquidation):
            return  # nothing can be sized; the circuit breaker blocks entries and says why (nlv_invalid)
        for strategy in self.strategies.values():
            for intent in strategy.propose(snapshot, context):
                decision = self.gate.evaluate(intent, snapshot, context)
                payload = {**_intent_payload(intent), "code": decision.code, "message": decision.message}
                if not decision.approved:
                    self.record_decision("risk_block", payload)
                    continue
                if decision.quantity is not None:  # approved at a reduced size
                    intent = dataclasses.replace(intent, quantity=decision.quantity)
                    payload["quantity"] = intent.quantity
                if decision.notes:  # what the gate judged the entry on stays with it for audits
                    intent = dataclasses.replace(intent, notes={**intent.notes, **decision.notes})
                self._record("entry_approved", payload)
                self.book.put(
                    PositionGroup(
                        group_id=intent.group_id,
                        strategy=intent.strategy,
                        legs=intent.legs,
                        quantity=intent.quantity,
                        status=GroupStatus.OPENING,
                        max_loss_per_unit=intent.max_loss_per_unit,
                        notes=_in_stored_order(intent.notes),
                        campaign=intent.campaign,
                        part=intent.part,
                        parts=intent.parts,
                    )
                )
                self.executor.submit(intent, snapshot)

    def _apply(self, update: GroupUpdate) -> None:
        group = self.book.get(update.group_id)
        if group is None:
            self._alert(Severity.CRITICAL, "Update for unknown group", f"{update}")
            return
        if group.status in (GroupStatus.CLOSED, GroupStatus.ABANDONED):
            # e.g. the engine cancelling an exit order after the group expired.  A late fill would
            # change positions nobody tracks: that needs a human.
            if update.kind is UpdateKind.FILLED:
                self._alert(Severity.CRITICAL, "Fill for a finished group", f"{update}")
            self._record("late_update", {"group_id": group.group_id, "kind": update.kind.value})
            return
        if update.purpose is Purpose.OPEN:
            if update.kind is UpdateKind.FILLED:
                opened = dataclasses.replace(
                    group,
                    status=GroupStatus.OPEN,
                    quantity=update.quantity,
                    opened_at=update.time,
                    entry_price=update.net_price,
                    entry_fees=update.fees,
                )
                if group.parts:
                    self.book.remove(group.group_id)
                for member in split_into_parts(opened, update.leg_prices):
                    self.book.put(member)
                    self._record("group_opened", _group_payload(member))
            else:
                self.book.put(
                    dataclasses.replace(group, status=GroupStatus.ABANDONED, exit_reason=update.message)
                )
                self._record("entry_abandoned", {"group_id": group.group_id, "message": update.message})
        elif update.kind is UpdateKind.FILLED:
            self._close(group, update.net_price, update.fees, update.time, update.reason)
        else:
            # The exit did not fill: the group stays open and management will try again next step.
            self.book.put(dataclasses.replace(group, status=GroupStatus.OPEN))
            self._record("exit_unfilled", {"group_id": group.group_id, "message": update.message})

    def _close(
        self, group: PositionGroup, exit_price: float, fees: float, when: datetime, reason: str
    ) -> None:
        closed = dataclasses.replace(
            group,
            status=GroupStatus.CLOSED,
            closed_at=when,
            exit_price=exit_price,
            exit_fees=fees,
            exit_reason=reason,
        )
        self.book.put(closed)
        self._record("trade_closed", {**_group_payload(closed), "pnl": closed.realized_pnl()})
        if self.monitors is not None:
            self.monitors.on_trade_closed(closed)

    def _force_exit(self, intent: OrderIntent, snapshot: MarketSnapshot) -> None:
        """A risk monitor's exit: sent unless the group is already on its way out."""
        group = self.book.get(intent.group_id)
        if group is None or group.status is not GroupStatus.OPEN or self.executor.is_working(group.group_id):
            return
        if self._held_back(intent, snapshot):
            return
        self.book.put(dataclasses.replace(group, status=GroupStatus.CLOSING))
        self._record("exit_signal", {**_intent_payload(intent), "forced_by": "risk"})
        self.executor.submit(intent, snapshot)

    def _held_back(self, intent: OrderIntent, snapshot: MarketSnapshot) -> bool:
        """An exit whose legs' quotes fail the sanity rules is not sent (an order is never priced off
        a bad quote): the group stays open and the exit is asked for again next step.  Alerted once
        per group and day."""
        problems = [] if self.screen is None else self.screen.unpriceable(intent.legs, snapshot.chains)
        if not problems:
            return False
        key = (intent.group_id, snapshot.time.date())
        if key not in self._held_alerted:
            self._held_alerted = {k for k in self._held_alerted if k[1] == key[1]} | {key}
            message = (
                f"{intent.group_id}: {intent.reason} exit held until quotes are good: {'; '.join(problems)}"
            )
            self._record("exit_held", {**_intent_payload(intent), "problems": problems})
            self._alert(Severity.CRITICAL, "Exit held back: bad quotes", message)
        return True

    def _view(self) -> MarketSnapshot:
        """The market as strategies, risk and execution see it (bad quotes marked, not trusted)."""
        snapshot = self.platform.snapshot()
        return snapshot if self.screen is None else self.screen.view(snapshot)

    # --- output ----------------------------------------------------------------------------------
    def record_decision(self, kind: str, payload: dict[str, Any]) -> None:
        """An entry not taken (a strategy's skip, a gate's block): recorded once per strategy,
        reason and day, not at every step it is checked again."""
        if self.decisions.first(
            kind, str(payload["strategy"]), str(payload["code"]), self.platform.now().date()
        ):
            self._record(kind, payload)

    def _record(self, kind: str, payload: dict[str, Any]) -> None:
        self.sink.record(kind, self.platform.now(), payload)

    def _alert(self, severity: Severity, title: str, message: str) -> None:
        self.platform.notify(severity, title, message)
        self._record("alert", {"severity": severity.value, "title": title, "message": message})


def _intent_payload(intent: OrderIntent) -> dict[str, Any]:
    return {
        "group_id": intent.group_id,
        "strategy": intent.strategy,
        "purpose": intent.purpose.value,
        "reason": intent.reason,
        "quantity": intent.quantity,
        "reference_price": intent.reference_price,
        "legs": [f"{leg.ratio:+d} {leg.contract.symbol}" for leg in intent.legs],
    }


def _group_payload(group: PositionGroup) -> dict[str, Any]:
    return {"group": group}


def _in_stored_order(notes: Mapping[str, float]) -> dict[str, float]:
    """Notes by name, the order a restored group has (the state codec sorts keys), so a record of
    the group reads the same whether or not the run restarted in between."""
    return dict(sorted(notes.items()))
