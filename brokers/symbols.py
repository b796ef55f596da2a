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
padding and prints the strike without trailing zeros.  Futures and futures options live in
``brokers.futures_symbols``.  The examples above come from Tastytrade's API docs and from
QuantConnect's own Tastytrade brokerage tests, and are the unit tests of this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from core.types import ExerciseStyle, OptionContract, Right, SecurityKind, Settlement

# Cash-settled, European index option roots -> the index they settle on.
INDEX_OPTION_ROOTS: dict[str, str] = {
    "SPX": "SPX",
    "SPXW": "SPX",
    "XSP": "XSP",
    "NDX": "NDX",
    "NDXP": "NDX",
    "RUT": "RUT",
    "RUTW": "RUT",
    "VIX": "VIX",
    "VIXW": "VIX",
    "DJX": "DJX",
}

_OCC = re.compile(r"^(?P<root>[A-Z0-9 ]{1,6}?)\s*(?P<ymd>\d{6})(?P<right>[CP])(?P<strike>\d{8})$")
_STREAMER = re.compile(r"^\.(?P<root>[A-Z0-9]+?)(?P<ymd>\d{6})(?P<right>[CP])(?P<strike>\d+(?:\.\d+)?)$")


@dataclass(frozen=True, slots=True)
class OptionId:
    """The identity of a listed equity or index option, whatever the spelling."""

    root: str
    expiry: date
    right: Right
    strike: float

    @property
    def occ(self) -> str:
        """OCC-21: root padded to 6, yymmdd, C/P, strike x 1000 in 8 digits (LEAN's value)."""
        return f"{self.root:<6}{self.expiry:%y%m%d}{self.right.value}{round(self.strike * 1000):08d}"

    @property
    def streamer(self) -> str:
        """DXLink: ``.`` root yymmdd C/P strike without padding or trailing zeros."""
        return f".{self.root}{self.expiry:%y%m%d}{self.right.value}{format_strike(self.strike)}"


@dataclass(frozen=True, slots=True)
class SymbolSet:
    """The three names of one instrument."""

    lean: str
    tastytrade: str
    streamer: str


def format_strike(strike: float) -> str:
    """``5000`` for 5000.0, ``22.5`` for 22.5, ``2.02`` for 2.02 (as Tastytrade and LEAN print)."""
    text = f"{round(strike, 6):.6f}".rstrip("0").rstrip(".")
    return text or "0"


def option_root(ticker: str) -> str:
    """The OCC option root of a LEAN/Tastytrade underlying ticker: ``BRK.B`` / ``BRK/B`` -> ``BRKB``."""
    return ticker.replace(".", "").replace("/", "").strip().upper()


def tastytrade_equity(lean_ticker: str) -> str:
    """Tastytrade writes share classes with a slash: LEAN ``BRK.B`` is ``BRK/B``."""
    return lean_ticker.strip().upper().replace(".", "/")


def lean_equity(tastytrade_ticker: str) -> str:
    return tastytrade_ticker.strip().upper().replace("/", ".")


def parse_occ(symbol: str) -> OptionId:
    """Parse an OCC-21 symbol (``SPXW  250307P05000000``; padding may be missing)."""
    m = _OCC.match(symbol.strip().upper()) if len(symbol.strip()) >= 15 else None
    if m is None:
        raise ValueError(f"not an OCC option symbol: {symbol!r}")
    return OptionId(option_root(m["root"]), _yymmdd(m["ymd"]), Right(m["right"]), int(m["strike"]) / 1000.0)


def parse_streamer_option(symbol: str) -> OptionId:
    """Parse a DXLink equity/index option symbol (``.SPXW250307P5000``, ``.F250620C2.02``)."""
    m = _STREAMER.match(symbol.strip())
    if m is None:
        raise ValueError(f"not a DXLink option symbol: {symbol!r}")
    return OptionId(m["root"], _yymmdd(m["ymd"]), Right(m["right"]), float(m["strike"]))


def occ_to_streamer(symbol: str) -> str:
    return parse_occ(symbol).streamer


def streamer_to_occ(symbol: str) -> str:
    return parse_streamer_option(symbol).occ


def is_index_root(root: str) -> bool:
    return option_root(root) in INDEX_OPTION_ROOTS


def option_id(contract: OptionContract) -> OptionId:
    return OptionId(option_root(contract.root), contract.expiry, contract.right, contract.strike)


def symbols_for(contract: OptionContract) -> SymbolSet:
    """LEAN, Tastytrade and DXLink names of a core ``OptionContract`` (any kind)."""
    if contract.kind is SecurityKind.FUTURE_OPTION:
        from brokers.futures_symbols import future_option_for

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


def _yymmdd(text: str) -> date:
    return date(2000 + int(text[:2]), int(text[2:4]), int(text[4:6]))
