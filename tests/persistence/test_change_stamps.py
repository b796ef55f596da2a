"""Commits skip parts whose change stamp stands still and write only the changed fields of flat
frozen values; both must leave recovery exact (the speed-ups of issue 17 may not lose a change)."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from core.book import Book
from core.pauses import Pauses
from core.ports import StatePart
from persistence.delta import apply, diff
from persistence.manager import StateManager
from persistence.typed import Encoder
from sim.store import MemoryStore
from testing.persistence_fakes import FakeEngine, FakeSystem, condor_group


@dataclasses.dataclass(frozen=True)
class Mark:
    symbol: str
    price: float
    time: datetime


@dataclasses.dataclass(frozen=True)
class Basket:
    marks: tuple[Mark, ...]


@dataclasses.dataclass
class Marks:
    last: dict[str, Mark] = dataclasses.field(default_factory=dict)


def test_a_changed_flat_frozen_value_writes_only_its_changed_fields_and_applies_exactly():
    encoder = Encoder()
    t, later = datetime(2025, 3, 7, 10, 0), datetime(2025, 3, 7, 10, 5)
    old = encoder.encode(Marks({"SPX": Mark("SPX", 1.0, t), "QQQ": Mark("QQQ", 2.0, t)}))
    new = encoder.encode(Marks({"SPX": Mark("SPX", 1.5, t), "QQQ": Mark("QQQ", 2.5, later)}))
    ops = diff(old, new, atoms=encoder.atoms)
    # one field: one set; several fields of one value: one put (the symbol is not written again)
    assert ops == [
        ["set", ["last", "SPX", "price"], 1.5],
        ["put", ["last", "QQQ"], {"price": 2.5, "time": later.isoformat()}],
    ]
    assert apply(old, ops) == new


def test_a_frozen_value_holding_a_list_is_not_flat():
    encoder = Encoder()
    t = datetime(2025, 3, 7, 10, 0)
    plain = encoder.encode(Basket((Mark("SPX", 1.0, t),)))
    assert id(plain) not in encoder.atoms
    assert id(plain["marks"][0]) in encoder.atoms


class Counted:
    """A component with a change stamp that counts how often its state is read."""

    def __init__(self) -> None:
        self.value = Marks()
        self.version = 0
        self.reads = 0

    def state(self) -> Marks:
        self.reads += 1
        return self.value

    def restore(self, state: Marks) -> None:
        self.value = state
        self.version += 1

    def mark(self, symbol: str, price: float) -> None:
        self.value.last[symbol] = Mark(symbol, price, datetime(2025, 3, 7, 10, 0))
        self.version += 1


def _system(owner: Counted) -> FakeSystem:
    return FakeSystem(FakeEngine(), (StatePart("marks", Marks, owner, lambda: owner.version),))


def test_a_part_whose_stamp_stands_still_is_not_read_and_a_moved_stamp_is_journaled():
    store = MemoryStore()
    owner = Counted()
    manager = StateManager(store)
    manager.recover(_system(owner))
    owner.mark("SPX", 1.0)
    manager.commit("order_event")
    reads = owner.reads
    for _ in range(3):
        manager.commit("order_event")
    assert owner.reads == reads  # unchanged stamp: the saved form is reused, not re-encoded
    owner.mark("SPX", 2.0)
    manager.commit("order_event")
    again = Counted()
    StateManager(store).recover(_system(again))
    assert again.value.last["SPX"].price == 2.0


def test_book_and_pauses_move_their_stamps_on_every_change():
    book, pauses = Book(), Pauses()
    seen = [book.version]
    group = condor_group()
    book.put(group)
    seen.append(book.version)
    book.new_group_id("zero_dte", datetime(2025, 3, 7, 10, 0))
    seen.append(book.version)
    book.remove(group.group_id)
    seen.append(book.version)
    book.restore(book.state())
    seen.append(book.version)
    assert len(set(seen)) == len(seen)
    stamps = [pauses.version]
    pauses.add("risk", "halt", "halted")
    stamps.append(pauses.version)
    pauses.add("risk", "halt", "halted")  # no change: the stamp may stand still
    pauses.clear("risk")
    stamps.append(pauses.version)
    pauses.restore(pauses.state())
    stamps.append(pauses.version)
    assert len(set(stamps)) == len(stamps)


def test_a_flat_tuple_is_reused_by_identity_but_one_holding_a_list_is_encoded_afresh():
    encoder = Encoder()
    t = datetime(2025, 3, 7, 10, 0)
    record = (1.0, 2.0, t)
    first = encoder.encode({"SPX": record})
    assert encoder.encode({"SPX": record})["SPX"] is first["SPX"]  # unchanged record: not re-encoded
    legs = [1.0]
    holder = (legs, t)
    encoder.encode({"SPX": holder})
    legs.append(2.0)  # the tuple is the same object, its list changed in place
    assert encoder.encode({"SPX": holder}) == {"SPX": [[1.0, 2.0], t.isoformat()]}


@dataclasses.dataclass(frozen=True)
class Held:
    mark: Mark
    bid: float


def test_a_value_inside_a_reused_frozen_value_stays_remembered_for_its_next_holder():
    """A quote unchanged for a step is reused whole (its contract not visited); when it then
    changes, its contract - the same object - is still remembered, and a new one is encoded."""
    encoder = Encoder()
    t = datetime(2025, 3, 7, 10, 0)
    spx = Mark("SPX", 1.0, t)
    first = encoder.encode({"q": Held(spx, 1.0)})
    held = Held(spx, 1.0)
    encoder.encode({"q": held})
    encoder.encode({"q": held})  # reused whole: ``spx`` is not visited in this call
    moved = encoder.encode({"q": Held(spx, 2.0)})
    assert moved["q"]["mark"] is first["q"]["mark"]  # not encoded again
    other = encoder.encode({"q": Held(Mark("SPX", 9.0, t), 2.0)})
    assert other == {"q": {"mark": {"symbol": "SPX", "price": 9.0, "time": t.isoformat()}, "bid": 2.0}}
