"""The one futures-contract parser for the layers' symbol keys: ``ESZ25``, ``ESZ5`` and
Tastytrade's ``/ESZ5`` are all contracts of the ``ES`` root.

Betas, correlation groups and the watched-underlyings list look a contract up by its root; before
this module four copies disagreed on one-digit years (``ESZ5`` became ``E`` in the beta table and
stayed ``ESZ5`` in the risk monitors).
"""

from __future__ import annotations

import re
from functools import lru_cache

# root (1-4 letters/digits, shortest first), month code, 1- or 2-digit year; leading "/" optional.
_CONTRACT = re.compile(r"^/?(?P<root>[A-Z0-9]{1,4}?)[FGHJKMNQUVXZ]\d{1,2}$")


@lru_cache(maxsize=4096)  # asked for every watched symbol at every step; the symbols are few
def futures_root(symbol: str) -> str:
    """``ESZ25`` / ``ESZ5`` / ``/ESZ5`` -> ``ES``; index, equity and root keys are returned unchanged."""
    m = _CONTRACT.match(symbol)
    return m.group("root") if m else symbol
