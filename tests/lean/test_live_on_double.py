"""``TomKingAlgorithm`` in live mode on the LEAN double: LEAN's threads, the Tastytrade brokerage's
reporting gaps, restored orders, margin calls, and the ObjectStore's 5-second write buffer."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta

import pytest

from core.types import ComboOrder, GroupStatus, Leg, Right
from core.types import OrderStatus as CoreStatus
from testing.lean.bench import drain, tomking
from testing.lean.live import LiveTastytrade, on_thread
from testing.lean.object_store import LocalObjectStore
from testing.lean.orders import OrderEvent, OrderStatus

FRIDAY = date(2026, 10, 9)


def _run(lean, hours, until: datetime, live: bool = True, store=None, cash: float = 400_000.0):
    engine, algo = tomking(lean, hours, FRIDAY, FRIDAY, store=store, cash=cash)
    broker = LiveTastytrade(algo) if live else None
    engine.start()
    engine.run_until(until)
    return engine, algo, broker


def _condor_order(algo, tag: str, limit: float = -3.0) -> ComboOrder:
    chain = algo.lean_platform.snapshot().chains.chain("SPXW", FRIDAY)
    puts = [q for q in chain.side(Right.PUT) if q.contract.strike < chain.underlying_price]
    legs = (Leg(puts[-4].contract, -1), Leg(puts[-8].contract, 1))
    return ComboOrder(tag, legs, 1, limit, algo.time)


def test_a_scheduled_step_and_an_order_event_on_two_threads_never_interleave(lean, hours):
    """LiveTradingRealTimeHandler runs scheduled events on its own thread and the brokerage
    delivers order events on another: the order event must wait for the step to finish."""
    _engine, algo, _ = _run(lean, hours, datetime(2026, 10, 9, 10, 12))
    step = algo.schedule.events[0][1]  # main's _step, as LEAN's RealTime thread calls it
    ready, finished = threading.Event(), []
    gate = getattr(algo, "entry_gate", None)
    if gate is not None:
        gate.on_contended = ready.set
    stray = OrderEvent(999, next(iter(algo.securities)), algo.utc_time, OrderStatus.SUBMITTED)
    original = algo.transactions.get_open_order_tickets
    fired: list[threading.Thread] = []

    def inside_the_step(predicate=None):
        if not fired:  # the step is now inside LEAN: the brokerage thread delivers an event

            def deliver() -> None:
                algo.on_order_event(stray)
                finished.append("event")
                ready.set()

            fired.append(on_thread(deliver))
            assert ready.wait(30), "the brokerage thread neither ran nor waited"
        return original(predicate)

    algo.transactions.get_open_order_tickets = inside_the_step
    # The step's end is recorded at its last phase, still inside the lock: recorded after
    # step() returned, a waiting brokerage thread could run first on a loaded machine.
    algo.engine_loop.hear(lambda phase: finished.append("step") if phase == "observed" else None)
    algo.utc_time += timedelta(minutes=3)
    step()
    fired[0].join(30)
    assert fired, "the step never called into LEAN"
    assert finished == ["step", "event"], "the order event ran in the middle of the step"


def test_an_order_tastytrade_never_answers_is_alerted_after_the_deadline(lean, hours):
    engine, algo, broker = _run(lean, hours, datetime(2026, 10, 9, 10, 2))
    plat = algo.lean_platform
    plat.submit_combo(_condor_order(algo, "x-20261009-001|open|0"))
    broker.acknowledge("x-20261009-001|open|0")  # Routed/Live: Submitted
    broker.reject("x-20261009-001|open|0")  # Rejected: the plugin reports nothing
    engine.run_until(datetime(2026, 10, 9, 10, 20))
    alerts = [line for line in algo.lines if "Order unconfirmed" in line]
    assert len(set(alerts)) == 1 and "x-20261009-001|open|0" in alerts[0]  # logged once (+ debug)
    # fail closed for that group: it may have filled at the broker, so nothing more goes out for it
    drain(plat)
    plat.submit_combo(_condor_order(algo, "x-20261009-001|close|0", limit=3.0))
    (event,) = drain(plat)
    assert event.status is CoreStatus.REJECTED and "unconfirmed" in event.message
    assert not algo.transactions.get_order_tickets(lambda t: t.tag == "x-20261009-001|close|0")
    plat.submit_combo(_condor_order(algo, "y-20261009-002|open|0"))  # other groups still trade
    assert algo.transactions.get_order_tickets(lambda t: t.tag == "y-20261009-002|open|0")
    plat.cancel("x-20261009-001|open|0")
    broker.confirm_cancel("x-20261009-001|open|0")  # resolved at the broker: the group may act again
    drain(plat)
    plat.submit_combo(_condor_order(algo, "x-20261009-001|open|1"))
    assert not drain(plat) and algo.transactions.get_order_tickets(lambda t: t.tag == "x-20261009-001|open|1")


def test_live_holdings_that_move_without_the_book_pause_entries(lean, hours):
    engine, algo, _broker = _run(lean, hours, datetime(2026, 10, 9, 10, 2))
    option = next(s for s in algo.securities if s.security_type.name == "INDEX_OPTION")
    algo.securities[option].holdings.quantity = -1.0  # a fill the brokerage never reported to the book
    engine.run_until(datetime(2026, 10, 9, 10, 7))
    assert algo.trading_system.pauses.has("holdings_watch", "holdings_mismatch")
    assert any("Holdings differ from the book" in line for line in algo.lines)
    algo.securities[option].holdings.quantity = 0.0
    engine.run_until(datetime(2026, 10, 9, 10, 12))
    assert not algo.trading_system.pauses


def test_restored_untagged_orders_are_matched_to_the_journal(lean, hours):
    store = LocalObjectStore(datetime(2026, 10, 9))
    _engine, algo, broker = _run(lean, hours, datetime(2026, 10, 9, 10, 44), store=store)
    open_tags = set(algo.lean_platform.open_order_tags())
    working = [o for o in broker.placed if o[0].tag in open_tags]
    assert working, "a 0DTE entry is working at the broker"
    tag = working[-1][0].tag
    # restart: a new process with what reached the disk, and LEAN's untagged open orders
    engine2, algo2 = tomking(lean, hours, FRIDAY, FRIDAY, store=store.crash(), cash=400_000.0)
    broker2 = LiveTastytrade(algo2)
    broker2.restore(working[-1])
    engine2.start()
    engine2.run_until(datetime(2026, 10, 9, 10, 46))
    assert tag in algo2.lean_platform.open_order_tags()
    broker2.placed.append([algo2.transactions.get_order_by_id(o.id) for o in working[-1]])
    broker2.fill("")
    assert not [line for line in algo2.lines if "unknown order" in line]
    assert any(g.status is GroupStatus.OPEN for g in algo2.trading_system.book.live("zero_dte"))


def test_a_margin_call_goes_through_the_risk_layer_with_our_tags(lean, hours):
    engine, algo, _ = _run(lean, hours, datetime(2026, 10, 9, 12, 0), live=False)
    held = [s for s in algo.securities.values() if s.holdings.invested]
    assert held and algo.trading_system.book.live("zero_dte"), "a condor is open"
    engine.margin_call()
    assert algo.trading_system.pauses.has("engine", "margin_call")
    assert not [o for o in algo.transactions.orders.values() if o.tag == "Margin Call"]
    engine.run_until(datetime(2026, 10, 9, 12, 6))
    closes = [o for o in algo.transactions.orders.values() if "|close|" in o.tag]
    assert closes and all(o.tag.startswith("zero_dte-") for o in closes)


@pytest.mark.slow  # fsyncs every journal write
def test_journal_writes_reach_the_disk_at_once_and_backtests_share_one_namespace(lean, hours):
    store = LocalObjectStore(datetime(2026, 10, 9))
    engine, algo, _ = _run(lean, hours, datetime(2026, 10, 9, 9, 50), live=False, store=store)
    algo.lean_platform.store.save("journal/x", b"entry")
    assert any(k.endswith("journal/x") for k in store.crash().keys), "still in LEAN's 5 s buffer"
    engine.finish()
    keys = set(store.disk)
    engine2, algo2 = tomking(lean, hours, FRIDAY, FRIDAY, store=store, cash=400_000.0)
    algo2.algorithm_id = "BT-2"  # another backtest run
    engine2.start()
    engine2.run_until(datetime(2026, 10, 9, 9, 50))
    engine2.finish()
    assert keys and all(k.startswith("tomking/7/backtest/") and "BT-" not in k for k in store.disk)
    assert not any(k.endswith("journal/x") for k in store.disk), "a backtest starts from an empty book"


@pytest.mark.parametrize("name", ["notify_email", "live_order_deadline_seconds"])
def test_adapter_parameters_are_accepted_by_the_offline_engine_too(name, tmp_path):
    """One config.json serves both engines: the sim validates the adapter's parameters and ignores them."""
    import json

    from core.settings import Settings
    from sim.cli_config import settings_from

    config = tmp_path / "config.json"
    value = "ops@example.com" if name == "notify_email" else "120"
    config.write_text(json.dumps({"parameters": {name: value}}))
    assert settings_from(str(config), {}, {})[0] == Settings()


def test_the_health_snapshot_counts_the_orders_lean_acknowledged(lean, hours):
    """health.json's orders_submitted / last_order_time come from the order events LEAN delivered."""
    import json

    engine, algo, broker = _run(lean, hours, datetime(2026, 10, 9, 10, 44))
    tag = broker.placed[-1][0].tag
    broker.acknowledge(tag)
    engine.run_until(datetime(2026, 10, 9, 10, 50))
    health = json.loads(algo.lean_platform.store.load("monitoring/health.json") or b"{}")
    assert health["orders_submitted"] >= 1
    assert health["last_order_time"].startswith("2026-10-09T10:4")
