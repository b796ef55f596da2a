"""Trading costs used by entry decisions and profit targets.

The fee schedule is Tastytrade's as implemented by LEAN's ``TastytradeFeeModel``: options and index
options $1.00 per contract to open, $0 to close; futures options $2.50 to open, $0 to close; futures
$1.25 per contract; stock $0.  Expected slippage is a share of the half spread per leg.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.types import Leg, OptionQuote, SecurityKind

_OPEN_FEE = {
    SecurityKind.EQUITY_OPTION: 1.00,
    SecurityKind.INDEX_OPTION: 1.00,
    SecurityKind.FUTURE_OPTION: 2.50,
    SecurityKind.FUTURE: 1.25,
    SecurityKind.EQUITY: 0.0,
    SecurityKind.INDEX: 0.0,
}
_CLOSE_FEE = {SecurityKind.FUTURE: 1.25}


def fee_per_contract(kind: SecurityKind, opening: bool) -> float:
    return _OPEN_FEE[kind] if opening else _CLOSE_FEE.get(kind, 0.0)


def fees_per_unit(legs: Sequence[Leg], opening: bool) -> float:
    """Dollars of fees for one unit of a multi-leg structure."""
    return sum(abs(leg.ratio) * fee_per_contract(leg.contract.kind, opening) for leg in legs)


def net_mid(legs: Sequence[Leg], quotes: Sequence[OptionQuote]) -> float:
    """Net mid per unit (debit +, credit -)."""
    return sum(leg.ratio * q.mid for leg, q in zip(legs, quotes, strict=True))


def net_natural(legs: Sequence[Leg], quotes: Sequence[OptionQuote]) -> float:
    """Net price per unit paying the spread on every leg (buy at ask, sell at bid)."""
    return sum(leg.ratio * (q.ask if leg.ratio > 0 else q.bid) for leg, q in zip(legs, quotes, strict=True))


def expected_entry_credit(legs: Sequence[Leg], quotes: Sequence[OptionQuote], slippage_share: float) -> float:
    """Credit per unit in price points we expect to keep after slippage and opening fees."""
    mid, natural = net_mid(legs, quotes), net_natural(legs, quotes)
    expected_price = mid + slippage_share * (natural - mid)
    multiplier = legs[0].contract.multiplier
    return -expected_price - fees_per_unit(legs, opening=True) / multiplier
