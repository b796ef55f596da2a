"""The LEAN adapter's ``liquidate`` (how the risk layer flattens an assigned holding in LEAN), on the
fake LEAN module of tests/lean: a market order for the holding, tagged so its fill is not mistaken
for an unknown order."""

from __future__ import annotations

import types

from core.ports import Platform
from tests.lean.test_adapter_with_fake_lean import (  # noqa: F401  (fixtures)
    Event,
    OrderStatus_,
    SecurityType,
    Sid,
    Symbol,
    adapter,
    platform,
)


def test_lean_platform_flattens_a_stock_holding_with_a_tagged_market_order(platform):  # noqa: F811
    algo, plat = platform
    assert callable(Platform.liquidate) and callable(plat.liquidate)  # the port declares it
    spy = Symbol("SPY", SecurityType.EQUITY, Sid("SPY"))
    holding = types.SimpleNamespace(invested=True, symbol=spy, quantity=100.0, average_price=500.0)
    algo.portfolio.values = lambda: [holding]
    orders: list[tuple] = []
    algo.market_order = lambda symbol, quantity, tag="": orders.append((symbol, quantity, tag))
    assert plat.account().holdings["SPY"].quantity == 100.0
    plat.liquidate("SPY", -100.0, "risk|flatten|SPY|202503041105")
    assert orders == [(spy, -100.0, "risk|flatten|SPY|202503041105")]
    ticket = types.SimpleNamespace(tag="risk|flatten|SPY|202503041105", order_type=None, order_id=7)
    fill = Event(ticket, spy, OrderStatus_.FILLED, -100, 480.0)
    assert plat.on_order_event(fill) == []
    assert not algo.emails, "no 'fill of an unknown order' alert for the flatten"
    plat.liquidate("QQQ", -5.0, "risk|flatten|QQQ|1")
    assert len(orders) == 1 and algo.emails and "Cannot flatten" in algo.emails[-1][1]
