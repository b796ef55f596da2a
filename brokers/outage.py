"""What to do while LEAN's brokerage connection is down: pause, hold, then reconcile first.

On disconnect, new entries stop and intents are held, each with a time to live: an order built
on a 10-minute-old snapshot must not go out after a reconnect as if nothing happened.  On
reconnect nothing is released until a reconciliation has run (the account may have changed
while we were blind: fills, assignments, manual trades).  A clean reconciliation releases the
intents still within their TTL; a dirty one halts (fail closed) and drops them with a reason,
leaving the decision to the recovery rules and a person.  Every drop is a typed, explained
outcome; time is whatever the caller passes (the engine clock), never the wall clock.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from core.types import Decision, OrderIntent


class BrokerageState(StrEnum):
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    RECONCILING = "reconciling"  # reconnected, waiting for a reconciliation result
    HALTED = "halted"  # reconciliation found differences: fail closed until cleared


@dataclass(frozen=True, slots=True)
class HeldIntent:
    intent: OrderIntent
    held_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class DroppedIntent:
    intent: OrderIntent
    code: str  # "intent_expired", "reconcile_mismatch", "hold_full"
    message: str
    time: datetime


class OutageGuard:
    def __init__(self, ttl: timedelta = timedelta(minutes=5), max_held: int = 50, history: int = 500):
        if ttl <= timedelta(0) or max_held < 1:
            raise ValueError("ttl must be positive and max_held >= 1")
        self.ttl, self.max_held = ttl, max_held
        self.state = BrokerageState.CONNECTED
        self.since: datetime | None = None
        self.reason = ""
        self._held: list[HeldIntent] = []
        self._released: list[OrderIntent] = []  # cleared by reconciliation, not yet taken
        self._undelivered: list[DroppedIntent] = []  # dropped, not yet reported to the executor
        self.dropped: deque[DroppedIntent] = deque(maxlen=history)
        self.outages = 0
        self._link_up = True  # LEAN's brokerage connection, whatever the reconciliation state

    @property
    def held(self) -> tuple[HeldIntent, ...]:
        return tuple(self._held)

    @property
    def brokerage_up(self) -> bool:
        """LEAN's brokerage connection is up (reconciled or not)."""
        return self._link_up

    def is_held(self, group_id: str) -> bool:
        return any(h.intent.group_id == group_id for h in self._held) or any(
            i.group_id == group_id for i in self._released
        )

    def on_disconnect(self, now: datetime, message: str = "") -> None:
        self._link_up = False
        if self.state is BrokerageState.CONNECTED:
            self.outages += 1
            self.since = now
        if self.state is not BrokerageState.HALTED:
            self.state = BrokerageState.DISCONNECTED
        self.reason = message or "brokerage disconnected"

    def on_reconnect(self, now: datetime) -> None:
        """Reconnected: still paused until ``on_reconciled``."""
        self._link_up = True
        if self.state is BrokerageState.DISCONNECTED:
            self.state = BrokerageState.RECONCILING
            self.reason = "reconnected; reconciliation pending"

    def on_reconciled(self, ok: bool, now: datetime, summary: str = "") -> list[OrderIntent]:
        """Feed the reconciliation outcome (positions match: ``ReconcileReport.positions_ok``).  Returns intents to send now."""
        self.expire(now)
        held, self._held = self._held, []
        if not ok:
            self.state = BrokerageState.HALTED
            self.reason = f"reconciliation mismatch: {summary}" if summary else "reconciliation mismatch"
            for h in held:
                self._drop(h.intent, "reconcile_mismatch", self.reason, now)
            return []
        if not self._link_up:  # a reconciliation while still disconnected releases nothing
            if self.state is BrokerageState.HALTED:
                self.state, self.reason = BrokerageState.DISCONNECTED, "brokerage disconnected"
            self._held = held
            return []
        self.state, self.since, self.reason = BrokerageState.CONNECTED, None, ""
        released = [h.intent for h in held]
        self._released.extend(released)
        return released

    def take_released(self) -> list[OrderIntent]:
        """Intents a clean reconciliation released, each handed out once."""
        out, self._released = self._released, []
        return out

    def take_dropped(self) -> list[DroppedIntent]:
        """Intents dropped since the last call (expired, refused, hold full), each handed out once."""
        out, self._undelivered = self._undelivered, []
        return out

    def clear_halt(self, now: datetime) -> None:
        """Recovery rules or an operator resolved the differences (a later clean reconciliation
        does the same through ``on_reconciled``)."""
        if self.state is BrokerageState.HALTED:
            self.state, self.since, self.reason = BrokerageState.CONNECTED, None, ""

    def submit(self, intent: OrderIntent, now: datetime) -> Decision:
        """``approved`` means send it now; otherwise it was held or refused (see the code)."""
        self.expire(now)
        if self.state is BrokerageState.CONNECTED:
            return Decision.ok("brokerage_connected", "send")
        if self.state is BrokerageState.HALTED:
            self._drop(intent, "reconcile_mismatch", self.reason, now)
            return Decision.block("brokerage_halted", self.reason)
        if len(self._held) >= self.max_held:
            self._drop(intent, "hold_full", f"{self.max_held} intents already held", now)
            return Decision.block("hold_full", f"{self.max_held} intents already held during the outage")
        self._held.append(HeldIntent(intent, now, now + self.ttl))
        return Decision.block("held_outage", f"held until reconnect and reconciliation (TTL {self.ttl})")

    def expire(self, now: datetime) -> list[DroppedIntent]:
        keep, out = [], []
        for h in self._held:
            if now >= h.expires_at:
                out.append(
                    self._drop(h.intent, "intent_expired", f"held {now - h.held_at} > TTL {self.ttl}", now)
                )
            else:
                keep.append(h)
        self._held = keep
        return out

    def entries_allowed(self, now: datetime) -> Decision:
        if self.state is BrokerageState.CONNECTED:
            return Decision.ok("brokerage_connected", "brokerage connected and reconciled")
        return Decision.block(f"brokerage_{self.state.value}", self.reason or self.state.value)

    def down_for(self, now: datetime) -> timedelta:
        return timedelta(0) if self.since is None else now - self.since

    def _drop(self, intent: OrderIntent, code: str, message: str, now: datetime) -> DroppedIntent:
        d = DroppedIntent(intent, code, message, now)
        self.dropped.append(d)
        self._undelivered.append(d)
        return d
