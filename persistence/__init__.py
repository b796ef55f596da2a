"""The system's saved state: typed parts, journal, crash recovery and reconciliation (see
``persistence.manager``)."""

from persistence.codec import StateError
from persistence.manager import StateManager

__all__ = ["StateError", "StateManager"]
