"""The incremental commit (stamps, frozen values reused by identity, ``put`` deltas) against a full
encoding: the check mode catches a change the fast path would miss, a random mutation sequence
journals and replays to exactly the state encoded in full, and a real backtest passes the check."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.ports import StatePart
from persistence.codec import dumps
from persistence.crosscheck import CHECK_ENV, MissedChange
from persistence.delta import apply_in_place, diff
from persistence.manager import StateManager
from persistence.typed import Encoder, to_plain
from sim.store import MemoryStore
from testing.persistence_fakes import FakeEngine, FakeSystem

T0 = datetime(2025, 3, 7, 10, 0)


@dataclasses.dataclass(frozen=True)
class Venue:
    name: str
    lot: int


@dataclasses.dataclass(frozen=True)
class Mark:
    symbol: str
    price: float
    time: datetime
    venue: Venue  # a frozen value inside a frozen value (a quote's contract)


VENUES = [Venue("cboe", 100), Venue("cme", 50)]  # shared objects, as contracts are across quotes


@dataclasses.dataclass(frozen=True)
class Note:
    text: str
    evidence: dict[str, float]  # a mutable field in a frozen value: the identity memo trusts it


@dataclasses.dataclass
class Board:
    marks: dict[str, Mark] = dataclasses.field(default_factory=dict)
    levels: dict[str, float] = dataclasses.field(default_factory=dict)
    records: dict[str, tuple[float, float, datetime]] = dataclasses.field(default_factory=dict)
    history: list[float] = dataclasses.field(default_factory=list)
    note: Note | None = None


class Owner:
    def __init__(self) -> None:
        self.value = Board()
        self.version = 0

    def state(self) -> Board:
        return self.value

    def restore(self, state: Board) -> None:
        self.value = state
        self.version += 1


def _manager(owner: Owner, check: bool) -> tuple[StateManager, MemoryStore]:
    store = MemoryStore()
    manager = StateManager(store, check=check)
    manager.recover(FakeSystem(FakeEngine(), (StatePart("board", Board, owner, lambda: owner.version),)))
    return manager, store


def test_a_mutation_that_does_not_move_the_stamp_is_missed_and_the_check_says_where():
    owner = Owner()
    manager, store = _manager(owner, check=False)
    before = store.data[manager.journal.key]
    owner.value.levels["SPX"] = 1.0  # no stamp moved
    manager.commit("order_event")
    assert store.data[manager.journal.key] == before  # the fast path journaled nothing: missed

    owner = Owner()
    manager, _ = _manager(owner, check=True)
    owner.value.levels["SPX"] = 1.0
    with pytest.raises(MissedChange, match="board/levels"):
        manager.commit("order_event")


def test_a_frozen_value_changed_in_place_is_caught_by_the_check():
    owner = Owner()
    manager, _ = _manager(owner, check=True)
    owner.value.note = Note("halt", {"loss": 0.1})
    owner.version += 1
    manager.commit("order_event")
    owner.value.note.evidence["loss"] = 0.2  # the memo still holds the old plain form
    owner.version += 1
    with pytest.raises(MissedChange, match="board/note/evidence/loss"):
        manager.commit("order_event")


def test_the_check_environment_variable_turns_the_check_on(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(CHECK_ENV, "1")
    assert StateManager(MemoryStore()).check
    monkeypatch.setenv(CHECK_ENV, "0")
    assert not StateManager(MemoryStore()).check


_SYMBOLS = st.sampled_from(["SPX", "SPY", "QQQ", "IWM"])
# Not 2 next to 2.0, nor -0.0 next to 0.0: equal values are not journaled (a known limit of
# ``delta.diff``; the check mode compares bytes, so a real part hitting it fails the backtest below).
_PRICES = st.sampled_from([1.0, 1.5, 2.0, 0.0, -3.25])
_MUTATIONS = st.one_of(
    st.tuples(st.just("mark"), _SYMBOLS, _PRICES, st.integers(0, 3), st.integers(0, 2)),
    st.tuples(st.just("drop_mark"), _SYMBOLS),
    st.tuples(st.just("level"), _SYMBOLS, _PRICES),
    st.tuples(st.just("drop_level"), _SYMBOLS),
    st.tuples(st.just("record"), _SYMBOLS, _PRICES, _PRICES),
    st.tuples(st.just("append"), _PRICES),
    st.tuples(st.just("cut"), st.integers(0, 4)),
    st.tuples(st.just("note"), _PRICES),
    st.tuples(st.just("same_again")),
)


def _mutate(board: Board, mutation: tuple[Any, ...]) -> None:
    name, *args = mutation
    if name == "mark":
        symbol, price, minutes, venue = args
        where = VENUES[venue] if venue < len(VENUES) else Venue("ice", minutes)  # or a new object
        board.marks[symbol] = Mark(symbol, price, T0 + timedelta(minutes=minutes), where)
    elif name == "drop_mark":
        board.marks.pop(args[0], None)
    elif name == "level":
        board.levels[args[0]] = args[1]
    elif name == "drop_level":
        board.levels.pop(args[0], None)
    elif name == "record":
        board.records[args[0]] = (args[1], args[2], T0)
    elif name == "append":
        board.history.append(args[0])
    elif name == "cut":
        del board.history[args[0] :]
    elif name == "note":
        board.note = Note("n", {"loss": args[0]})
    else:  # re-insert equal values as new objects: identity differs, content does not
        board.marks = {k: dataclasses.replace(m) for k, m in board.marks.items()}


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(_MUTATIONS, max_size=4), min_size=1, max_size=12))
def test_incremental_deltas_replay_to_the_full_encoding_over_random_mutations(steps):
    """Each step: the one long-lived encoder's plain form equals a fresh full encoding, and the
    delta from the last step, replayed through JSON the way recovery reads the journal, gives
    exactly the bytes of the full encoding."""
    board, encoder = Board(), Encoder()
    committed = encoder.encode(board)
    replayed = json.loads(dumps(committed))
    for mutations in steps:
        for mutation in mutations:
            _mutate(board, mutation)
        current = encoder.encode(board)
        full = to_plain(board)
        assert dumps(current) == dumps(full)
        ops = diff(committed, current, atoms=encoder.atoms)
        replayed = apply_in_place(replayed, json.loads(dumps(ops)))
        assert dumps(replayed) == dumps(full)
        committed = current


def test_a_put_of_a_key_the_state_lacks_is_refused():
    with pytest.raises(ValueError, match="does not fit"):
        apply_in_place({"a": {"x": 1}}, [["put", ["a"], {"x": 2, "y": 3}]])
    with pytest.raises(ValueError, match="does not fit"):
        apply_in_place({"a": [1]}, [["put", ["a"], {"x": 2}]])


@pytest.mark.slow
def test_a_backtest_with_every_real_part_passes_the_check(monkeypatch: pytest.MonkeyPatch):
    """Every stateful component of the assembled system moves its stamp (or has none) and keeps
    its frozen values frozen: a synthetic week, each commit checked against a full encoding."""
    from core.settings import Settings
    from sim.calendar import ExchangeCalendar
    from sim.engine import run_backtest
    from sim.markets.synthetic import SyntheticConfig, SyntheticMarket
    from sim.recorder import RunRecorder

    monkeypatch.setenv(CHECK_ENV, "1")
    start, end = date(2025, 1, 2), date(2025, 1, 10)
    settings_ = Settings().with_overrides(start_date=start.isoformat(), end_date=end.isoformat())
    calendar = ExchangeCalendar(start - timedelta(days=7), end + timedelta(days=800))
    market = SyntheticMarket(SyntheticConfig(seed=7, start=start, end=end), calendar)
    result = run_backtest(settings_, market, calendar, MemoryStore(), RunRecorder())
    assert result.system is not None and result.system.book.live(), "the week must trade"
    state = result.system.state
    assert isinstance(state, StateManager) and state.check  # the run's own manager checked every commit
