"""A store no process will recover from (the sim's plain backtest): commits and acts journal nothing
and only advance the bookkeeping, and each checkpoint snapshots the state, so what a checkpoint
leaves recovers to exactly the state a journaling manager leaves - and the system decides the same
(``sim.engine``)."""

from __future__ import annotations

import dataclasses

from core.ports import StatePart
from persistence.manager import StateManager
from sim.store import MemoryStore
from testing.persistence_fakes import FakeEngine, FakeSystem


@dataclasses.dataclass
class Tape:
    prices: dict[str, float] = dataclasses.field(default_factory=dict)


class Owner:
    def __init__(self) -> None:
        self.value = Tape()

    def state(self) -> Tape:
        return self.value

    def restore(self, state: Tape) -> None:
        self.value = state


def _run(recoverable: bool) -> tuple[MemoryStore, StateManager, list[int]]:
    """Ten steps of a part changing every step (with an order event's commit and an act in
    between), then a checkpoint; the journal's size after each step."""
    store, engine, owner = MemoryStore(), FakeEngine(), Owner()
    manager = StateManager(store, recoverable=recoverable)
    manager.recover(FakeSystem(engine, (StatePart("tape", Tape, owner),)))
    sizes = []
    for i in range(10):
        engine.step()
        assert manager.begin_step()
        if i % 4 == 1:  # a fill delivered before the step
            manager.before_cancel(f"order-{i}")
            owner.value.prices["filled"] = float(i)
            manager.commit("order_event")
        owner.value.prices[f"ES{i % 3}"] = 4000.0 + i
        manager.commit("step")
        assert not manager.begin_step(), "a committed step is not run again, journaled or not"
        sizes.append(len(store.data.get(manager.journal.key, b"")))
    manager.checkpoint()
    return store, manager, sizes


def _recovered(store: MemoryStore) -> tuple[Tape, object]:
    owner = Owner()
    manager = StateManager(store)
    manager.recover(FakeSystem(FakeEngine(), (StatePart("tape", Tape, owner),)))
    return owner.value, manager.books.last_step


def test_plain_commits_journal_nothing_and_a_checkpoint_recovers_the_same_state():
    plain_store, plain, plain_sizes = _run(recoverable=False)
    full_store, full, full_sizes = _run(recoverable=True)
    assert len(set(plain_sizes)) == 1, "a plain run's commits or acts wrote to the journal"
    assert full_sizes == sorted(full_sizes) and full_sizes[-1] > full_sizes[0]
    assert plain.books.last_step == full.books.last_step
    assert _recovered(plain_store) == _recovered(full_store)
    assert _recovered(plain_store)[0].prices == {"ES0": 4009.0, "ES1": 4007.0, "ES2": 4008.0, "filled": 9.0}


def test_the_check_mode_still_checks_every_step():
    store, engine, owner = MemoryStore(), FakeEngine(), Owner()
    manager = StateManager(store, recoverable=False, check=True)
    manager.recover(FakeSystem(engine, (StatePart("tape", Tape, owner),)))
    before = len(store.data[manager.journal.key]) if manager.journal.key in store.data else 0
    engine.step()
    owner.value.prices["ES"] = 1.0
    manager.commit("step")
    assert len(store.data[manager.journal.key]) > before
