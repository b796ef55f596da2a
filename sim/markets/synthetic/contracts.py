"""A chain's new ``OptionContract`` values made a column at a time, at under half the cost of the
frozen dataclass's ``__init__``.

Each of the contract's slots is set through its own setter over a column of values, as
``rows.quotes_from_columns`` does for quotes; ``symbol`` (``core.types.occ_prefix`` /
``occ_suffix``) and ``_hash`` are what ``OptionContract.__post_init__`` computes (a test checks
every field, the symbol and the hash against the constructor, so a change there fails loudly
here).  A chain lists hundreds of new strikes whenever a new expiry comes in, so contracts are
made by the tens of thousands per run.
"""

from __future__ import annotations

from collections import deque
from dataclasses import fields
from datetime import date
from itertools import repeat

from core.types import OptionContract, Right, occ_prefix, occ_suffix
from sim.markets.synthetic.roots import RootSpec

_SETTERS = {f.name: getattr(OptionContract, f.name).__set__ for f in fields(OptionContract)}
_RIGHTS = (Right.CALL, Right.PUT)


def option_pairs(
    spec: RootSpec, underlying: str, expiry: date, strikes: list[float]
) -> list[tuple[OptionContract, OptionContract]]:
    """The (call, put) of each of ``strikes``, equal to the constructor's to the last field."""
    rights = [r for _ in strikes for r in _RIGHTS]
    doubled = [k for k in strikes for _ in _RIGHTS]
    prefix = occ_prefix(spec.root, expiry)
    root, multiplier, kind, style, settlement = (
        spec.root,
        spec.multiplier,
        spec.kind,
        spec.style,
        spec.settlement,
    )
    columns = {
        "root": repeat(root),
        "underlying": repeat(underlying),
        "right": rights,
        "strike": doubled,
        "expiry": repeat(expiry),
        "multiplier": repeat(multiplier),
        "kind": repeat(kind),
        "style": repeat(style),
        "settlement": repeat(settlement),
        "symbol": [prefix + occ_suffix(r, k) for r, k in zip(rights, doubled, strict=True)],
        "_hash": [
            hash((root, underlying, r, k, expiry, multiplier, kind, style, settlement))
            for r, k in zip(rights, doubled, strict=True)
        ],
    }
    made = [object.__new__(OptionContract) for _ in doubled]
    for name, setter in _SETTERS.items():
        deque(map(setter, made, columns[name]), maxlen=0)  # run the setters, keep nothing
    return list(zip(made[::2], made[1::2], strict=True))
