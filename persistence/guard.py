"""The platform execution talks to: every order and cancel is journaled before the engine sees it.

After a restart the system re-runs the interrupted work deterministically; an order or cancel it
re-derives that the journal shows was already sent is not sent again when the engine already has
it (re-attached by tag), and is sent when the crash came before it reached the engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.ports import StateStore
from core.types import ComboOrder

if TYPE_CHECKING:
    from persistence.manager import StateManager


class GuardedPlatform:
    def __init__(self, platform: Any, manager: StateManager) -> None:
        self._platform = platform
        self._manager = manager

    def __getattr__(self, name: str) -> Any:
        return getattr(self._platform, name)

    @property
    def store(self) -> StateStore:
        return self._manager.kv

    def submit_combo(self, order: ComboOrder) -> None:
        if self._manager.before_submit(order):
            self._platform.submit_combo(order)

    def cancel(self, tag: str) -> None:
        if self._manager.before_cancel(tag):
            self._platform.cancel(tag)
