"""LEAN's symbols: security types, option identity, tickers, and which contracts are "standard".

Mirrors Common/Symbol.cs and Common/SecurityIdentifier.cs (a Symbol is equal by its identifier),
Common/Global.cs (SecurityType, OptionRight, OptionStyle values), Common/SymbolRepresentation.cs
(future tickers such as ``ESZ26``) and the IsStandard rules of Common/Securities/IndexOption/
IndexOptionSymbol.cs, Option/OptionSymbol.cs and FutureOption/FutureOptionSymbol.cs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import IntEnum

MONTH_CODES = "FGHJKMNQUVXZ"


class SecurityType(IntEnum):  # Common/Global.cs
    BASE = 0
    EQUITY = 1
    OPTION = 2
    COMMODITY = 3
    FOREX = 4
    FUTURE = 5
    CFD = 6
    CRYPTO = 7
    FUTURE_OPTION = 8
    INDEX = 9
    INDEX_OPTION = 10


# The names market-hours-database.json keys use for them
HOURS_KIND = {
    SecurityType.EQUITY: "Equity",
    SecurityType.OPTION: "Option",
    SecurityType.FUTURE: "Future",
    SecurityType.FUTURE_OPTION: "FutureOption",
    SecurityType.INDEX: "Index",
    SecurityType.INDEX_OPTION: "IndexOption",
}
OPTION_TYPES = (SecurityType.OPTION, SecurityType.INDEX_OPTION, SecurityType.FUTURE_OPTION)


class OptionRight(IntEnum):
    CALL = 0
    PUT = 1


class OptionStyle(IntEnum):
    AMERICAN = 0
    EUROPEAN = 1


NO_DATE = datetime(1998, 1, 2)  # SecurityIdentifier.DefaultDate


@dataclass(frozen=True)
class SecurityIdentifier:
    symbol: str  # ticker (for options: the trading class, SPXW; for FOPs the option ticker, OG)
    security_type: SecurityType
    market: str
    date: datetime = NO_DATE  # expiry of an option or future
    strike_price: float = 0.0
    option_right: OptionRight = OptionRight.CALL
    option_style: OptionStyle = OptionStyle.AMERICAN


@dataclass(frozen=True, eq=False)
class Symbol:
    id: SecurityIdentifier
    value: str
    underlying: Symbol | None = None
    _hash: int = field(init=False, repr=False)  # computed once: symbols key every dict

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.id, self.underlying)))

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:  # Symbol equality is its identifier's (Symbol.cs)
        return isinstance(other, Symbol) and self._hash == other._hash and self.id == other.id

    @property
    def security_type(self) -> SecurityType:
        return self.id.security_type

    @property
    def has_underlying(self) -> bool:
        return self.underlying is not None

    def __str__(self) -> str:
        return self.value

    @property
    def canonical(self) -> Symbol:
        """Symbol.Canonical: the option chain's (or future's) symbol without date and strike."""
        sid = SecurityIdentifier(self.id.symbol, self.id.security_type, self.id.market)
        return Symbol(sid, f"?{self.id.symbol}", self.underlying)

    # --- constructors (Symbol.Create / CreateFuture / CreateOption) ------------------------------
    @staticmethod
    def create(ticker: str, security_type: SecurityType, market: str) -> Symbol:
        return Symbol(SecurityIdentifier(ticker.upper(), security_type, market), ticker.upper())

    @staticmethod
    def create_future(root: str, market: str, expiry: datetime) -> Symbol:
        sid = SecurityIdentifier(root, SecurityType.FUTURE, market, expiry)
        return Symbol(sid, future_ticker(root, expiry))

    @staticmethod
    def create_option(
        underlying: Symbol,
        ticker: str,
        market: str,
        style: OptionStyle,
        right: OptionRight,
        strike: float,
        expiry: datetime,
    ) -> Symbol:
        kind = {
            SecurityType.INDEX: SecurityType.INDEX_OPTION,
            SecurityType.EQUITY: SecurityType.OPTION,
            SecurityType.FUTURE: SecurityType.FUTURE_OPTION,
        }[underlying.security_type]
        sid = SecurityIdentifier(ticker, kind, market, expiry, float(strike), right, style)
        value = f"{ticker:<6}{expiry:%y%m%d}{'CP'[right]}{round(strike * 1000):08d}"  # OCC-21
        return Symbol(sid, value, underlying)


# Contract month of a future relative to its expiry month (Common/SymbolRepresentation.cs via
# FuturesExpiryUtilityFunctions.GetDeltaBetweenContractMonthAndContractExpiry): crude oil expires in
# the month before its contract month.
_CONTRACT_MONTH_DELTA = {"CL": 1, "MCL": 1}


def future_ticker(root: str, expiry: datetime | date) -> str:
    """SymbolRepresentation.GenerateFutureTicker(root, expiry, doubleDigitsYear=True, False)."""
    month = expiry.month - 1 + _CONTRACT_MONTH_DELTA.get(root, 0)
    year = expiry.year + month // 12
    return f"{root}{MONTH_CODES[month % 12]}{year % 100:02d}"


class SymbolRepresentation:
    @staticmethod
    def generate_future_ticker(
        underlying: str,
        expiration: datetime,
        double_digits_year: bool = True,
        include_expiration_date: bool = True,
    ) -> str:
        if not double_digits_year or include_expiration_date:
            raise NotImplementedError("the double generates only double-digit tickers without a date")
        return future_ticker(underlying, expiration)


def third_friday(year: int, month: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(4 - first.weekday()) % 7 + 14)


def is_standard(symbol: Symbol) -> bool:
    """ContractSecurityFilterUniverse.IsStandard per option type."""
    sid = symbol.id
    if sid.security_type == SecurityType.FUTURE_OPTION:
        return True  # FutureOptionSymbol.IsStandard: always
    if sid.security_type == SecurityType.INDEX_OPTION:
        if sid.symbol in ("SPXW", "NQX", "RUTW"):
            d = sid.date.date()
            return third_friday(d.year, d.month) == d
        return True  # SPX, NDX, VIX ... are all standard
    # OptionSymbol.IsStandard: an expiry inside the week of the third Friday (Sat..Wed excluded)
    d = sid.date
    first_dow = (date(d.year, d.month, 1).weekday() + 1) % 7  # .NET DayOfWeek: Sunday = 0
    first_friday = 7 if first_dow == 6 else 6 - first_dow
    return first_friday + 7 + 5 < d.day < first_friday + 2 * 7 + 2
