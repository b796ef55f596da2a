"""The one port every engine implements (LEAN adapter, offline sim), plus the shapes of the
pluggable layers the orchestrator drives.  Nothing here knows about an engine."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

from core.types import (
    AccountState,
    ComboOrder,
    Decision,
    GroupUpdate,
    Leg,
    MarketSnapshot,
    OrderEvent,
    OrderIntent,
    PositionGroup,
)


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class Clock(Protocol):
    def now(self) -> datetime: ...


class TradingCalendar(Protocol):
    """Exchange sessions in US/Eastern naive datetimes."""

    def is_trading_day(self, day: date) -> bool: ...

    def session_open(self, day: date) -> datetime | None: ...

    def session_close(self, day: date) -> datetime | None: ...

    def is_early_close(self, day: date) -> bool: ...


class StateStore(Protocol):
    """Key/bytes storage (LEAN ObjectStore or a file store).  Writes must be atomic per key."""

    def save(self, key: str, data: bytes) -> None: ...

    def load(self, key: str) -> bytes | None: ...


class Platform(Clock, Protocol):
    """Everything the trading system needs from an engine."""

    @property
    def calendar(self) -> TradingCalendar: ...

    @property
    def store(self) -> StateStore: ...

    @property
    def is_live(self) -> bool: ...

    def snapshot(self) -> MarketSnapshot: ...

    def account(self) -> AccountState: ...

    def margin_required(self, legs: Sequence[Leg], quantity: int, snapshot: MarketSnapshot) -> float:
        """Initial margin / buying power ``quantity`` units of ``legs`` would use, in dollars."""
        ...

    def submit_combo(self, order: ComboOrder) -> None:
        """Send a combo limit order; outcomes arrive later through ``TradingSystem.on_order_event``."""
        ...

    def cancel(self, tag: str) -> None: ...

    def liquidate(self, symbol: str, quantity: float, tag: str) -> None:
        """Market order for ``quantity`` (signed) of a stock / futures holding (assignment flatten);
        its outcome arrives as an order event of ``tag``."""
        ...

    def open_order_tags(self) -> Sequence[str]: ...

    def known_order_tags(self) -> Collection[str] | None:
        """Every order tag the engine has accepted (its order history), or None if it keeps none:
        a restart re-attaches an order sent just before a crash instead of sending it twice."""
        ...

    def pending_events(self) -> Sequence[OrderEvent]:
        """Order events the engine holds for the system, oldest first (not yet delivered)."""
        ...

    def consumed(self, event: OrderEvent) -> None:
        """The system has applied ``event`` (the first pending one): the engine may forget it."""
        ...

    def notify(self, severity: Severity, title: str, message: str) -> None: ...

    def log(self, message: str) -> None: ...


class Strategy(Protocol):
    """Pure decision logic: proposes entries and management exits; never orders."""

    name: str

    def propose(self, snapshot: MarketSnapshot, context: StrategyContext) -> Sequence[OrderIntent]: ...

    def manage(
        self, snapshot: MarketSnapshot, group: PositionGroup, context: StrategyContext
    ) -> OrderIntent | None: ...


class StrategyContext(Protocol):
    """Read-only view of the account and book a strategy may consult."""

    @property
    def account(self) -> AccountState: ...

    @property
    def calendar(self) -> TradingCalendar: ...

    def open_groups(self, strategy: str | None = None) -> Sequence[PositionGroup]: ...

    def groups_opened_on(self, day: date, strategy: str) -> Sequence[PositionGroup]: ...

    def closed_groups(self, strategy: str) -> Sequence[PositionGroup]:
        """Closed groups of ``strategy`` (roll successors look up what they replace)."""
        ...

    def new_group_id(self, strategy: str) -> str: ...

    def margin_required(self, legs: Sequence[Leg], quantity: int, snapshot: MarketSnapshot) -> float: ...

    def skip(self, strategy: str, code: str, message: str) -> None:
        """A scheduled entry check that proposes nothing says why (recorded once per strategy,
        reason and day): no silent skips."""
        ...


class RiskGate(Protocol):
    def evaluate(
        self, intent: OrderIntent, snapshot: MarketSnapshot, context: StrategyContext
    ) -> Decision: ...


class RiskMonitor(Protocol):
    """Continuous risk rules run each step before strategies manage positions (``risk.monitors``).

    ``on_step`` returns closing intents the orchestrator must send (pin risk, assignment, ...); it
    may re-label groups in ``book`` and close a group that has nothing left to trade through
    ``close(group, exit_price, fees, when, reason)``.  ``on_trade_closed`` hears every closed trade.
    """

    def on_step(
        self,
        snapshot: MarketSnapshot,
        context: StrategyContext,
        book: Any,
        close: Callable[[PositionGroup, float, float, datetime, str], None],
    ) -> Sequence[OrderIntent]: ...

    def on_trade_closed(self, group: PositionGroup) -> None: ...

    def request_reset(self, source: str) -> None:
        """An operator asked for a manual reset of the breakers (applied at the next step)."""
        ...

    def request_exits(self, symbols: Sequence[str], reason: str) -> None:
        """Close every open group holding one of ``symbols`` at the next step (a margin call)."""
        ...


class SystemObserver(Protocol):
    """Watches the system after every step and every close (monitoring); never decides anything."""

    def after_step(self, system: Any) -> None: ...

    def after_end_of_day(self, day: date, system: Any) -> None: ...


class EnginePart(Protocol):
    """A piece one engine adds to the step loop (``core.loop``): live LEAN's restored-order
    matching, unconfirmed-order and holdings watches, the Tastytrade link.  The sim has none."""

    def on_start(self, system: Any) -> None:
        """Once, right after the system recovered its state."""
        ...

    def on_step(self, system: Any) -> None:
        """Every step, after the held order events and before the system decides."""
        ...

    def on_brokerage_disconnect(self, system: Any) -> None: ...

    def on_brokerage_reconnect(self, system: Any) -> None: ...

    def stop(self) -> None:
        """The algorithm ends: release threads and sockets."""
        ...


class Executor(Protocol):
    """Turns intents into engine orders and engine order events into group updates."""

    def submit(self, intent: OrderIntent, snapshot: MarketSnapshot) -> None: ...

    def on_step(self, snapshot: MarketSnapshot) -> Sequence[GroupUpdate]: ...

    def on_order_event(
        self, event: OrderEvent, snapshot: MarketSnapshot | None = None
    ) -> Sequence[GroupUpdate]:
        """``snapshot``: the market as the event arrives (execution prices from what it is given)."""
        ...

    def is_working(self, group_id: str) -> bool: ...


class EventSink(Protocol):
    """Receives every consequential event (trades, risk decisions, orders) for logs and reports."""

    def record(self, kind: str, time: datetime, payload: Mapping[str, Any]) -> None: ...


class MarginModel(Protocol):
    """Buying power an order would use, from the engine's own model (LEAN's or the sim's)."""

    def margin_required(self, legs: Sequence[Leg], quantity: int, snapshot: MarketSnapshot) -> float: ...


S = TypeVar("S")


class Stateful(Protocol[S]):
    """A component whose state survives restarts: one typed dataclass value.  It never touches the
    state store itself; ``persistence`` journals, snapshots and restores the value."""

    def state(self) -> S:
        """The current state (read at once; it may be the component's live value)."""
        ...

    def restore(self, state: S) -> None:
        """Continue from ``state`` exactly: the same decisions as if the process had never stopped."""
        ...


@dataclass(frozen=True)
class StatePart(Generic[S]):
    """One part of the system's state: its name in the saved state, its type and its owner, and
    optionally the owner's change stamp: a cheap value that differs whenever the state may have
    changed (a counter bumped by every mutation), so an unchanged part is not encoded again."""

    name: str
    type: type[S]
    owner: Stateful[S]
    version: Callable[[], object] | None = None


class StateKeeper(Protocol):
    """What ``TradingSystem`` asks of the persistence layer (``persistence.StateManager``)."""

    def recover(self, system: Any) -> None:
        """Rebuild every part from snapshot + journal; bad state is kept aside and means safe mode."""
        ...

    def begin_step(self) -> bool:
        """Reconcile once after a start; False if this step already completed before a restart."""
        ...

    def admit(self, event: OrderEvent) -> bool:
        """False for an order event already applied before a restart (delivered twice)."""
        ...

    def commit(self, kind: str) -> None:
        """A stable point (step done, event applied, expiries settled): make the state durable."""
        ...

    def checkpoint(self) -> None:
        """Full snapshot and journal compaction (end of day)."""
        ...
