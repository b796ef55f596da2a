"""The simulated broker's fault injection does what its rates say, reproducibly."""

from __future__ import annotations

import pytest

from core.types import ComboOrder, Leg, OrderStatus, Right
from sim.broker import SimBroker, SimMargin, TastytradeFees
from sim.broker.faults import FaultConfig, FaultyBroker, make_broker
from testing.factories import friday, snapshot, spxw, zero_dte_chain


def test_fault_config_parses_rates_and_refuses_bad_ones():
    config = FaultConfig.parse("partial=0.2, reject=0.05,drop=0.02,seed=4")
    assert (config.partial, config.reject, config.drop, config.seed) == (0.2, 0.05, 0.02, 4)
    assert config.active and not FaultConfig().active
    with pytest.raises(ValueError, match="expected one of"):
        FaultConfig.parse("partials=0.2")
    with pytest.raises(ValueError, match="not a number"):
        FaultConfig.parse("reject=lots")
    with pytest.raises(ValueError, match=r"within \[0, 1\]"):
        FaultConfig.parse("drop=1.5")


def _broker(**rates):
    margin = SimMargin()
    broker = make_broker(1e6, TastytradeFees(), margin, FaultConfig(**rates))
    now = friday()
    snap = snapshot(now, [zero_dte_chain(now)])
    legs = tuple(
        Leg(spxw(k, r, now.date()), q)
        for r, k, q in [
            (Right.PUT, 4900, 1),
            (Right.PUT, 4920, -1),
            (Right.CALL, 5080, -1),
            (Right.CALL, 5100, 1),
        ]
    )
    order = ComboOrder("g|open|0", legs, 3, 5.0, now)  # a limit any natural price meets
    return broker, order, snap


def test_no_rates_means_the_plain_broker():
    broker, _, _ = _broker()
    assert type(broker) is SimBroker


def test_rejects_drops_and_delayed_acks():
    broker, order, snap = _broker(reject=1.0)
    (event,) = broker.submit(order, snap.time, snap)
    assert event.status is OrderStatus.REJECTED and event.event_id and broker.open_order_tags() == []
    broker, order, snap = _broker(drop=1.0)
    assert broker.submit(order, snap.time, snap) == [] and broker.open_order_tags() == []
    broker, order, snap = _broker(delay=1.0)
    assert broker.submit(order, snap.time, snap) == [] and broker.open_order_tags() == [order.tag]
    events = broker.process(snap)
    assert [e.status for e in events] == [OrderStatus.SUBMITTED, OrderStatus.FILLED]


def test_partial_fills_break_a_combo_by_legs_or_by_units_and_books_only_what_filled():
    seen = set()
    for seed in range(12):
        broker, order, snap = _broker(partial=1.0, seed=seed)
        assert isinstance(broker, FaultyBroker)
        broker.submit(order, snap.time, snap)
        events = broker.process(snap)
        assert events[0].status is OrderStatus.PARTIALLY_FILLED
        filled = {f.contract.symbol: f.quantity for f in events[0].fills}
        holdings = broker.holdings()
        assert {s: h.quantity for s, h in holdings.items()} == filled, "only what filled is booked"
        if len(events) == 2:
            seen.add("legs")
            assert events[1].status is OrderStatus.CANCELLED and len(filled) < len(order.legs)
            assert broker.open_order_tags() == []
        else:
            seen.add("units")
            assert len(filled) == len(order.legs) and broker.open_order_tags() == [order.tag]
    assert seen == {"legs", "units"}


def test_duplicates_repeat_the_event_id_and_cancel_races_let_the_order_fill():
    broker, order, snap = _broker(duplicate=1.0)
    broker.submit(order, snap.time, snap)
    first, second = broker.process(snap)
    assert first == second and first.status is OrderStatus.FILLED
    assert broker.holdings()[order.legs[0].contract.symbol].quantity == 3, "booked once"
    broker, order, snap = _broker(cancel_race=1.0)
    broker.submit(order, snap.time, snap)
    assert broker.cancel(order.tag, snap.time) == []
    (event,) = broker.process(snap)
    assert event.status is OrderStatus.FILLED


def test_the_same_seed_injects_the_same_faults():
    def run(seed):
        broker, order, snap = _broker(partial=0.5, reject=0.3, drop=0.2, seed=seed)
        out = []
        for i in range(20):
            out += broker.submit(ComboOrder(f"g|open|{i}", order.legs, 3, 5.0, snap.time), snap.time, snap)
            out += broker.process(snap)
        return [(e.tag, e.status, e.event_id) for e in out]

    assert run(1) == run(1) and run(1) != run(2)


def test_the_cli_refuses_bad_fault_specs_before_running(tmp_path, capsys):
    from sim.cli import main

    code = main(["backtest", "--faults", "partial=2", "--out", str(tmp_path), "--quiet"])
    assert code == 2
    assert "--faults" in capsys.readouterr().err
    assert not (tmp_path / "summary.txt").exists()
