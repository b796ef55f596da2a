"""Futures and futures-option symbols: LEAN-style, Tastytrade and DXLink.

* Future: Tastytrade ``/ESM5`` (one-digit year), DXLink ``/ESM25:XCME`` (two digits and the
  exchange MIC), core/LEAN-style key ``ESM25``.
* Futures option: Tastytrade ``./ESU5 ESU5  250919P900`` = ``.`` + future padded to 6 + option
  contract code (option root, month code, one-digit year) padded to 6 + yymmdd + C/P + strike;
  DXLink ``./ESU25P900:XCME`` = ``./`` + option root + month + two-digit year + C/P + strike + MIC.

The option contract month is not always the expiry month: gold options expiring 28 Oct 2025 are
``OGX5`` (November), Treasury options expiring 20 Jun are ``OZBN5`` (July) and December gold
options of the January contract carry next year's digit (``./GCG6 OGF6  251223P2075``).  The
product table below records each product's standard option root, exchange and month offset;
weeklies (``EW4``, ``E1D``, ``E2C``...) are built by passing ``option_root`` explicitly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from brokers.occ import format_strike
from core.types import ExerciseStyle, OptionContract, Right, SecurityKind, Settlement

MONTH_CODES = "FGHJKMNQUVXZ"

# product -> (exchange MIC for DXLink, contract multiplier)
FUTURES: dict[str, tuple[str, float]] = {
    "ES": ("XCME", 50.0),
    "MES": ("XCME", 5.0),
    "NQ": ("XCME", 20.0),
    "MNQ": ("XCME", 2.0),
    "RTY": ("XCME", 50.0),
    "M2K": ("XCME", 5.0),
    "6E": ("XCME", 125000.0),
    "6J": ("XCME", 12500000.0),
    "6B": ("XCME", 62500.0),
    "6A": ("XCME", 100000.0),
    "LE": ("XCME", 400.0),
    "HE": ("XCME", 400.0),
    "GE": ("XCME", 2500.0),
    "ZB": ("XCBT", 1000.0),
    "ZN": ("XCBT", 1000.0),
    "ZC": ("XCBT", 50.0),
    "ZS": ("XCBT", 50.0),
    "ZW": ("XCBT", 50.0),
    "YM": ("XCBT", 5.0),
    "CL": ("XNYM", 1000.0),
    "MCL": ("XNYM", 100.0),
    "NG": ("XNYM", 10000.0),
    "RB": ("XNYM", 42000.0),
    "GC": ("XCEC", 100.0),
    "MGC": ("XCEC", 10.0),
    "SI": ("XCEC", 5000.0),
    "HG": ("XCEC", 25000.0),
    "VX": ("XCBF", 1000.0),
}

# product -> (standard option root, months from expiry month to option contract month)
FUTURE_OPTION_ROOTS: dict[str, tuple[str, int]] = {
    "ES": ("ES", 0),
    "MES": ("MES", 0),
    "NQ": ("NQ", 0),
    "MNQ": ("MNQ", 0),
    "GC": ("OG", 1),
    "SI": ("SO", 1),
    "CL": ("LO", 1),
    "NG": ("ON", 1),
    "ZB": ("OZB", 1),
    "ZN": ("OZN", 1),
}

_FUTURE = re.compile(
    r"^/?(?P<product>[A-Z0-9]{1,4}?)(?P<month>[FGHJKMNQUVXZ])(?P<year>\d{1,2})(?::(?P<mic>[A-Z]{4}))?$"
)
_FOP_TAIL = re.compile(r"^(?P<ymd>\d{6})(?P<right>[CP])(?P<strike>\d+(?:\.\d+)?)$")
_FOP_CODE = re.compile(r"^(?P<root>[A-Z0-9]+?)(?P<month>[FGHJKMNQUVXZ])(?P<year>\d)$")
_FOP_STREAMER = re.compile(
    r"^\./(?P<root>[A-Z0-9]+?)(?P<month>[FGHJKMNQUVXZ])(?P<yy>\d{2})(?P<right>[CP])"
    r"(?P<strike>\d+(?:\.\d+)?):(?P<mic>[A-Z]{4})$"
)


@dataclass(frozen=True, slots=True)
class FutureId:
    product: str
    month: int  # 1..12, the contract month
    year: int  # four digits

    @property
    def code(self) -> str:
        return MONTH_CODES[self.month - 1]

    @property
    def key(self) -> str:
        """Core / LEAN-style key used in snapshots and holdings: ``ESH26``."""
        return f"{self.product}{self.code}{self.year % 100:02d}"

    @property
    def tastytrade(self) -> str:
        return f"/{self.product}{self.code}{self.year % 10}"

    @property
    def streamer(self) -> str:
        return f"/{self.product}{self.code}{self.year % 100:02d}:{exchange_of(self.product)}"


@dataclass(frozen=True, slots=True)
class FutureOptionId:
    """One futures option.  ``option_year``/``option_month`` are the option contract's month."""

    future: FutureId
    option_root: str
    option_month: int
    option_year: int
    expiry: date
    right: Right
    strike: float

    @property
    def option_code(self) -> str:
        return f"{self.option_root}{MONTH_CODES[self.option_month - 1]}{self.option_year % 10}"

    @property
    def tastytrade(self) -> str:
        tail = f"{self.expiry:%y%m%d}{self.right.value}{format_strike(self.strike)}"
        return f".{self.future.tastytrade:<6}{self.option_code:<6}{tail}"

    @property
    def streamer(self) -> str:
        code = f"{self.option_root}{MONTH_CODES[self.option_month - 1]}{self.option_year % 100:02d}"
        mic = exchange_of(self.future.product)
        return f"./{code}{self.right.value}{format_strike(self.strike)}:{mic}"


def exchange_of(product: str) -> str:
    try:
        return FUTURES[product][0]
    except KeyError:
        raise ValueError(f"unknown futures product {product!r}: add it to FUTURES") from None


def parse_future(symbol: str, today: date) -> FutureId:
    """``/ESM5``, ``ESM25`` or ``/ESM25:XCME``.  A one-digit year is resolved to the year in
    ``[today.year - 2, today.year + 7]`` that ends in that digit (expired contracts stay readable)."""
    m = _FUTURE.match(symbol.strip().upper())
    if m is None:
        raise ValueError(f"not a futures symbol: {symbol!r}")
    digits = m["year"]
    if len(digits) == 2:
        year = 2000 + int(digits)
    else:
        year = next(y for y in range(today.year - 2, today.year + 8) if y % 10 == int(digits))
    return FutureId(m["product"], MONTH_CODES.index(m["month"]) + 1, year)


def parse_tastytrade_future_option(symbol: str, today: date) -> FutureOptionId:
    """``./ESU5 ESU5  250919P900``, ``./MESM6EX3H6 260320P6450``, ``./ZBU5 OZBN5 250620C142.5``."""
    s = symbol.rstrip()
    if not s.startswith("./") or len(s) < 15:
        raise ValueError(f"not a Tastytrade futures option symbol: {symbol!r}")
    future_txt, code_txt, tail_txt = s[1:7].strip(), s[7:13].strip(), s[13:].strip()
    code, tail = _FOP_CODE.match(code_txt), _FOP_TAIL.match(tail_txt)
    if code is None or tail is None:  # tolerate irregular padding: split on whitespace instead
        parts = s[1:].split()
        if len(parts) != 3:
            raise ValueError(f"not a Tastytrade futures option symbol: {symbol!r}")
        future_txt, code_txt, tail_txt = parts
        code, tail = _FOP_CODE.match(code_txt), _FOP_TAIL.match(tail_txt)
        if code is None or tail is None:
            raise ValueError(f"not a Tastytrade futures option symbol: {symbol!r}")
    future = parse_future(future_txt, today)
    expiry = date(2000 + int(tail["ymd"][:2]), int(tail["ymd"][2:4]), int(tail["ymd"][4:]))
    digit = int(code["year"])
    option_year = next(y for y in (expiry.year, expiry.year + 1, expiry.year - 1) if y % 10 == digit)
    return FutureOptionId(
        future,
        code["root"],
        MONTH_CODES.index(code["month"]) + 1,
        option_year,
        expiry,
        Right(tail["right"]),
        float(tail["strike"]),
    )


@dataclass(frozen=True, slots=True)
class StreamerFutureOption:
    """What a DXLink futures-option symbol tells (no expiry day, no underlying future)."""

    option_root: str
    option_month: int
    option_year: int
    right: Right
    strike: float
    exchange: str


def parse_streamer_future_option(symbol: str) -> StreamerFutureOption:
    m = _FOP_STREAMER.match(symbol.strip())
    if m is None:
        raise ValueError(f"not a DXLink futures option symbol: {symbol!r}")
    return StreamerFutureOption(
        m["root"],
        MONTH_CODES.index(m["month"]) + 1,
        2000 + int(m["yy"]),
        Right(m["right"]),
        float(m["strike"]),
        m["mic"],
    )


def future_option_for(
    contract: OptionContract, option_root: str | None = None, option_month: tuple[int, int] | None = None
) -> FutureOptionId:
    """Tastytrade/DXLink identity of a core futures option (``root`` = product, ``underlying`` =
    future key such as ``ESU25``).  ``option_root`` defaults to the product's standard root and
    ``option_month`` (year, month) to the expiry month plus the product's offset."""
    future = parse_future(contract.underlying, contract.expiry)
    product = contract.root.upper()
    if option_root is None or option_month is None:
        if product not in FUTURE_OPTION_ROOTS:
            raise ValueError(f"no standard option root for {product!r}: pass option_root and option_month")
        std_root, offset = FUTURE_OPTION_ROOTS[product]
        option_root = option_root or std_root
        if option_month is None:
            index = contract.expiry.year * 12 + contract.expiry.month - 1 + offset
            option_month = (index // 12, index % 12 + 1)
    year, month = option_month
    return FutureOptionId(future, option_root, month, year, contract.expiry, contract.right, contract.strike)


def contract_from_future_option(fop: FutureOptionId) -> OptionContract:
    """Core contract (``root`` = product, ``underlying`` = ``ESU25``-style future key)."""
    product = fop.future.product
    multiplier = FUTURES[product][1] if product in FUTURES else 1.0
    return OptionContract(
        product,
        fop.future.key,
        fop.right,
        fop.strike,
        fop.expiry,
        multiplier,
        SecurityKind.FUTURE_OPTION,
        ExerciseStyle.AMERICAN,
        Settlement.FUTURE,
    )
