"""Equity and index option identities in the OCC-21 and DXLink spellings.

``SPXW  250307P05000000`` (OCC-21: root padded to 6, yymmdd, C/P, strike x 1000 in 8 digits,
which is also LEAN's value) and ``.SPXW250307P5000`` (DXLink: no padding, strike without trailing
zeros) name the same ``OptionId``.  Shared by ``brokers.symbols`` (all three names of a core
contract) and ``brokers.futures_symbols`` (which prints strikes the same way), so neither of those
needs the other to parse a symbol.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from core.types import Right

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


def format_strike(strike: float) -> str:
    """``5000`` for 5000.0, ``22.5`` for 22.5, ``2.02`` for 2.02 (as Tastytrade and LEAN print)."""
    text = f"{round(strike, 6):.6f}".rstrip("0").rstrip(".")
    return text or "0"


def option_root(ticker: str) -> str:
    """The OCC option root of a LEAN/Tastytrade underlying ticker: ``BRK.B`` / ``BRK/B`` -> ``BRKB``."""
    return ticker.replace(".", "").replace("/", "").strip().upper()


def parse_occ(symbol: str) -> OptionId:
    """Parse an OCC-21 symbol (``SPXW  250307P05000000``; padding may be missing)."""
    m = _OCC.match(symbol.strip().upper()) if len(symbol.strip()) >= 15 else None
    if m is None:
        raise ValueError(f"not an OCC option symbol: {symbol!r}")
    return OptionId(option_root(m["root"]), yymmdd(m["ymd"]), Right(m["right"]), int(m["strike"]) / 1000.0)


def parse_streamer_option(symbol: str) -> OptionId:
    """Parse a DXLink equity/index option symbol (``.SPXW250307P5000``, ``.F250620C2.02``)."""
    m = _STREAMER.match(symbol.strip())
    if m is None:
        raise ValueError(f"not a DXLink option symbol: {symbol!r}")
    return OptionId(m["root"], yymmdd(m["ymd"]), Right(m["right"]), float(m["strike"]))


def occ_to_streamer(symbol: str) -> str:
    return parse_occ(symbol).streamer


def streamer_to_occ(symbol: str) -> str:
    return parse_streamer_option(symbol).occ


def yymmdd(text: str) -> date:
    return date(2000 + int(text[:2]), int(text[2:4]), int(text[4:6]))
