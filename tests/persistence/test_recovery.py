"""Restart anywhere: the state comes back from snapshot + journal, bad state is kept aside and
means safe mode, orders in flight at the crash are re-attached, never sent twice."""

from __future__ import annotations

import dataclasses
import json
from datetime import date

from core.book import group_to_json
from core.ports import Severity, StatePart
from core.types import GroupStatus, Holding, OrderEvent, OrderStatus, Right
from persistence.codec import decode, encode
from persistence.manager import StateManager
from persistence.schema import LEGACY_BOOK_KEY, SCHEMA_VERSION
from sim.store import MemoryStore
from testing.factories import spxw
from testing.persistence_fakes import FakeEngine, FakeSystem, condor_group, holdings_of, order, start


def _quarantined(store: MemoryStore) -> dict[str, bytes]:
    return {k: v for k, v in store.data.items() if "/quarantine/" in k}


def _critical(engine: FakeEngine) -> list[str]:
    return [f"{title}: {message}" for sev, title, message in engine.alerts if sev is Severity.CRITICAL]


def test_state_survives_a_restart_through_snapshot_and_journal():
    store = MemoryStore()
    manager, system = start(store)
    group = condor_group()
    system.book.put(group)
    system.book.new_group_id("zero_dte", system.platform.now())
    manager.commit("step")
    system.book.put(dataclasses.replace(group, status=GroupStatus.CLOSING))
    manager.commit("order_event")
    _, again = start(store, FakeEngine())  # no end-of-day snapshot: the journal carries it
    assert again.book.get(group.group_id).status is GroupStatus.CLOSING
    assert again.book.new_group_id("zero_dte", again.platform.now()).endswith("-002")
    assert not again.pauses


def test_compaction_keeps_the_journal_small():
    store = MemoryStore()
    manager, system = start(store)
    for i in range(40):
        system.book.put(condor_group(f"zero_dte-20250307-{i:03d}"))
        system.platform.step()
        manager.commit("step")
    assert len(manager.journal.entries) < 8, "compaction after 8 entries"
    _, body = decode(store.data["state/snapshot"], "snapshot", SCHEMA_VERSION)
    assert len(body["parts"]["book"]["groups"]) >= 33
    _, again = start(store)
    assert len(again.book.live()) == 40


def test_unchanged_steps_write_nothing():
    store = MemoryStore()
    manager, system = start(store)
    before = dict(store.data)
    for _ in range(5):
        system.platform.step()
        manager.commit("step")
    assert store.data == before


def _bad_state_case(mutate) -> tuple[MemoryStore, FakeEngine, object, bytes]:  # type: ignore[no-untyped-def]
    store = MemoryStore()
    manager, system = start(store)
    system.book.put(condor_group())
    manager.checkpoint()
    original = mutate(store)
    engine = FakeEngine()
    _, again = start(store, engine)
    return store, engine, again, original


def _check_safe_mode(store, engine, system, original, code):  # type: ignore[no-untyped-def]
    assert system.safe_mode() and f"state_{code}" in system.pauses.describe() + str(system.pauses.reasons)
    assert any(code in text and "operator_ack" in text for text in _critical(engine)), engine.alerts
    assert original in _quarantined(store).values(), "the bad bytes are kept aside, unchanged"


def test_corrupt_snapshot_is_kept_aside_and_means_safe_mode():
    def mutate(store):  # type: ignore[no-untyped-def]
        store.data["state/snapshot"] = b"\x00\x01 disk garbage"
        return store.data["state/snapshot"]

    _check_safe_mode(*_bad_state_case(mutate), "corrupt")


def test_truncated_snapshot():
    def mutate(store):  # type: ignore[no-untyped-def]
        store.data["state/snapshot"] = store.data["state/snapshot"][:-40]
        return store.data["state/snapshot"]

    _check_safe_mode(*_bad_state_case(mutate), "truncated")


def test_tampered_snapshot():
    def mutate(store):  # type: ignore[no-untyped-def]
        store.data["state/snapshot"] = store.data["state/snapshot"].replace(b'"quantity":2', b'"quantity":9')
        return store.data["state/snapshot"]

    store, engine, system, original = _bad_state_case(mutate)
    _check_safe_mode(store, engine, system, original, "tampered")
    assert system.book.live() == [], "nothing is read from a tampered document"


def test_foreign_version_snapshot():
    def mutate(store):  # type: ignore[no-untyped-def]
        _, body = decode(store.data["state/snapshot"], "snapshot", SCHEMA_VERSION)
        store.data["state/snapshot"] = encode("snapshot", SCHEMA_VERSION + 1, body)
        return store.data["state/snapshot"]

    _check_safe_mode(*_bad_state_case(mutate), "foreign_version")


def test_tampered_journal_keeps_the_snapshot_state_and_means_safe_mode():
    store = MemoryStore()
    manager, system = start(store)
    system.book.put(condor_group())
    manager.checkpoint()
    system.book.put(condor_group("zero_dte-20250307-002"))
    manager.commit("step")
    store.data["state/journal"] = store.data["state/journal"].replace(b"002", b"003")
    original = store.data["state/journal"]
    engine = FakeEngine()
    _, again = start(store, engine)
    assert [g.group_id for g in again.book.live()] == ["zero_dte-20250307-001"]
    _check_safe_mode(store, engine, again, original, "tampered")


def test_a_part_of_the_wrong_type_means_safe_mode():
    def mutate(store):  # type: ignore[no-untyped-def]
        _, body = decode(store.data["state/snapshot"], "snapshot", SCHEMA_VERSION)
        body["parts"]["persistence"]["working"] = ["not", "a", "mapping"]
        store.data["state/snapshot"] = encode("snapshot", SCHEMA_VERSION, body)
        return store.data["state/snapshot"]

    _check_safe_mode(*_bad_state_case(mutate), "invalid_types")


def test_safe_mode_survives_restarts_until_the_operator_acknowledges():
    store = MemoryStore()
    start(store)
    store.data["state/snapshot"] = b"garbage"
    manager, _system = start(store)
    assert manager.books.incident is not None
    incident = manager.books.incident.id
    _, again = start(store)
    assert again.safe_mode(), "a restart does not clear safe mode"
    store.save("state/operator_ack", incident.encode())
    manager, cleared = start(store)
    assert not cleared.pauses and manager.books.incident is None
    assert "incident_acknowledged" in cleared.sink.kinds()


def test_two_bad_starts_keep_both_copies():
    store = MemoryStore()
    start(store)
    store.data["state/snapshot"] = b"first garbage"
    start(store)
    store.data["state/snapshot"] = b"second garbage"
    start(store)
    kept = set(_quarantined(store).values())
    assert {b"first garbage", b"second garbage"} <= kept


def test_legacy_book_json_is_migrated():
    store = MemoryStore()
    _legacy, system = start(MemoryStore())
    system.book.put(condor_group())
    store.data[LEGACY_BOOK_KEY] = json.dumps(
        {"groups": [group_to_json(condor_group())], "sequence": {}}
    ).encode()
    manager, again = start(store)
    assert [g.group_id for g in again.book.live()] == ["zero_dte-20250307-001"]
    assert any("schema 1" in note for note in manager.recovery_notes)
    assert not again.pauses


# --- orders in flight --------------------------------------------------------------------------------
def test_order_the_engine_already_has_is_reattached_not_resent():
    store = MemoryStore()
    engine = FakeEngine()
    manager, _system = start(store, engine)
    guarded = manager.guard(engine)
    guarded.submit_combo(order("g|open|0"))
    assert engine.sent == ["g|open|0"]
    # crash before any commit; the engine (broker) keeps the order
    manager2, system2 = start(store, engine)
    guarded2 = manager2.guard(engine)
    guarded2.submit_combo(order("g|open|0"))  # the re-run derives the same order
    assert engine.sent == ["g|open|0"], "never sent twice"
    assert "order_reattached" in system2.sink.kinds()


def test_order_journaled_but_never_received_is_sent_on_the_rerun():
    store = MemoryStore()
    engine = FakeEngine()
    manager, _ = start(store, engine)
    manager.before_submit(order("g|open|0"))  # journaled, then the process died before the send
    manager2, _ = start(store, engine)
    manager2.guard(engine).submit_combo(order("g|open|0"))
    assert engine.sent == ["g|open|0"]


def test_cancel_already_done_is_not_repeated():
    store = MemoryStore()
    engine = FakeEngine()
    manager, _ = start(store, engine)
    guarded = manager.guard(engine)
    guarded.submit_combo(order("g|open|0"))
    manager.commit("step")
    guarded.cancel("g|open|0")
    manager2, _ = start(store, engine)
    manager2.guard(engine).cancel("g|open|0")
    assert engine.cancelled == ["g|open|0"]


def test_in_flight_order_never_rederived_is_an_orphan_and_fails_closed():
    store = MemoryStore()
    engine = FakeEngine()
    manager, _ = start(store, engine)
    manager.guard(engine).submit_combo(order("g|open|0"))
    manager2, system2 = start(store, engine)
    manager2.begin_step()
    engine.step()
    manager2.commit("step")
    assert system2.safe_mode() and manager2.books.incident.code == "orphan_acts"
    assert any("g|open|0" in text for text in _critical(engine))


def test_an_event_applied_before_the_crash_is_not_applied_again():
    store = MemoryStore()
    engine = FakeEngine()
    manager, _ = start(store, engine)
    manager.guard(engine).submit_combo(order("g|open|0"))
    manager.commit("step")
    filled = OrderEvent("g|open|0", OrderStatus.FILLED, engine.now())
    assert manager.admit(filled)
    manager.commit("order_event")
    manager2, _ = start(store, engine)
    assert not manager2.admit(filled), "re-delivered after the crash: dropped"
    assert "g|open|0" not in manager2.books.working


def test_event_not_committed_before_the_crash_is_applied_after_it():
    store = MemoryStore()
    engine = FakeEngine()
    manager, _ = start(store, engine)
    filled = OrderEvent("g|open|0", OrderStatus.FILLED, engine.now())
    assert manager.admit(filled)  # crash before the commit
    manager2, _ = start(store, engine)
    assert manager2.admit(filled)


def test_a_step_completed_before_the_crash_is_not_run_again():
    store = MemoryStore()
    engine = FakeEngine()
    manager, system = start(store, engine)
    assert manager.begin_step()
    system.book.put(condor_group())
    manager.commit("step")
    manager2, _ = start(store, engine)
    assert not manager2.begin_step()
    engine.step()
    assert manager2.begin_step()


def test_reconciliation_mismatch_fails_closed_with_evidence_and_action():
    store = MemoryStore()
    engine = FakeEngine()
    manager, system = start(store, engine)
    group = condor_group()
    system.book.put(group)
    manager.commit("step")
    engine.holdings = holdings_of(group)
    short_call = group.legs[0].contract
    engine.holdings[short_call.symbol] = Holding(short_call.symbol, -5, 1.0, short_call)
    stray = spxw(5700, Right.CALL, date(2025, 3, 7))
    engine.holdings[stray.symbol] = Holding(stray.symbol, 3, 1.0, stray)
    engine.holdings.pop(group.legs[3].contract.symbol)
    engine.open_tags = ["someone-elses-order"]
    manager2, system2 = start(store, engine)
    manager2.begin_step()
    codes = sorted(f.code for f in manager2.last_reconciliation.findings)
    assert codes == ["foreign_order", "missing_position", "quantity_mismatch", "unknown_position"]
    assert system2.safe_mode() and manager2.books.incident.code == "reconciliation_mismatch"
    text = " ".join(_critical(engine))
    assert "someone-elses-order" in text and group.legs[3].contract.symbol in text and "operator_ack" in text


def test_matching_engine_reconciles_clean_and_reattaches_working_orders():
    store = MemoryStore()
    engine = FakeEngine()
    manager, system = start(store, engine)
    group = condor_group()
    system.book.put(group)
    manager.guard(engine).submit_combo(order("zero_dte-20250307-001|close|0"))
    manager.commit("step")
    engine.holdings = holdings_of(group)
    manager2, system2 = start(store, engine)
    manager2.begin_step()
    assert manager2.last_reconciliation.ok
    assert manager2.last_reconciliation.reattached == ("zero_dte-20250307-001|close|0",)
    assert not system2.pauses


def test_a_component_part_round_trips_exactly():
    @dataclasses.dataclass
    class PeakState:
        peak: float = 0.0

    class Breaker:
        def __init__(self) -> None:
            self.value = PeakState()

        def state(self) -> PeakState:
            return self.value

        def restore(self, state: PeakState) -> None:
            self.value = state

    store = MemoryStore()
    breaker = Breaker()
    system = FakeSystem(FakeEngine(), (StatePart("breaker", PeakState, breaker),))
    manager = StateManager(store)
    manager.recover(system)
    breaker.value.peak = 123.5
    manager.commit("step")
    again = Breaker()
    StateManager(store).recover(FakeSystem(FakeEngine(), (StatePart("breaker", PeakState, again),)))
    assert again.value.peak == 123.5


def test_without_order_history_an_unconfirmed_order_is_never_resent():
    class NoHistory(FakeEngine):
        def known_order_tags(self) -> None:  # type: ignore[override]
            return None

    store = MemoryStore()
    engine = NoHistory()
    manager, _ = start(store, engine)
    manager.guard(engine).submit_combo(order("g|open|0"))
    engine.open_tags.clear()  # filled (or cancelled) while the process was down
    manager2, system2 = start(store, engine)
    manager2.guard(engine).submit_combo(order("g|open|0"))
    assert engine.sent == ["g|open|0"], "never sent twice"
    assert system2.safe_mode() and manager2.books.incident.code == "unconfirmed_order"


def test_order_cancelled_just_before_the_crash_is_not_a_lost_order():
    store = MemoryStore()
    engine = FakeEngine()
    manager, _system = start(store, engine)
    guarded = manager.guard(engine)
    guarded.submit_combo(order("g|close|0"))
    manager.commit("step")
    guarded.cancel("g|close|0")  # reached the engine; the crash came before the next commit
    manager2, system2 = start(store, engine)
    manager2.begin_step()
    assert manager2.last_reconciliation.ok
    assert not system2.pauses
