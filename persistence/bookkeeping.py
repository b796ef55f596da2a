"""The persistence layer's own part of the state: steps done, events applied, counters, the open
incident (safe mode) and our orders the engine has not finished, as the acts journaled them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.types import ComboOrder, OrderEvent

SEEN_KEEP = 4000  # event digests remembered (far more than can be re-delivered after a crash)


@dataclass(frozen=True)
class Incident:
    """Why the system is in safe mode; cleared only when the operator acknowledges ``id``."""

    id: str
    code: str
    title: str
    evidence: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class WorkingOrder:
    order: ComboOrder
    cancel: bool = False  # a cancel has been sent


@dataclass
class Bookkeeping:
    last_step: datetime | None = None
    seen: list[str] = field(default_factory=list)  # digests of applied order events, oldest first
    counters: dict[str, int] = field(default_factory=dict)  # records by kind, risk blocks by code
    incident: Incident | None = None
    working: dict[str, WorkingOrder] = field(default_factory=dict)  # by tag
    seen_set: set[str] = field(default_factory=set, repr=False, metadata={"transient": True})

    def __post_init__(self) -> None:
        self.seen_set = set(self.seen)

    def see(self, digest: str) -> None:
        self.seen.append(digest)
        self.seen_set.add(digest)

    def trim(self) -> bool:
        if len(self.seen) <= SEEN_KEEP:
            return False
        self.seen = self.seen[-SEEN_KEEP:]
        self.seen_set = set(self.seen)
        return True

    def count(self, kind: str, payload: Mapping[str, Any]) -> None:
        self.counters[kind] = self.counters.get(kind, 0) + 1
        if kind == "risk_block":
            code = f"risk_block:{payload.get('code')}"
            self.counters[code] = self.counters.get(code, 0) + 1


def event_digest(event: OrderEvent) -> str:
    fills = [(f.contract.symbol, f.quantity, f.price, f.fee) for f in event.fills]
    text = json.dumps([event.tag, event.status.value, event.time.isoformat(), event.message, fills])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]
