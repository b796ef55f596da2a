"""Versioned state, journal, crash recovery and reconciliation (see ``persistence.manager``)."""

from persistence.codec import StateError
from persistence.manager import StateManager, is_persistable

__all__ = ["StateError", "StateManager", "is_persistable"]
