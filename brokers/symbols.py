"""One mapping between LEAN symbol strings, Tastytrade (OCC) symbols and DXLink streamer symbols.

Three names exist for every option we trade and each system insists on its own:

=================  ==========================  ===========================  =====================
instrument         LEAN value / core symbol    Tastytrade (orders, REST)    DXLink streamer
=================  ==========================  ===========================  =====================
SPXW weekly put    ``SPXW  250307P05000000``   ``SPXW  250307P05000000``    ``.SPXW250307P5000``
SPY call           ``SPY   250321C00580000``   ``SPY   250321C00580000``    ``.SPY250321C580``
F call, 2.02       ``F     250620C00002020``   ``F     250620C00002020``    ``.F250620C2.02``
BRK.B option       ``BRKB  250620C00190000``   ``BRKB  250620C00190000``    ``.BRKB250620C190``
ES future          ``ESM25``                   ``/ESM5``                    ``/ESM25:XCME``
ES option          ``ES    250919P00900000``   ``./ESU5 ESU5  250919P900``  ``./ESU25P900:XCME``
=================  ==========================  ===========================  =====================

Equity and index options use the OCC-21 form everywhere except the streamer, which drops the
padding and prints the strike without trailing zeros (both spellings: ``brokers.occ``).  Futures
and futures options live in ``brokers.futures_symbols``.  The examples above come from Tastytrade's API docs and from
QuantConnect's own Tastytrade brokerage tests, and are the unit tests of this module.
"""

from __future__ import annotations

from dataclasses import dataclass

from brokers.futures_symbols import future_option_for
from brokers.occ import INDEX_OPTION_ROOTS, OptionId, option_root, parse_occ, parse_streamer_option
from core.types import ExerciseStyle, OptionContract, SecurityKind, Settlement


@dataclass(frozen=True, slots=True)
class SymbolSet:
    """The three names of one instrument."""

    lean: str
    tastytrade: str
    streamer: str


def tastytrade_equity(lean_ticker: str) -> str:
    """Tastytrade writes share classes with a slash: LEAN ``BRK.B`` is ``BRK/B``."""
    return lean_ticker.strip().upper().replace(".", "/")


def lean_equity(tastytrade_ticker: str) -> str:
    return tastytrade_ticker.strip().upper().replace("/", ".")


def option_id(contract: OptionContract) -> OptionId:
    return OptionId(option_root(contract.root), contract.expiry, contract.right, contract.strike)


def symbols_for(contract: OptionContract) -> SymbolSet:
    """LEAN, Tastytrade and DXLink names of a core ``OptionContract`` (any kind)."""
    if contract.kind is SecurityKind.FUTURE_OPTION:
        fop = future_option_for(contract)
        return SymbolSet(contract.symbol, fop.tastytrade, fop.streamer)
    oid = option_id(contract)
    return SymbolSet(contract.symbol, oid.occ, oid.streamer)


def contract_from_occ(symbol: str, underlying: str | None = None) -> OptionContract:
    """A core ``OptionContract`` for an OCC or DXLink equity/index option symbol.

    Index roots (SPX, SPXW, XSP, ...) become European, cash-settled index options on their
    index; anything else an American, share-settled equity option of 100 shares on ``underlying``
    (default: the root, right for SPY/QQQ/IWM; pass it for roots like ``BRKB`` -> ``BRK.B``).
    """
    oid = parse_streamer_option(symbol) if symbol.startswith(".") else parse_occ(symbol)
    if oid.root in INDEX_OPTION_ROOTS:
        return OptionContract(
            oid.root,
            INDEX_OPTION_ROOTS[oid.root],
            oid.right,
            oid.strike,
            oid.expiry,
            100.0,
            SecurityKind.INDEX_OPTION,
            ExerciseStyle.EUROPEAN,
            Settlement.CASH,
        )
    return OptionContract(
        oid.root,
        underlying or oid.root,
        oid.right,
        oid.strike,
        oid.expiry,
        100.0,
        SecurityKind.EQUITY_OPTION,
        ExerciseStyle.AMERICAN,
        Settlement.SHARES,
    )
