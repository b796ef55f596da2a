"""Reconciliation: Tastytrade positions/balances (via the SDK, from the loopback REST server)
against LEAN's portfolio, with matching and mismatching positions."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from brokers.reconcile import BrokerAccount, BrokerPosition, MismatchKind, reconcile
from core.ports import Severity
from core.types import AccountState, ExerciseStyle, Holding, OptionContract, Right, SecurityKind, Settlement
from testing.factories import spxw
from tests.brokers.conftest import need_sdk

T = datetime(2025, 3, 7, 15, 0)
SHORT_PUT = spxw(5000.0, Right.PUT, date(2025, 3, 7))
ES_PUT = OptionContract(
    "ES", "ESU25", Right.PUT, 5800.0, date(2025, 9, 19), 50.0,
    SecurityKind.FUTURE_OPTION, ExerciseStyle.AMERICAN, Settlement.FUTURE,
)  # fmt: skip


def lean_state(**overrides) -> AccountState:
    holdings = {
        SHORT_PUT.symbol: Holding(SHORT_PUT.symbol, -2, 3.1, SHORT_PUT),
        ES_PUT.symbol: Holding(ES_PUT.symbol, -1, 20.0, ES_PUT),
        "BRK.B": Holding("BRK.B", 10, 400.0),
        "ESU25": Holding("ESU25", 1, 5800.0),
    }
    holdings.update(overrides)
    return AccountState(
        T, 100_000.0, 50_000.0, 10_000.0, {k: v for k, v in holdings.items() if v is not None}
    )


BROKER = [
    ("SPXW  250307P05000000", "Equity Option", -2),
    ("./ESU5 ESU5  250919P5800", "Future Option", -1),
    ("BRK/B", "Equity", 10),
    ("/ESU5", "Future", 1),
]


def broker_account(rows=BROKER, cash=50_000.0, nlv=100_100.0) -> BrokerAccount:
    return BrokerAccount("5WT00001", tuple(BrokerPosition(*r) for r in rows), cash, nlv)


def test_matching_positions_and_balances():
    report = reconcile(broker_account(), lean_state())
    assert report.ok and report.alerts() == []
    assert report.nlv_diff == pytest.approx(100.0)


def test_mismatches_are_typed():
    rows = [
        ("SPXW  250307P05000000", "Equity Option", -1),  # quantity differs
        ("SPY   250321C00580000", "Equity Option", 1),  # unknown to LEAN
        ("BRK/B", "Equity", 10),
        ("/ESU5", "Future", 1),
        ("???", "Equity Option", 1),  # unreadable
    ]  # ES put missing at the broker
    report = reconcile(broker_account(rows, cash=48_000.0, nlv=90_000.0), lean_state())
    kinds = {m.kind: m for m in report.mismatches}
    assert set(kinds) == {MismatchKind.QUANTITY, MismatchKind.UNKNOWN, MismatchKind.MISSING}
    assert (
        kinds[MismatchKind.QUANTITY].lean_quantity == -2
        and kinds[MismatchKind.QUANTITY].broker_quantity == -1
    )
    assert kinds[MismatchKind.MISSING].lean_symbol == ES_PUT.symbol
    assert kinds[MismatchKind.UNKNOWN].broker_symbol.startswith("SPY")
    assert report.unparsed == ("???",)
    assert not report.cash_ok and not report.nlv_ok and not report.ok
    severities = [a[0] for a in report.alerts()]
    assert severities == [Severity.CRITICAL, Severity.WARNING]


@pytest.fixture
def broker_client(loopback):
    need_sdk()
    from brokers.client import BrokerClient

    client = BrokerClient(loopback.credentials, timeout=10.0, client_kwargs={"trust_env": False})
    yield client
    client.close()


def _serve_positions(loopback, rows):
    from testing.loopback.rest import position_json

    loopback.rest_state.positions = [
        position_json(sym, itype, qty, sym.split()[0].lstrip("./")) for sym, itype, qty in rows
    ]


def test_sdk_fetch_matches_lean(loopback, broker_client):
    _serve_positions(loopback, BROKER)
    loopback.rest_state.cash, loopback.rest_state.nlv = 50_000.0, 100_050.0
    acct = broker_client.fetch_account()
    assert {p.symbol: p.quantity for p in acct.positions} == {r[0]: r[2] for r in BROKER}
    assert (acct.cash, acct.net_liquidation) == (50_000.0, 100_050.0)
    report = broker_client.reconcile(lean_state())
    assert report.ok, report.alerts()
    paths = [p for _, p in loopback.rest_state.requests]
    assert "/accounts/5WT00001/positions" in paths and "/accounts/5WT00001/balances/USD" in paths


def test_sdk_fetch_mismatch_raises_alerts(loopback, broker_client):
    _serve_positions(loopback, [*BROKER[:2], ("BRK/B", "Equity", 5)])
    report = broker_client.reconcile(lean_state())
    assert not report.ok
    assert {m.kind for m in report.mismatches} == {MismatchKind.QUANTITY, MismatchKind.MISSING}
    (severity, _title, message), *_ = report.alerts()
    assert severity is Severity.CRITICAL and "BRK/B" in message and "ESU25" in message


def test_refused_credentials_are_a_clear_error(loopback, broker_client):
    from brokers.session import AuthRefused

    loopback.rest_state.token_status = 401
    with pytest.raises(AuthRefused, match="refused the credentials"):
        broker_client.fetch_account()
