"""The one step loop both engines drive.

``main.py`` forwards LEAN's events here (scheduled step, end of day, order events, margin call,
brokerage disconnect / reconnect, end of algorithm); the sim's engine calls the same methods for
its plain and its kill-safe runs.  Only what an engine alone has differs: its ``EnginePart``s
(live LEAN: restored orders, unconfirmed orders, the holdings watch, the Tastytrade link; the sim:
none) and what it does around the loop (the sim's broker fills between steps).

Each phase boundary is announced to the ``hear`` listeners by name (``PHASES``): the sim saves
its step's progress from them, and a test proves both engines pass the same phases.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date

from core.ports import EnginePart
from core.system import TradingSystem
from core.types import OrderEvent

STEP_PHASES = ("delivered", "stepping", "stepped", "answered", "observed")
END_OF_DAY_PHASES = ("expired", "delivered", "closed")
_DELIVERY_LIMIT = 1000

Listener = Callable[[str], None]


class EngineLoop:
    def __init__(self, system: TradingSystem, parts: Sequence[EnginePart] = ()) -> None:
        self.system = system
        self.parts = list(parts)
        self._listeners: list[Listener] = []
        self._started = False

    def hear(self, listener: Listener) -> None:
        """``listener`` is told every phase boundary as it is passed (``STEP_PHASES``, ...)."""
        self._listeners.append(listener)

    @property
    def started(self) -> bool:
        return self._started

    def start(self) -> None:
        """Recover the system (once), then let the engine's parts see the recovered state."""
        if self._started:
            return
        self._started = True
        self.system.start()
        for part in self.parts:
            part.on_start(self.system)

    def step(self, deliver_first: bool = True) -> None:
        """One scheduled step: the order events the engine holds, the engine's parts, the
        decisions, the answers to them, then the observers.  ``deliver_first=False`` resumes a
        step whose first delivery was done before a restart (the sim)."""
        self.start()
        system = self.system
        if deliver_first:
            self.deliver_pending()
            self._mark("delivered")
        for part in self.parts:
            part.on_step(system)
        self._mark("stepping")
        system.on_step()
        self._mark("stepped")
        self.deliver_pending()
        self._mark("answered")
        for observer in system.observers:
            observer.after_step(system)
        self._mark("observed")

    def end_of_day(self, day: date, settlement_prices: Mapping[str, float]) -> None:
        """After the close: expired groups settle at the given underlying prices, any order event
        that caused is applied, then the day's checkpoint and the observers.  Nothing before the
        loop started (LEAN still warming up)."""
        if not self._started:
            return
        system = self.system
        system.on_expiry(day, dict(settlement_prices))
        self._mark("expired")
        self.deliver_pending()
        self._mark("delivered")
        system.on_end_of_day(day)
        self._mark("closed")

    def deliver_pending(self) -> None:
        """Hand the engine's pending order events over one at a time, each forgotten by the engine
        only once applied (handling one may cause another)."""
        platform = self.system.platform
        for _ in range(_DELIVERY_LIMIT):
            pending = platform.pending_events()
            if not pending:
                return
            event = pending[0]
            self.system.on_order_event(event)
            platform.consumed(event)
        raise RuntimeError("order events kept generating new events: a feedback loop in execution")

    # --- events the engine forwards --------------------------------------------------------------
    def order_events(self, events: Sequence[OrderEvent]) -> None:
        """Order events the engine reports as they happen (LEAN's brokerage threads)."""
        for event in events:
            self.system.on_order_event(event)

    def margin_call(self, symbols: Sequence[str]) -> None:
        self.system.on_margin_call(symbols)

    def brokerage_disconnect(self) -> None:
        self.system.on_brokerage_disconnect()
        for part in self.parts:
            part.on_brokerage_disconnect(self.system)

    def brokerage_reconnect(self) -> None:
        self.system.on_brokerage_reconnect()
        for part in self.parts:  # the Tastytrade link keeps entries paused until it reconciled
            part.on_brokerage_reconnect(self.system)

    def end(self) -> None:
        """The algorithm ends: a last checkpoint (if it ever started), then the parts stop."""
        if self._started:
            self.system.save_state()
        for part in self.parts:
            part.stop()

    def _mark(self, phase: str) -> None:
        for listener in self._listeners:
            listener(phase)
