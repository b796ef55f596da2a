"""The LEAN adapter (lean_adapter/platform.py) on the LEAN double: chains, Greeks, combo orders and
their events, margin, the calendar, the store - each against LEAN's own rules (testing/lean)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from core.option_math import black76_greeks
from core.ports import Severity
from core.types import ComboOrder, Leg, OrderStatus, Right, SecurityKind
from lean_adapter.translate import StrikeBand, make_option_contract, years_to_expiry
from testing.lean.bench import adapter, at
from testing.lean.orders import OrderStatus as LeanStatus

FRIDAY = date(2026, 10, 9)  # SPXW expires today


@pytest.fixture
def bench(platform_module, hours):
    b = adapter(platform_module, hours, FRIDAY)
    b.engine.run_until(at(FRIDAY, 10, 30))
    return b


def _chain(bench, root="SPXW", expiry=FRIDAY):
    snap = bench.platform.snapshot()
    chain = snap.chains.chain(root, expiry)
    assert chain is not None, f"no {root} {expiry} chain: {snap.chains.expiries(root)}"
    return snap, chain


def _condor(chain):
    puts = [q for q in chain.side(Right.PUT) if q.contract.strike < chain.underlying_price]
    calls = [q for q in chain.side(Right.CALL) if q.contract.strike > chain.underlying_price]
    sp, lp = puts[-4], puts[-8]
    sc, lc = calls[3], calls[7]
    return (Leg(sp.contract, -1), Leg(lp.contract, 1), Leg(sc.contract, -1), Leg(lc.contract, 1))


def test_snapshot_translates_chains_with_lean_greeks(bench):
    snap, chain = _chain(bench)
    assert snap.vix == 24.0 and snap.price("SPX") > 4900
    assert chain.underlying == "SPX" and len(chain.quotes) > 20
    q = chain.nearest_delta(Right.PUT, 0.16)
    assert q is not None and q.contract.kind is SecurityKind.INDEX_OPTION and q.iv > 0
    assert -0.3 < q.delta < -0.05 and q.theta < 0
    assert snap.chains.quote(q.contract) is q


def test_quote_times_are_algorithm_time_not_the_exchange_time_zone(bench):
    """LEAN stamps SPXW bars in America/Chicago (QuoteBar.cs, OptionContract.Time): the adapter must
    hand core New York times, or every SPX/SPXW entry fails the staleness rule."""
    _, chain = _chain(bench)
    assert {q.time for q in chain.quotes} == {datetime(2026, 10, 9, 10, 30)}


def test_calendar_is_new_york_time_from_the_exchange_time_zone(bench):
    """SPX trades 08:30-15:15 America/Chicago (market-hours-database.json) = 09:30-16:15 New York."""
    cal = bench.platform.calendar
    assert cal.session_open(FRIDAY) == datetime(2026, 10, 9, 9, 30)
    assert cal.session_close(FRIDAY) == datetime(2026, 10, 9, 16, 15)
    assert not cal.is_early_close(FRIDAY) and cal.is_trading_day(FRIDAY)
    assert not cal.is_trading_day(date(2026, 10, 10)) and not cal.is_trading_day(date(2026, 11, 26))
    assert cal.is_early_close(date(2026, 11, 27)) and cal.session_close(date(2026, 11, 27)) == datetime(
        2026, 11, 27, 13, 0
    )  # Index-usa-[*] early close 12:00 Chicago
    assert cal.is_open(datetime(2026, 10, 9, 16, 10)) and not cal.is_open(datetime(2026, 10, 9, 9, 25))


def test_combo_submission_events_fill_and_cancel(bench):
    _, chain = _chain(bench)
    legs = _condor(chain)
    plat, algo = bench.platform, bench.algorithm
    plat.submit_combo(ComboOrder("g1|open|0", legs, 2, 5.0, algo.time))  # a debit limit far through natural
    events = bench.events()
    tickets = algo.transactions.get_order_tickets(lambda t: t.tag == "g1|open|0")
    assert [t.quantity for t in tickets] == [-2, 2, -2, 2]
    bench.engine.run_until(at(FRIDAY, 10, 31))
    events += bench.events()
    assert [e.status for e in events] == [OrderStatus.SUBMITTED, OrderStatus.FILLED]
    assert sum(f.quantity for f in events[-1].fills) == 0 and len(events[-1].fills) == 4
    plat.submit_combo(ComboOrder("g2|open|0", legs, 1, -50.0, algo.time))  # never fills
    plat.cancel("g2|open|0")
    statuses = [e.status for e in bench.events()]
    assert statuses == [OrderStatus.SUBMITTED, OrderStatus.CANCELLED]
    assert plat.open_order_tags() == []


def test_leg_ratios_sharing_a_factor_become_a_valid_combo(bench):
    """QCAlgorithm.Trading.cs CheckComboOrderSizing: leg quantities with a GCD > 1 raise; the LT112
    naked part (one leg x2) must go out as 1 leg x1, quantity x2, limit halved."""
    _, chain = _chain(bench)
    put = chain.nearest_delta(Right.PUT, 0.05)
    plat, algo = bench.platform, bench.algorithm
    plat.submit_combo(ComboOrder("n1|close|0", (Leg(put.contract, 2),), 3, 1.2, algo.time))
    events = bench.events()
    assert [e.status for e in events] == [OrderStatus.SUBMITTED], [e.message for e in events]
    (ticket,) = algo.transactions.get_order_tickets(lambda t: t.tag == "n1|close|0")
    group = ticket.order.group
    assert (ticket.quantity, group.quantity, group.limit_price) == (6, 6, pytest.approx(0.6))


def test_an_invalid_ticket_is_rejected_at_once_with_its_message(bench):
    """PreOrderChecks failures return an Invalid ticket and no order event (OrderTicket.cs)."""
    plat, algo = bench.platform, bench.algorithm
    _, chain = _chain(bench)
    legs = _condor(chain)
    algo.is_warming_up = True
    plat.submit_combo(ComboOrder("w1|open|0", legs, 1, -1.0, algo.time))
    algo.is_warming_up = False
    (event,) = bench.events()
    assert event.status is OrderStatus.REJECTED and "warm up" in event.message
    assert plat.open_order_tags() == []


def test_unknown_contract_is_rejected_through_drain(bench):
    stray = make_option_contract("SPXW", "SPX", True, 9999, FRIDAY, 100, SecurityKind.INDEX_OPTION, False)
    bench.platform.submit_combo(ComboOrder("g3|open|0", (Leg(stray, -1),), 1, -1.0, bench.algorithm.time))
    (event,) = bench.events()
    assert event.status is OrderStatus.REJECTED and "no LEAN symbol" in event.message


def test_margin_of_a_defined_risk_combo_is_its_maximum_loss(bench):
    snap, chain = _chain(bench)
    legs = _condor(chain)[:2]  # a put credit spread
    width = legs[0].contract.strike - legs[1].contract.strike
    margin = bench.platform.margin_required(legs, 1, snap)
    assert 0 < margin <= width * 100


def test_store_namespaces_keys_and_round_trips_bytes(bench):
    bench.platform.store.save("trading_system/book.json", b'{"a": 1}')
    assert bench.platform.store.load("trading_system/book.json") == b'{"a": 1}'
    assert bench.platform.store.load("missing") is None
    assert all(k.startswith("tomking/7/backtest/") for k in bench.algorithm.object_store.keys)


def test_future_option_greeks_are_black76_and_lean_model_is_not_run(bench):
    """LEAN's FOP Greeks are Black-Scholes on the future with q = 0 (GreeksIndicators.cs,
    DividendYieldProvider.cs); the adapter uses Black-76 for every FOP."""
    snap = bench.platform.snapshot()
    (expiry,) = snap.chains.expiries("ES")[:1]
    chain = snap.chains.chain("ES", expiry)
    q = chain.nearest_delta(Right.PUT, 0.25)
    t = years_to_expiry(snap.time, expiry)
    g = black76_greeks(chain.underlying_price, q.contract.strike, t, 0.04, q.iv, False)
    assert q.delta == pytest.approx(float(g.delta), abs=1e-6)
    lean_contracts = [c for ch in bench.algorithm.current_slice.option_chains.values() for c in ch]
    assert all(c.evaluations == 0 for c in lean_contracts if c.symbol.security_type.name == "FUTURE_OPTION")


def test_a_single_held_quote_prices_one_contract_not_its_chain(bench):
    _snap, chain = _chain(bench)
    contract = chain.quotes[0].contract
    bench.engine.run_until(at(FRIDAY, 10, 35))  # a new slice: LEAN contracts not evaluated yet
    fresh = bench.platform.snapshot()
    assert fresh.chains.quote(contract) is not None
    slice_chains = bench.algorithm.current_slice.option_chains.values()
    evaluated = sum(c.evaluations for ch in slice_chains for c in ch)
    assert evaluated <= 1


def test_weeklies_false_keeps_standard_contracts_only(platform_module, hours):
    from testing.lean.data import OptionFilterUniverse
    from testing.lean.market import Market
    from testing.lean.symbols import SecurityType, Symbol, is_standard

    spy = Symbol.create("SPY", SecurityType.EQUITY, "usa")
    listing = Market().options("SPY", spy, FRIDAY, 500.0)
    universe = OptionFilterUniverse(listing, type("U", (), {"price": 500.0})(), datetime(2026, 10, 9))
    chosen = platform_module.band_filter((StrikeBand(0, 40, 0.9, 1.1),), weeklies=False)(universe).selected()
    assert chosen and all(is_standard(s) for s in chosen)


def test_new_orders_are_not_cancelled(bench):
    plat, algo = bench.platform, bench.algorithm
    _, chain = _chain(bench)
    plat.submit_combo(ComboOrder("g4|open|0", _condor(chain), 1, -50.0, algo.time))
    bench.events()
    (t, *_) = algo.transactions.get_order_tickets(lambda t: t.tag == "g4|open|0")
    for ticket in algo.transactions.get_order_tickets(lambda t: t.tag == "g4|open|0"):
        ticket.order.status = LeanStatus.NEW  # e.g. restored, not acknowledged yet
    plat.cancel("g4|open|0")
    assert t.order.status == LeanStatus.NEW


def test_assignment_and_exercise_alerts(bench):
    from testing.lean.orders import OrderEvent

    plat, algo = bench.platform, bench.algorithm
    symbol = next(iter(next(iter(algo.current_slice.option_chains.values())).contracts))
    event = OrderEvent(1, symbol, algo.utc_time, LeanStatus.FILLED, 4900.0, 1, is_assignment=True)
    plat.on_assignment(event)
    assert algo.notifications == []  # backtest: log only
    assert any("Option assignment" in line for line in algo.lines)
    assert plat.on_order_event(event) == []
    plat.notify(Severity.INFO, "hello", "quiet")
    assert algo.notifications == []


def test_live_partial_fills_reach_core_in_whole_combo_units(platform_module, hours):
    """Live: LEAN reports one event per leg and partial fills as they come
    (BrokerageTransactionHandler.cs); core sees whole combo units filled, then the rest."""
    b = adapter(platform_module, hours, FRIDAY, live=True)
    b.algorithm.transactions.live = True
    b.engine.run_until(at(FRIDAY, 10, 30))
    _, chain = _chain(b)
    legs = _condor(chain)
    b.platform.submit_combo(
        ComboOrder("p1|open|0", legs, 3, -50.0, b.algorithm.time)
    )  # never fills by itself
    b.events()
    tx = b.algorithm.transactions
    orders = [t.order for t in tx.get_order_tickets(lambda t: t.tag == "p1|open|0")]
    for order in orders:  # one of three units at the broker, leg by leg
        tx.fill(order, 1.0, order.quantity / 3, fee=0.0)
    events = b.events()
    assert [e.status for e in events] == [OrderStatus.PARTIALLY_FILLED]
    assert sorted(abs(f.quantity) for f in events[0].fills) == [1, 1, 1, 1]
    for order in orders:
        tx.fill(order, 1.0, order.quantity - order.filled, fee=0.0)
    assert [e.status for e in b.events()] == [OrderStatus.FILLED]
