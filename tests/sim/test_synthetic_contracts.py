"""Contracts made a column at a time (``sim.markets.synthetic.contracts``) are the constructor's."""

from __future__ import annotations

from dataclasses import fields
from datetime import date

import pytest

from core.types import OptionContract, Right
from sim.markets.synthetic.contracts import option_pairs
from sim.markets.synthetic.roots import ROOTS


@pytest.mark.parametrize("root", sorted(ROOTS))
def test_pairs_equal_the_constructors_in_every_field_symbol_and_hash(root: str):
    spec = ROOTS[root]
    strikes = [0.5, 4.25, 72.5, 101.0, 5995.0, 12345.75]
    expiry = date(2026, 1, 9)
    pairs = option_pairs(spec, spec.underlying or "ESH26", expiry, strikes)
    assert len(pairs) == len(strikes)
    for k, (call, put) in zip(strikes, pairs, strict=True):
        for made, right in ((call, Right.CALL), (put, Right.PUT)):
            built = OptionContract(spec.root, spec.underlying or "ESH26", right, k, expiry, spec.multiplier,
                                   spec.kind, spec.style, spec.settlement)  # fmt: skip
            assert made == built and hash(made) == hash(built) and repr(made) == repr(built)
            assert all(getattr(made, f.name) == getattr(built, f.name) for f in fields(OptionContract))
            assert made.symbol == built.symbol


def test_no_strikes_no_pairs():
    assert option_pairs(ROOTS["SPXW"], "SPX", date(2026, 1, 9), []) == []
