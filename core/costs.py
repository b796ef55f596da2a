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
# Intent note: the worst net price per unit (debit +) its order may pay (execution caps its limit).
WORST_PRICE = "worst_price"
# Exits work up to the natural price (execution's exit ladder concedes the whole mid-to-natural
# distance), so the price an exit is expected to pay is the natural one.
EXIT_CONCESSION = 1.0


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


def expected_exit_value(legs: Sequence[Leg], quotes: Sequence[OptionQuote]) -> float:
    """Net value per unit of holding ``legs`` at the price closing them would pay now: the mid moved
    ``EXIT_CONCESSION`` of the way toward the side the close trades on (a long leg sells at its bid,
    a short leg buys back at its ask).  Credit structures are negative, as with ``net_mid``."""
    mid = net_mid(legs, quotes)
    natural = sum(
        leg.ratio * (q.bid if leg.ratio > 0 else q.ask) for leg, q in zip(legs, quotes, strict=True)
    )
    return mid + EXIT_CONCESSION * (natural - mid)


def expected_entry_credit(legs: Sequence[Leg], quotes: Sequence[OptionQuote], slippage_share: float) -> float:
    """Credit per unit in price points we expect to keep after slippage and opening fees."""
    mid, natural = net_mid(legs, quotes), net_natural(legs, quotes)
    expected_price = mid + slippage_share * (natural - mid)
    multiplier = legs[0].contract.multiplier
    return -expected_price - fees_per_unit(legs, opening=True) / multiplier


# --- costs for entry decisions and profit targets (execution and strategies share these) ----------


def round_trip_fees_per_unit(legs: Sequence[Leg]) -> float:
    """Dollars of fees to open and later close one unit (closing trades the same kinds of contract)."""
    return fees_per_unit(legs, opening=True) + fees_per_unit(legs, opening=False)


def expected_slippage_per_unit(
    legs: Sequence[Leg],
    quotes: Sequence[OptionQuote],
    quantity: int = 1,
    slippage_share: float = 1.0,
    size_penalty: float = 0.5,
) -> float:
    """Points per unit we expect to pay beyond the net mid: ``slippage_share`` of each leg's half
    spread, plus ``size_penalty`` half spreads on the share of a leg's contracts beyond the size
    displayed on the side we take (an order bigger than the book walks it)."""
    total = 0.0
    for leg, q in zip(legs, quotes, strict=True):
        half = max(0.0, q.ask - q.bid) / 2.0
        contracts = abs(leg.ratio) * max(1, quantity)
        shown = q.ask_size if leg.ratio > 0 else q.bid_size
        beyond = 1.0 if shown <= 0 else max(0.0, contracts - shown) / contracts
        total += abs(leg.ratio) * half * (slippage_share + size_penalty * beyond)
    return total


def net_credit_after_costs(
    legs: Sequence[Leg],
    quotes: Sequence[OptionQuote],
    quantity: int = 1,
    slippage_share: float = 1.0,
    round_trip: bool = False,
) -> float:
    """Credit per unit in points we expect to keep after slippage and fees (negative for a debit).

    ``round_trip`` also charges the closing fees and the same expected slippage again for the exit,
    the honest figure for a structure that will be bought back rather than left to expire.
    """
    slippage = expected_slippage_per_unit(legs, quotes, quantity, slippage_share)
    fees = round_trip_fees_per_unit(legs) if round_trip else fees_per_unit(legs, opening=True)
    exit_slippage = slippage if round_trip else 0.0
    multiplier = legs[0].contract.multiplier
    return -net_mid(legs, quotes) - slippage - exit_slippage - fees / multiplier


def profit_target_exit_price(entry_price: float, target_share: float, legs: Sequence[Leg]) -> float:
    """Net exit price per unit (debit +, credit -) at which the trade keeps ``target_share`` of its
    entry premium after round-trip fees.  A credit of 2.00 with a 50% target and $4 of fees per unit
    on a 100 multiplier buys back at 0.96, not 1.00."""
    fees_points = round_trip_fees_per_unit(legs) / legs[0].contract.multiplier
    return -entry_price - target_share * abs(entry_price) - fees_points


def net_profit_per_unit(entry_price: float, exit_price: float, legs: Sequence[Leg]) -> float:
    """Dollars per unit after round-trip fees for an entry and an exit net price."""
    return -(entry_price + exit_price) * legs[0].contract.multiplier - round_trip_fees_per_unit(legs)
