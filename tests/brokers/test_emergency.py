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
    from testing.loopback.rest import position_json

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


# --- which positions the sweep closes (pure: broker positions, spot and quotes are given) --------

NOW = datetime(2025, 3, 7, 14, 30)
SPXW_PUT, SPY_CALL = "SPXW  250307P05000000", "SPY   250307C00580000"


def _plan(rows, spots, quotes=None, now=NOW):
    from brokers.emergency import plan_assignment_closes
    from brokers.quote_cache import QuoteValue
    from brokers.reconcile import BrokerPosition

    default = QuoteValue(2.02, 2.13, 5, 5)
    book = quotes if quotes is not None else {}
    return plan_assignment_closes(
        [BrokerPosition(*r) for r in rows],
        now,
        lambda oid: spots.get(oid.root),
        lambda sym: book.get(sym, default),
    )


def test_sweep_closes_short_options_in_the_money_or_pin_zone_expiring_today():
    rows = [
        (SPXW_PUT, "Equity Option", -2),  # ITM put (spot 4990)
        (SPY_CALL, "Equity Option", -1),  # within 1 % of 580 (spot 576)
        ("SPY   250307P00550000", "Equity Option", -1),  # far OTM: no risk
        ("SPXW  250307C05200000", "Equity Option", 3),  # long: never
        ("SPXW  250314P05000000", "Equity Option", -1),  # next week: not today
        ("./ESH5 ESH5  250307P5800", "Future Option", -1),  # not handled, said so
    ]
    plan = _plan(rows, {"SPXW": 4990.0, "SPY": 576.0})
    assert [(r.symbol, r.quantity, r.limit_price) for r in plan.requests] == [
        (SPXW_PUT, 2, 2.15),  # ask 2.13 rounded up to the 0.05 tick
        (SPY_CALL, 1, 2.15),
    ]
    assert all(r.tag.startswith("emergency:") for r in plan.requests)
    assert len(plan.skipped) == 1 and "futures options" in plan.skipped[0]


def test_sweep_treats_unknown_spot_as_at_risk_and_never_prices_without_a_fresh_quote():
    from brokers.quote_cache import QuoteValue

    rows = [(SPXW_PUT, "Equity Option", -1), (SPY_CALL, "Equity Option", -1)]
    quotes = {".SPXW250307P5000": None, ".SPY250307C580": QuoteValue(3.1, 2.9, 1, 1)}  # missing, crossed
    plan = _plan(rows, {}, quotes)
    assert plan.requests == () and len(plan.skipped) == 2
    assert all("no fresh DXLink quote" in s for s in plan.skipped)


def test_sweep_stops_at_the_cutoff():
    rows = [(SPY_CALL, "Equity Option", -1), (SPXW_PUT, "Equity Option", -1)]
    plan = _plan(rows, {}, now=datetime(2025, 3, 7, 15, 10))  # shares 15:00 passed, cash 15:45 not
    assert [r.symbol for r in plan.requests] == [SPXW_PUT]


@pytest.mark.parametrize(
    ("ask", "limit"), [(0.01, 0.05), (2.95, 2.95), (2.96, 3.0), (3.01, 3.1), (12.3, 12.3)]
)
def test_tick_up(ask, limit):
    from brokers.emergency import tick_up

    assert tick_up(ask) == pytest.approx(limit)
