"""Emergency close-only route: refuses anything that opens or grows a position, dry-run by default."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from brokers.emergency import CloseRequest, close_only_problem, should_flatten
from tests.brokers.conftest import need_sdk

PUT = "SPXW  250307P05000000"


@pytest.mark.parametrize(
    ("qty", "position", "problem"),
    [
        (2, -2, ""),  # buy to close a short
        (1, -2, ""),  # partial close
        (-3, 3, ""),  # sell to close a long
        (3, -2, "exceeds"),  # would reverse into a long
        (-1, -2, "increase"),  # sell more of a short
        (1, 0, "no broker position"),  # would open
        (0, -2, "zero"),
    ],
)
def test_close_only_rule(qty, position, problem):
    got = close_only_problem(CloseRequest(PUT, "Equity Option", qty, 1.0), position)
    assert (problem in got) if problem else got == ""


def test_price_must_be_positive():
    assert "limit price" in close_only_problem(CloseRequest(PUT, "Equity Option", 1, 0.0), -1)


def test_should_flatten_window():
    t = datetime(2025, 3, 7, 14, 30)
    cutoff = datetime(2025, 3, 7, 15, 0)
    kw = {"down_for": timedelta(minutes=10), "window": timedelta(minutes=45)}
    assert should_flatten(t, t - timedelta(minutes=15), cutoff, **kw)
    assert not should_flatten(t, t - timedelta(minutes=5), cutoff, **kw)  # not down long enough
    assert not should_flatten(t, None, cutoff, **kw)
    assert not should_flatten(t - timedelta(hours=2), t - timedelta(hours=3), cutoff, **kw)  # too early


@pytest.fixture
def route_parts(loopback):
    need_sdk()
    from brokers.client import BrokerClient
    from tests.brokers.loopback_rest import position_json

    loopback.rest_state.positions = [
        position_json(PUT, "Equity Option", -2, "SPX"),
        position_json("/ESU5", "Future", 1, "/ES"),
    ]
    client = BrokerClient(loopback.credentials, timeout=10.0, client_kwargs={"trust_env": False})
    yield loopback, client
    client.close()


def test_dry_run_returns_the_order_and_sends_nothing(route_parts):
    from brokers.emergency import EmergencyCloseRoute

    lb, client = route_parts
    route = EmergencyCloseRoute(client)  # live defaults to False
    r = route.close(CloseRequest(PUT, "Equity Option", 2, 4.5, tag="emergency:g1:0:1"))
    assert r.dry_run and not r.sent and not r.refused
    leg = r.order["legs"][0]
    assert leg == {"instrument-type": "Equity Option", "symbol": PUT, "action": "Buy to Close", "quantity": 2}
    assert (
        r.order["order-type"] == "Limit" and r.order["price"] == "4.5" and r.order["price-effect"] == "Debit"
    )
    assert r.order["advanced-instructions"] == {"strict-position-effect-validation": True}
    assert lb.rest_state.orders == []


def test_refuses_orders_that_open_or_increase(route_parts):
    from brokers.emergency import EmergencyCloseRoute

    lb, client = route_parts
    route = EmergencyCloseRoute(client, live=True)
    assert "increase" in route.close(CloseRequest(PUT, "Equity Option", -1, 4.5)).refused
    assert (
        "no broker position"
        in route.close(CloseRequest("SPY   250321C00580000", "Equity Option", 1, 1.0)).refused
    )
    assert lb.rest_state.orders == []


@pytest.mark.filterwarnings("ignore:Use 'content=:DeprecationWarning")  # the SDK posts with data=
def test_live_close_goes_through_the_sdk(route_parts):
    from brokers.emergency import EmergencyCloseRoute

    lb, client = route_parts
    route = EmergencyCloseRoute(client, live=True)
    r = route.close(CloseRequest("/ESU5", "Future", -1, 5800.25, tag="emergency:es:0:1"))
    assert r.sent and not r.dry_run and r.order_id is not None
    ((path, body),) = lb.rest_state.orders
    assert path == "/accounts/5WT00001/orders"
    assert body["legs"][0]["action"] == "Sell" and body["price-effect"] == "Credit"
    assert body["external-identifier"] == "emergency:es:0:1"
