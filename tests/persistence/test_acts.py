"""Every order passes the act journal before the engine sees it - the risk layer's flatten too -
and a crash between a fill and its journal entry is settled by reconciliation with the engine,
never by a guess."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from core.settings import Settings
from core.types import GroupStatus, OrderEvent, OrderStatus, Right
from persistence.journal import parse
from sim.broker.assignment import assign_early
from sim.calendar import ExchangeCalendar
from sim.platform import SimPlatform
from sim.store import MemoryStore
from testing.persistence_fakes import FakeEngine, condor_group, holdings_of, order, start
from testing.scenarios import Probe, ScenarioMarket, Script, run_scenario

JOURNAL = "state/journal"


def test_the_assignment_flatten_is_journaled_before_it_is_sent(monkeypatch):
    calendar = ExchangeCalendar(date(2025, 1, 1), date(2026, 12, 31))
    market = ScenarioMarket(
        calendar, [date(2025, 3, 3), date(2025, 3, 4)], lambda t: 5000.0 if t.date() == date(2025, 3, 3) else 4800.0,
    )  # fmt: skip
    probe = Probe("probe", ((Right.PUT, 0.4, -1), (Right.PUT, 0.15, 1)), min_dte=10,
                  window=(time(9, 35), time(9, 35)), max_loss_per_unit=1500)  # fmt: skip

    def assign(platform, system) -> None:  # type: ignore[no-untyped-def]
        (group,) = system.book.live("probe")
        assign_early(platform.broker, next(leg.contract.symbol for leg in group.legs if leg.ratio < 0), 1)

    store = MemoryStore()
    journaled_at_send: list[list[tuple[str, str]]] = []
    send = SimPlatform.liquidate

    def liquidate(self: SimPlatform, symbol: str, quantity: float, tag: str) -> None:
        _, entries = parse(store.data[JOURNAL], JOURNAL)  # what a crash at this moment leaves
        journaled_at_send.append([(e.kind, e.tag) for e in entries if e.type == "act"])
        send(self, symbol, quantity, tag)

    monkeypatch.setattr(SimPlatform, "liquidate", liquidate)
    settings = Settings(risk_strategy_bp_default_share=0.8, starting_cash=100_000.0)
    result = run_scenario(settings, market, [probe], Script([(datetime(2025, 3, 4, 11, 0), assign)]), store)
    flattens = result.recorder.of("risk_event", rule="assignment", action="flatten")
    assert flattens and len(journaled_at_send) == 1, "one flatten, sent once"
    tag = next(t for kind, t in journaled_at_send[0] if kind == "liquidate")
    assert tag.startswith("risk|flatten|SPY|"), journaled_at_send
    assert "SPY" not in result.platform.broker.holdings()


def test_a_flatten_in_flight_at_a_crash_is_not_sent_again():
    store = MemoryStore()
    engine = FakeEngine()
    manager, _ = start(store, engine)
    manager.guard(engine).liquidate("SPY", -100.0, "risk|flatten|SPY|1")
    # killed before the next stable point; the engine (broker) has the order
    manager2, system2 = start(store, engine)
    manager2.guard(engine).liquidate("SPY", -100.0, "risk|flatten|SPY|1")  # the re-run derives it again
    assert engine.sent == ["risk|flatten|SPY|1"], "never sent twice"
    assert "order_reattached" in system2.sink.kinds()


@pytest.mark.parametrize("delivered_after_restart", [False, True])
def test_a_kill_between_a_fill_and_its_journal_entry_is_settled_by_reconciliation(delivered_after_restart):
    """The order was journaled and committed as working; the engine filled it; the process died
    before the fill reached the journal.  LEAN does not deliver the fill again: reconciliation
    finds the position the book does not know and the order the engine no longer has, and fails
    closed with that evidence - no fill is invented.  An engine that still holds the event (the
    sim's brokerage) hands it over and the restart is clean."""
    store = MemoryStore()
    engine = FakeEngine()
    manager, system = start(store, engine)
    group = condor_group(status=GroupStatus.OPENING)
    system.book.put(group)
    tag = f"{group.group_id}|open|0"
    manager.guard(engine).submit_combo(order(tag, group))
    manager.commit("step")
    engine.holdings, engine.open_tags = holdings_of(group), []  # filled at the engine ... killed

    manager2, system2 = start(store, engine)
    if delivered_after_restart:
        fill = OrderEvent(tag, OrderStatus.FILLED, engine.now())
        assert manager2.admit(fill), "not seen before the crash: applied now"
        system2.book.put(condor_group(status=GroupStatus.OPEN))  # what execution makes of the fill
        manager2.commit("order_event")
    manager2.begin_step()
    findings = manager2.last_reconciliation.findings
    if delivered_after_restart:
        assert manager2.last_reconciliation.ok and not system2.safe_mode()
        return
    assert sorted({f.code for f in findings}) == ["lost_order", "unknown_position"]
    assert {f.subject for f in findings if f.code == "unknown_position"} == set(holdings_of(group))
    assert system2.safe_mode() and manager2.books.incident.code == "reconciliation_mismatch"
    assert system2.book.get(group.group_id).status is GroupStatus.OPENING, "no fill is guessed"
    critical = " ".join(m for s, _, m in engine.alerts if s.value == "critical")
    assert tag in critical and "operator_ack" in critical
