"""The LEAN adapter's ``liquidate`` (how the risk layer flattens an assigned holding in LEAN), on the
LEAN double: a tagged market order while the exchange is open; nothing while it is closed, where
LEAN would turn it into a MarketOnOpen order that Tastytrade's brokerage model refuses."""

from __future__ import annotations

from datetime import date

from core.ports import Platform
from testing.lean.bench import adapter, at
from testing.lean.fixtures import hours, lean, platform_module  # noqa: F401
from testing.lean.orders import OrderStatus, OrderType

DAY = date(2026, 10, 8)


def _spy(bench):
    return next(s for s in bench.algorithm.securities if s.value == "SPY")


def _assigned(bench):
    spy = _spy(bench)
    bench.algorithm.securities[spy].holdings.quantity = 100.0  # delivered by an assignment
    bench.algorithm.securities[spy].holdings.average_price = 500.0
    return spy


def test_lean_platform_flattens_a_stock_holding_with_a_tagged_market_order(platform_module, hours):  # noqa: F811
    bench = adapter(platform_module, hours, DAY)
    bench.engine.run_until(at(DAY, 11, 5))
    plat, algo = bench.platform, bench.algorithm
    assert callable(Platform.liquidate) and callable(plat.liquidate)  # the port declares it
    spy = _assigned(bench)
    assert plat.account().holdings["SPY"].quantity == 100.0
    plat.liquidate("SPY", -100.0, "risk|flatten|SPY|202610081105")
    (order,) = algo.transactions.orders.values()
    assert (order.type, order.quantity, order.tag, order.status) == (
        OrderType.MARKET,
        -100.0,
        "risk|flatten|SPY|202610081105",
        OrderStatus.FILLED,
    )
    assert algo.securities[spy].holdings.quantity == 0
    assert bench.events() == [] and not any("unknown order" in line for line in algo.lines)
    plat.liquidate("QQQ", -5.0, "risk|flatten|QQQ|1")
    assert any("Cannot flatten" in line for line in algo.lines)


def test_no_market_order_for_a_stock_while_its_exchange_is_closed(platform_module, hours):  # noqa: F811
    bench = adapter(platform_module, hours, DAY)
    bench.engine.run_until(at(DAY, 16, 30))  # SPY closed (16:00); SPX still open until 16:15? no: closed too
    plat, algo = bench.platform, bench.algorithm
    _assigned(bench)
    plat.liquidate("SPY", -100.0, "risk|flatten|SPY|202610081630")
    assert algo.transactions.orders == {}, "LEAN would send MarketOnOpen, which Tastytrade refuses"
    assert any("Flatten deferred" in line for line in algo.lines)
