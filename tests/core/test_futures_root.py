"""One futures-root parser for betas, correlation groups and the watched underlyings."""

from __future__ import annotations

import pytest

from core.futures_root import futures_root
from core.portfolio_greeks import BetaTable
from core.settings import Settings
from risk.correlation import symbol_group


@pytest.mark.parametrize(
    ("symbol", "root"),
    [
        ("ESZ25", "ES"),
        ("ESZ5", "ES"),
        ("/ESZ5", "ES"),
        ("MESZ5", "MES"),
        ("MCLZ25", "MCL"),
        ("HGZ5", "HG"),  # G is a month code too: the shortest root that leaves month+year wins
        ("ZNZ25", "ZN"),
        ("6EH6", "6E"),
        ("SPX", "SPX"),
        ("QQQ", "QQQ"),
        ("ES", "ES"),
    ],
)
def test_futures_root(symbol, root):
    assert futures_root(symbol) == root


def test_risk_beta_of_a_one_digit_year_contract_is_its_roots():
    """Was 1.0: the gate's own month stripper turned ``CLZ5`` into ``C`` and missed CL's 0.3."""
    betas = BetaTable.from_settings(Settings())
    assert betas.of("LO", "CLZ5") == betas.of("LO", "CLZ25") == 0.3
    assert betas.of("MES", "MESZ5") == 1.0 and betas.of("NQ", "NQH6") == 1.15


def test_correlation_group_of_a_tastytrade_futures_key():
    assert symbol_group("/CLZ5") == symbol_group("CLZ25") == symbol_group("CL")
