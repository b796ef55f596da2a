"""One lock around every LEAN entry point.

In live trading LEAN calls the algorithm from several threads: scheduled events from the
"RealTime Thread" (Engine/RealTime/LiveTradingRealTimeHandler.cs), order events from the
transaction/brokerage threads (BrokerageTransactionHandler.cs HandleOrderEvents), data from the
algorithm thread.  The trading system is single-threaded, so ``main.py`` enters it only through
this gate.  Re-entrant: a backtest delivers order events inside the call that placed the order.
``on_contended`` (tests only) is called by a thread that finds the gate taken, before it waits.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType


class EntryGate:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.on_contended: Callable[[], None] | None = None

    def __enter__(self) -> EntryGate:
        if not self._lock.acquire(blocking=False):
            hook = self.on_contended
            if hook is not None:
                hook()
            self._lock.acquire()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._lock.release()
