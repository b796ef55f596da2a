"""Pytest fixtures for tests on the LEAN double (testing/lean).  The double's exchange hours come from
LEAN's own market-hours-database.json beside the project (../shared/data/lean); where it is absent
(a user's clone) every test that needs it is skipped with that reason."""

from __future__ import annotations

import importlib

import pytest

from testing.lean import installed
from testing.lean.hours import MISSING, database


@pytest.fixture(scope="session")
def hours():
    db = database()
    if db is None:
        pytest.skip(MISSING)
    return db


@pytest.fixture
def lean(hours):
    """``main`` imported against the double (``AlgorithmImports`` = testing.lean.algorithm_imports)."""
    with installed() as main:
        yield main


@pytest.fixture
def platform_module(lean):
    return importlib.import_module("lean_adapter.platform")
