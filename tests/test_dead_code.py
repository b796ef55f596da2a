"""No dead code in the product: vulture over the whole repository (so a use from the tests, the
shared test helpers or the benchmarks counts), reporting product code only.  Confidence 60 is
vulture's level for unused functions, classes, methods, attributes and variables; the analysis is
static and deterministic, so the check cannot flake."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dead_code_whitelist import ALLOWED

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("main.py", "assembly.py", "core", "strategies", "risk", "execution", "persistence", "monitoring",
           "brokers", "sim", "analysis", "lean_adapter")  # fmt: skip
USERS = ("testing", "tests", "bench")


@pytest.fixture(scope="module")
def unused() -> list[tuple[str, str]]:
    """(where, name) of every unused thing vulture finds in product code, whitelist not applied."""
    vulture = pytest.importorskip("vulture", reason="vulture is a dev tool (dev extra)")
    v = vulture.Vulture()
    v.scavenge([str(ROOT / p) for p in (*PRODUCT, *USERS)])
    product = tuple(str(ROOT / p) for p in PRODUCT)
    return [
        (f"{Path(i.filename).relative_to(ROOT)}:{i.first_lineno}: unused {i.typ}", i.name)
        for i in v.get_unused_code(min_confidence=60)
        if str(i.filename).startswith(product)
    ]


def test_product_code_has_no_dead_code(unused):
    dead = [f"{where} {name!r}" for where, name in unused if name not in ALLOWED]
    assert not dead, "remove it, or list an entry point in tests/dead_code_whitelist.py:\n" + "\n".join(dead)


def test_every_whitelisted_name_is_still_needed(unused):
    stale = set(ALLOWED) - {name for _, name in unused}
    assert not stale, f"no longer unused, drop from tests/dead_code_whitelist.py: {sorted(stale)}"
