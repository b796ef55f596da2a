"""Save and load of the trading system's state with 500 open position groups (targets: < 50 ms
each, < 2 MB), plus the cost of one journaled change at that size.  Real files, fsync on."""

from __future__ import annotations

import dataclasses
import statistics
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from core.book import Book
from core.types import (
    ExerciseStyle,
    GroupStatus,
    Leg,
    OptionContract,
    PositionGroup,
    Right,
    SecurityKind,
    Settlement,
)
from persistence import StateManager
from sim.store import FileStore
from testing.persistence_fakes import FakeEngine, FakeSystem

GROUPS = 500
T0 = datetime(2025, 3, 7, 10, 0)


def _contract(strike: float, right: Right, expiry: date) -> OptionContract:
    return OptionContract(
        "SPXW",
        "SPX",
        right,
        strike,
        expiry,
        100.0,
        SecurityKind.INDEX_OPTION,
        ExerciseStyle.EUROPEAN,
        Settlement.CASH,
    )


def _book() -> Book:
    book = Book()
    for i in range(GROUPS):
        expiry = date(2025, 3, 7) + timedelta(days=7 * (i % 40))
        k = 5000 + 5 * (i % 100)
        legs = (
            Leg(_contract(k + 200, Right.CALL, expiry), -1),
            Leg(_contract(k + 250, Right.CALL, expiry), 1),
            Leg(_contract(k - 200, Right.PUT, expiry), -1),
            Leg(_contract(k - 250, Right.PUT, expiry), 1),
        )
        gid = book.new_group_id("zero_dte", T0 + timedelta(days=i // 3))
        book.put(
            PositionGroup(
                gid, "zero_dte", legs, 2, GroupStatus.OPEN, opened_at=T0, entry_price=-2.5, entry_fees=8.0,
                max_loss_per_unit=4750.0, notes={"vix": 23.4, "short_call_delta": 0.16, "short_put_delta": -0.16},
            )
        )  # fmt: skip
    return book


def _system(book: Book) -> FakeSystem:
    system = FakeSystem(FakeEngine())
    system.book = book
    return system


def _ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def run() -> list[dict]:
    book = _book()
    save, load, change = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        store = FileStore(Path(tmp))
        manager = StateManager(store)
        manager.recover(_system(book))
        for _ in range(15):
            began = time.perf_counter()
            manager.checkpoint()
            save.append(time.perf_counter() - began)
        size = len(store.load("state/snapshot") or b"")
        for _ in range(15):
            fresh = _system(Book())
            began = time.perf_counter()
            StateManager(store).recover(fresh)
            load.append(time.perf_counter() - began)
            assert len(fresh.book.live()) == GROUPS
        groups = list(book.live())
        for i in range(15):
            book.put(dataclasses.replace(groups[i], status=GroupStatus.CLOSING))
            began = time.perf_counter()
            manager.commit("order_event")
            change.append(time.perf_counter() - began)
    return [
        {"name": "state save (500 open groups)", "value": _ms(save), "unit": "ms", "target": "< 50",
         "note": "snapshot: collect, encode with checksum, atomic write with fsync"},
        {"name": "state load (500 open groups)", "value": _ms(load), "unit": "ms", "target": "< 50",
         "note": "read, verify, migrate, rebuild the book"},
        {"name": "state size (500 open groups)", "value": size / 1e6, "unit": "MB", "target": "< 2"},
        {"name": "journaled change (500 open groups)", "value": _ms(change), "unit": "ms", "target": None,
         "note": "one group changes: diff, append, atomic write"},
    ]  # fmt: skip
