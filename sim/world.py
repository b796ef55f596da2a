"""The sim's world: the simulated brokerage and the market clock, durable like a brokerage's own
records (``<state-dir>/world``), separate from the trading system's state (``<state-dir>/system``).

It holds the broker's state (through the broker's own ``state`` / ``restore``), the order events
the broker produced that the system has not consumed yet (the outbox), where the market is (day,
step, phase of the step), the equity curve, and the identity of the run it belongs to.  It is
saved after every broker action and every consumed event, so it is always at least as far along as
the system; the system then restarts the way it would in LEAN: recovery from its journal and
reconciliation with the broker ("down for 0 s").  A plain run keeps the world in memory only.

A world that cannot be used - unreadable, of another run, a cursor outside the run - is refused
with one line (``WorldError``): the brokerage's records are never guessed at.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from core.ports import StateStore
from core.types import OrderEvent
from persistence.codec import StateError, decode, encode
from persistence.typed import DecodeError, from_plain, to_plain
from sim.broker import SimBroker
from sim.platform import SimPlatform

WORLD_KEY = "world.json"
WORLD_KIND = "sim-world"
WORLD_SCHEMA = 2
PHASES = ("start", "processed", "stepping", "stepped", "settled")


class WorldError(Exception):
    """The saved world cannot be used (one line for the operator)."""


@dataclass(frozen=True)
class EquityPoint:
    day: date
    net_liquidation: float
    cash: float
    buying_power_used: float
    vix: float | None = None  # at the close: the buying-power cap of the day depends on it


@dataclass
class Cursor:
    """Where the run is: the day (index into its trading days), the step of that day, and how far
    into the step (``PHASES``); ``steps`` counts every step done."""

    day: int = 0
    step: int = 0
    phase: str = "start"
    steps: int = 0

    def __post_init__(self) -> None:
        for name in ("day", "step", "steps"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} {getattr(self, name)} is negative")
        if self.phase not in PHASES:
            raise ValueError(f"phase {self.phase!r} is not one of {', '.join(PHASES)}")


@dataclass
class WorldState:
    identity: dict[str, str]
    cursor: Cursor
    outbox: list[OrderEvent] = field(default_factory=list)
    equity: list[EquityPoint] = field(default_factory=list)


class World:
    def __init__(
        self, store: StateStore | None, broker: SimBroker, platform: SimPlatform, identity: Mapping[str, str]
    ) -> None:
        self.store, self.broker, self.platform = store, broker, platform
        self.identity = dict(identity)
        self.cursor = Cursor()
        self.equity: list[EquityPoint] = []
        platform.on_change = self.save

    def load(self) -> bool:
        """Continue a saved world; False if there is none (a fresh run)."""
        raw = self.store.load(WORLD_KEY) if self.store is not None else None
        if raw is None:
            return False
        try:
            _, body = decode(raw, WORLD_KIND, WORLD_SCHEMA, WORLD_KEY)
            if not isinstance(body, dict) or "broker" not in body:
                raise DecodeError("", "no broker in the world")
            broker = from_plain(self.broker.state_type, body.pop("broker"), "broker")
            world = from_plain(WorldState, body)
        except StateError as exc:
            raise WorldError(f"sim world state unusable ({exc.code}): {exc}") from None
        except DecodeError as exc:
            raise WorldError(f"sim world state unusable (invalid_types): {WORLD_KEY}: {exc}") from None
        mismatch = [
            f"{k} {world.identity.get(k, '?')!r} (saved) != {v!r} (now)"
            for k, v in sorted(self.identity.items())
            if world.identity.get(k) != v
        ]
        if mismatch:
            raise WorldError("the state dir belongs to another run: " + "; ".join(mismatch))
        try:
            self.broker.restore(broker)
        except (ValueError, TypeError) as exc:
            raise WorldError(f"sim world state unusable (invalid_types): broker: {exc}") from None
        self.platform.queue(world.outbox)
        self.cursor, self.equity = world.cursor, world.equity
        return True

    def check_cursor(self, days: int, steps_of: Any) -> None:
        """Refuse a cursor outside the run (a tampered or foreign world)."""
        c = self.cursor
        if c.day > days or (c.day < days and c.step > len(steps_of(c.day))):
            raise WorldError(f"sim world cursor day {c.day} step {c.step} is outside this run ({days} days)")

    def save(self) -> None:
        if self.store is None:
            return
        state = WorldState(self.identity, self.cursor, list(self.platform.pending_events()), self.equity)
        body = {**to_plain(state), "broker": to_plain(self.broker.state())}
        self.store.save(WORLD_KEY, encode(WORLD_KIND, WORLD_SCHEMA, body))
