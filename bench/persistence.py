"""Save and load of the trading system's state with 500 open position groups (targets: < 50 ms
each, < 2 MB), plus the cost of one journaled change at that size (real files, fsync on), and the
per-step commit of the parts that change every step (last good quotes, stuck-quote records,
underlying prices) as a backtest pays it: CPU time per commit and journal bytes per commit."""

from __future__ import annotations

import dataclasses
import statistics
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from core.book import Book
from core.ports import StatePart
from core.quote_screen import LastGood
from core.types import (
    ExerciseStyle,
    GroupStatus,
    Leg,
    OptionContract,
    OptionQuote,
    PositionGroup,
    Right,
    SecurityKind,
    Settlement,
)
from persistence import StateManager
from risk.state import RiskState
from sim.store import FileStore, MemoryStore
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


class _Held:
    """A component holding one state value (what the quote screen and the monitors are to the
    state manager)."""

    def __init__(self, value: object) -> None:
        self.value = value

    def state(self) -> object:
        return self.value

    def restore(self, state: object) -> None:
        self.value = state


WATCHED, MOVING, STEPS = 16, 6, 400  # contracts watched, quotes that move per step (a backtest's mean)


def _step_commits() -> tuple[float, float]:
    """(CPU microseconds, journal bytes) per step commit, each step moving ``MOVING`` quotes, their
    stuck-quote records and every underlying price, on the in-memory store a backtest uses."""
    expiry = date(2025, 3, 21)
    contracts = [_contract(5000 + 5 * i, Right.PUT, expiry) for i in range(WATCHED)]
    quotes, risk = LastGood(), RiskState()
    system = FakeSystem(FakeEngine())
    system.parts = (
        StatePart("quotes", LastGood, _Held(quotes)),  # type: ignore[arg-type]
        StatePart("risk", RiskState, _Held(risk)),  # type: ignore[arg-type]
    )
    store = MemoryStore()
    manager = StateManager(store)
    manager.recover(system)
    spent, grown = 0.0, []
    for step in range(STEPS):
        now = T0 + timedelta(minutes=5 * step)
        spot = 5000.0 + (step % 7) * 1.37
        for i in range(WATCHED if step == 0 else MOVING):
            c = contracts[(step * MOVING + i) % WATCHED]
            bid = 10.0 + ((step * 31 + i) % 97) / 13.0
            q = OptionQuote(
                c, now, bid, bid + 0.4, 10, 12, 100 + step, 5000, spot, 0.18, -0.3, 0.01, -1.1, 2.2
            )
            quotes.quotes[c.symbol] = q
            risk.quotes.observe(q, now)
        for root in ("SPX", "SPY", "QQQ", "IWM", "ES", "NQ", "GLD", "TLT", "XLE", "VIX"):
            risk.jumps.last[root] = spot / (1 + len(root))
        before = manager.journal.bytes
        began = time.process_time()
        manager.commit("order_event")
        spent += time.process_time() - began
        if manager.journal.bytes > before:  # not the commits after which the journal was compacted
            grown.append(manager.journal.bytes - before)
    return spent / STEPS * 1e6, statistics.mean(grown)


def run() -> list[dict]:
    step_us, step_bytes = _step_commits()
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
        {"name": "step commit (16 quotes watched, 6 move)", "value": step_us, "unit": "us CPU", "target": None,
         "note": "encode, diff and journal the parts a step changes (in-memory store)"},
        {"name": "step commit journal bytes", "value": step_bytes, "unit": "B", "target": None,
         "note": "journal growth per step commit (between compactions)"},
    ]  # fmt: skip
