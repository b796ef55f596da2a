"""The rulebook's correlation groups of underlyings (STRATEGY_RULES.md), shared by the correlation
caps (``risk.correlation``) and the stress model (``core.stress``: the equity-index groups move
together, every other group on its own).

Symbols map to groups by option root first, then by the underlying with any futures month code
removed (``ESH26`` -> ``ES``).  A symbol in no listed group forms a group of its own.
"""

from __future__ import annotations

from core.futures_root import futures_root

GROUPS: dict[str, tuple[str, ...]] = {
    "A1": ("ES", "MES", "NQ", "MNQ", "RTY", "M2K"),
    "A2": ("SPX", "SPXW", "XSP", "SPY", "QQQ", "IWM", "DIA", "NDX", "NDXP", "RUT", "RUTW"),
    "B1": ("ZB", "ZN", "TLT"),
    "B2": ("GC", "MGC", "SI", "HG"),
    "C1": ("CL", "MCL"),
    "C2": ("NG",),
    "D1": ("ZC", "ZS", "ZW"),
    "D2": ("LE", "HE"),
    "E": ("6E", "6J", "6B", "6A"),
}
EQUITY_INDEX = ("A1", "A2")
_BY_SYMBOL = {symbol: group for group, symbols in GROUPS.items() for symbol in symbols}
# Futures option trading classes that differ from their futures root.
_OPTION_ROOTS = {"EW": "ES", "EW1": "ES", "EW2": "ES", "EW3": "ES", "E1A": "ES", "LO": "CL", "OG": "GC"}


def symbol_group(symbol: str) -> str:
    s = symbol.upper().strip()
    s = _OPTION_ROOTS.get(s, s)
    if s in _BY_SYMBOL:
        return _BY_SYMBOL[s]
    root = futures_root(s)
    if root in _BY_SYMBOL:
        return _BY_SYMBOL[root]
    return f"other:{s}"


def contract_group(root: str, underlying: str) -> str:
    """The group of an option: by its root, else by its underlying."""
    group = symbol_group(root)
    return group if not group.startswith("other:") else symbol_group(underlying)
