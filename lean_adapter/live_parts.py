"""Live LEAN's own parts of the step loop (``core.ports.EnginePart``); a backtest and the sim
have none.

Tastytrade's LEAN brokerage rebuilds open orders without their tags after a restart, reports a
fill only once a whole order is Filled and never reports a rejection (Lean.Brokerages.Tastytrade
TastytradeBrokerage.Brokerage.cs), so live LEAN needs three things the sim does not:

* at start, LEAN's restored open orders matched to the journal's working orders
  (``lean_adapter.restored``);
* every step, an alert for each order the brokerage never answered within the deadline
  (``OrderFlow.watch``), and the engine's holdings compared with the book (the holdings watch,
  ``persistence.live_check``, given by ``main.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from core.types import Holding
from lean_adapter.restored import from_journal

if TYPE_CHECKING:
    from lean_adapter.platform import LeanPlatform


class HoldingsCheck(Protocol):
    def check(
        self,
        system: Any,
        working: Collection[str],
        holdings: Mapping[str, Holding],
        open_tags: Collection[str],
    ) -> bool: ...


class LiveOrders:
    """Restored orders at start; unconfirmed orders and the holdings watch every step."""

    def __init__(
        self,
        platform: LeanPlatform,
        working_orders: Callable[[], Mapping[str, Mapping[str, Any]]],
        holdings: HoldingsCheck,
    ) -> None:
        self._platform = platform
        self._working = working_orders  # the journal's working orders, by tag
        self._holdings = holdings

    def on_start(self, system: Any) -> None:
        self._platform.adopt_restored_orders(from_journal(self._working()))

    def on_step(self, system: Any) -> None:
        platform = self._platform
        platform.unconfirmed_orders()  # alerts once per order Tastytrade never answered
        tags = platform.open_order_tags()
        self._holdings.check(system, self._working(), platform.account().holdings, tags)

    def on_brokerage_disconnect(self, system: Any) -> None:
        pass

    def on_brokerage_reconnect(self, system: Any) -> None:
        pass

    def stop(self) -> None:
        pass


class StopsAtEnd:
    """A part that only releases something (the local health server) when the algorithm ends."""

    def __init__(self, stop: Callable[[], None]) -> None:
        self._stop = stop

    def on_start(self, system: Any) -> None:
        pass

    def on_step(self, system: Any) -> None:
        pass

    def on_brokerage_disconnect(self, system: Any) -> None:
        pass

    def on_brokerage_reconnect(self, system: Any) -> None:
        pass

    def stop(self) -> None:
        self._stop()
