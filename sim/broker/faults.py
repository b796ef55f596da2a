"""Fault injection for the simulated broker: the failures real brokers produce, at seeded rates.

``FaultyBroker`` is a ``SimBroker`` that, by the rates of a ``FaultConfig``:

- ``partial``: breaks a marketable combo: either only some legs fill and the rest are cancelled
  (a broken combo, reported as PARTIALLY_FILLED then CANCELLED, as LEAN reports leg orders), or
  only some units of every leg fill and the rest keeps working;
- ``reject``: rejects an order at submission (mostly transient messages, some permanent);
- ``drop``: swallows an order silently: no acknowledgement, no order at the broker;
- ``duplicate``: delivers a fill event twice (same event id);
- ``delay``: holds an acknowledgement back until the next processing round;
- ``cancel_race``: applies a cancel only after the next round of fills, so the order may fill.

Every event carries an ``event_id``.  What was injected is counted in ``injected``.  Its durable
state (``FaultState``) adds the fault generator's position and the events it holds back, so a
resumed run injects exactly the faults an uninterrupted one does.
"""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from core.types import ComboOrder, MarketSnapshot, OrderEvent, OrderStatus
from sim.broker.broker import BrokerState, SimBroker
from sim.broker.fees import TastytradeFees
from sim.broker.margin import SimMargin

TRANSIENT_REJECTS = ("broker busy, try again", "order routing timeout", "rate limit exceeded")
PERMANENT_REJECTS = ("order not permitted: account restricted",)


@dataclass(frozen=True, slots=True)
class FaultConfig:
    partial: float = 0.0
    reject: float = 0.0
    drop: float = 0.0
    duplicate: float = 0.0
    delay: float = 0.0
    cancel_race: float = 0.0
    permanent_share: float = 0.1  # of injected rejects, the share with a permanent reason
    seed: int = 0

    def __post_init__(self) -> None:
        bad = [
            f"{f.name}={getattr(self, f.name)!r}"
            for f in dataclasses.fields(self)
            if f.name != "seed" and not 0.0 <= getattr(self, f.name) <= 1.0
        ]
        if bad:
            raise ValueError("fault rates must be within [0, 1]: " + ", ".join(bad))

    @property
    def active(self) -> bool:
        return any(
            getattr(self, n) > 0 for n in ("partial", "reject", "drop", "duplicate", "delay", "cancel_race")
        )

    @classmethod
    def parse(cls, text: str) -> FaultConfig:
        """``partial=0.2,reject=0.05,drop=0.02[,duplicate=..,delay=..,cancel_race=..,seed=N]``."""
        names = {f.name for f in dataclasses.fields(cls)}
        values: dict[str, float | int] = {}
        for item in filter(None, (part.strip() for part in text.split(","))):
            name, sep, raw = item.partition("=")
            name = name.strip()
            if not sep or name not in names:
                raise ValueError(f"fault {item!r}: expected one of {', '.join(sorted(names))} as NAME=RATE")
            try:
                values[name] = int(raw) if name == "seed" else float(raw)
            except ValueError:
                raise ValueError(f"fault {item!r}: {raw.strip()!r} is not a number") from None
        return cls(**values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class FaultState(BrokerState):
    rng: tuple[int, tuple[int, ...], float | None] = (3, (), None)
    injected: dict[str, int] = field(default_factory=dict)
    held: tuple[OrderEvent, ...] = ()  # acknowledgements held back until the next round
    late_cancels: tuple[str, ...] = ()
    ids: int = 0


class FaultyBroker(SimBroker):
    state_type = FaultState

    def __init__(
        self, starting_cash: float, fees: TastytradeFees, margin: SimMargin, config: FaultConfig
    ) -> None:
        super().__init__(starting_cash, fees, margin)
        self.config = config
        self.rng = random.Random(config.seed)
        self.injected: Counter[str] = Counter()
        self._held: list[OrderEvent] = []
        self._late_cancels: list[str] = []
        self._ids = 0

    def state(self) -> FaultState:
        base = super().state()
        return FaultState(
            base.book, base.working, base.known_tags, self.rng.getstate(), dict(self.injected),
            tuple(self._held), tuple(self._late_cancels), self._ids,
        )  # fmt: skip

    def restore(self, state: BrokerState) -> None:
        super().restore(state)
        if not isinstance(state, FaultState):
            raise ValueError("a faulty broker needs its fault state")
        self.rng.setstate(state.rng)
        self.injected = Counter(state.injected)
        self._held, self._late_cancels, self._ids = list(state.held), list(state.late_cancels), state.ids

    def _roll(self, rate: float) -> bool:
        return rate > 0 and self.rng.random() < rate

    def submit(
        self, order: ComboOrder, now: datetime, snapshot: MarketSnapshot | None = None
    ) -> list[OrderEvent]:
        if self._roll(self.config.reject):
            self.injected["reject"] += 1
            permanent = self.rng.random() < self.config.permanent_share
            message = self.rng.choice(PERMANENT_REJECTS if permanent else TRANSIENT_REJECTS)
            return self._stamp([OrderEvent(order.tag, OrderStatus.REJECTED, now, message=message)])
        if self._roll(self.config.drop):
            self.injected["drop"] += 1
            return []
        events = super().submit(order, now, snapshot)
        if events and events[0].status is OrderStatus.SUBMITTED and self._roll(self.config.delay):
            self.injected["delay"] += 1
            self._held.extend(self._stamp(events))
            return []
        return self._stamp(events)

    def cancel(self, tag: str, now: datetime) -> list[OrderEvent]:
        if tag in self._working and tag not in self._late_cancels and self._roll(self.config.cancel_race):
            self.injected["cancel_race"] += 1
            self._late_cancels.append(tag)
            return []
        return self._stamp(super().cancel(tag, now))

    def process(self, snapshot: MarketSnapshot) -> list[OrderEvent]:
        events, self._held = self._held, []
        events += self._stamp(super().process(snapshot))
        late, self._late_cancels = self._late_cancels, []
        for tag in late:  # the cancel lands after this round's fills: the order may have filled
            events += self._stamp(super().cancel(tag, snapshot.time))
        out: list[OrderEvent] = []
        for event in events:
            out.append(event)
            if event.fills and self._roll(self.config.duplicate):
                self.injected["duplicate"] += 1
                out.append(event)
        return out

    def _fill(self, tag: str, order: ComboOrder, prices: list[float], now: datetime) -> list[OrderEvent]:
        if not self._roll(self.config.partial):
            return super()._fill(tag, order, prices, now)
        legs = order.legs
        if order.quantity > 1 and (len(legs) == 1 or self.rng.random() < 0.5):
            self.injected["partial_units"] += 1
            units = self.rng.randint(1, order.quantity - 1)
            part = dataclasses.replace(order, quantity=units)
            fills = self._book_fills(part, prices)
            working = self._working[tag]
            self._working[tag] = dataclasses.replace(
                working, order=dataclasses.replace(order, quantity=order.quantity - units)
            )
            return [OrderEvent(tag, OrderStatus.PARTIALLY_FILLED, now, fills=fills)]
        if len(legs) == 1:
            return super()._fill(tag, order, prices, now)
        self.injected["partial_legs"] += 1
        chosen = sorted(self.rng.sample(range(len(legs)), self.rng.randint(1, len(legs) - 1)))
        part = dataclasses.replace(order, legs=tuple(legs[i] for i in chosen))
        del self._working[tag]
        fills = self._book_fills(part, [prices[i] for i in chosen])
        return [
            OrderEvent(tag, OrderStatus.PARTIALLY_FILLED, now, fills=fills),
            OrderEvent(tag, OrderStatus.CANCELLED, now, message="broken combo: remaining legs cancelled"),
        ]

    def _stamp(self, events: list[OrderEvent]) -> list[OrderEvent]:
        out = []
        for event in events:
            self._ids += 1
            out.append(dataclasses.replace(event, event_id=f"sim-{self._ids}"))
        return out


def make_broker(
    starting_cash: float, fees: TastytradeFees, margin: SimMargin, faults: FaultConfig | None
) -> SimBroker:
    """A plain broker, or one that injects ``faults`` when any rate is set."""
    if faults is None or not faults.active:
        return SimBroker(starting_cash, fees, margin)
    return FaultyBroker(starting_cash, fees, margin, faults)
