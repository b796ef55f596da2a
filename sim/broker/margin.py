"""Buying power used (dollars) by option positions, approximating Tastytrade / CBOE Reg-T rules.

A pure function of the legs and the snapshot's prices.  Legs are netted per contract and grouped by
underlying (and multiplier); on each underlying:

1. Pairing: per right, short contracts are covered by long contracts of the same right whose expiry
   is not earlier, greedily (puts: highest short strike with highest long strike; calls: lowest with
   lowest).  A 1-1-2 thus becomes one vertical plus two naked shorts.
2. A credit-type pair (the long is further out of the money) charges its width x multiplier.  The
   credit received does not reduce it: Reg-T keeps the width as the requirement and the credit sits
   in cash, so charging the full width keeps BP conservative and independent of the fill price.
   A debit-type pair (long nearer the money) charges the net debit (long - short premium, >= 0).
3. Naked short equity / index options, as CBOE and LEAN's ``OptionMarginModel``
   (``Common/Securities/Option/OptionMarginModel.cs``), per contract:
   ``max(pct x S - OTM + premium, 10% x (strike for puts, S for calls) + premium) x multiplier``
   with pct 15% for index options (broad-based: SPX, SPXW, XSP) and 20% for equity options (SPY...).
4. Naked short futures options: a SPAN-like approximation, not the exchange's SPAN arrays:
   ``(premium + max(scan x F - OTM, min_share x scan x F)) x multiplier`` with a 6% scan range and a
   short-option minimum of 25% of the scan.
5. Unpaired long options charge their premium (the debit paid).
6. Sides: the put side and the call side cannot both lose at expiry, so the requirement is the
   greater side plus the premium of the other side's naked shorts (CBOE's short strangle rule); an
   iron condor therefore charges the width of its widest side.  Debits are added in full.

Premiums are quote mids (intrinsic value when there is no quote); the underlying price is
``snapshot.price(underlying)``, else the quote's underlying price, else the strike (at the money).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.types import Leg, MarketSnapshot, OptionContract, Right, SecurityKind


@dataclass
class _Lot:
    contract: OptionContract
    count: int  # contracts, positive (side is implied by the list it sits in)
    premium: float  # per share


class SimMargin:
    """Implements ``core.ports.MarginModel`` for the offline engine."""

    def __init__(
        self,
        index_pct: float = 0.15,
        equity_pct: float = 0.20,
        minimum_pct: float = 0.10,
        future_scan: float = 0.06,
        future_min_share: float = 0.25,
    ) -> None:
        self.index_pct, self.equity_pct, self.minimum_pct = index_pct, equity_pct, minimum_pct
        self.future_scan, self.future_min_share = future_scan, future_min_share

    def margin_required(self, legs: Sequence[Leg], quantity: int, snapshot: MarketSnapshot) -> float:
        net: dict[str, tuple[OptionContract, int]] = {}
        for leg in legs:
            held = net.get(leg.contract.symbol, (leg.contract, 0))[1]
            net[leg.contract.symbol] = (leg.contract, held + leg.ratio * quantity)
        groups: dict[tuple[str, float], list[tuple[OptionContract, int]]] = {}
        for symbol in sorted(net):
            contract, count = net[symbol]
            if count != 0:
                groups.setdefault((contract.underlying, contract.multiplier), []).append((contract, count))
        return sum(self._underlying(positions, snapshot) for positions in groups.values())

    def _underlying(self, positions: list[tuple[OptionContract, int]], snapshot: MarketSnapshot) -> float:
        spot = _spot(positions[0][0], snapshot)
        side_req: dict[Right, float] = {}
        side_naked_premium: dict[Right, float] = {}
        debit = 0.0
        for right in (Right.PUT, Right.CALL):
            longs, shorts = [], []
            for contract, count in positions:
                if contract.right is right:
                    lot = _Lot(contract, abs(count), _premium(contract, spot, snapshot))
                    (longs if count > 0 else shorts).append(lot)
            # Most dangerous shorts first, each covered by the nearest-the-money long available.
            nearest_first = (lambda lot: -lot.contract.strike) if right is Right.PUT else _strike
            shorts.sort(key=nearest_first)
            longs.sort(key=nearest_first)
            requirement, naked_premium = 0.0, 0.0
            for short in shorts:
                for long in longs:
                    if short.count == 0:
                        break
                    if long.count == 0 or long.contract.expiry < short.contract.expiry:
                        continue
                    n = min(short.count, long.count)
                    short.count -= n
                    long.count -= n
                    width = _width(short.contract, long.contract)
                    if width > 0:
                        requirement += width * short.contract.multiplier * n
                    else:
                        debit += max(0.0, long.premium - short.premium) * short.contract.multiplier * n
                if short.count:
                    requirement += self._naked(short.contract, spot, short.premium) * short.count
                    naked_premium += short.premium * short.contract.multiplier * short.count
            debit += sum(lot.premium * lot.contract.multiplier * lot.count for lot in longs)
            side_req[right], side_naked_premium[right] = requirement, naked_premium
        put, call = side_req[Right.PUT], side_req[Right.CALL]
        if put >= call:
            return put + (side_naked_premium[Right.CALL] if call > 0 else 0.0) + debit
        return call + (side_naked_premium[Right.PUT] if put > 0 else 0.0) + debit

    def _naked(self, contract: OptionContract, spot: float, premium: float) -> float:
        """Dollars one naked short contract requires."""
        otm = (
            max(0.0, spot - contract.strike)
            if contract.right is Right.PUT
            else max(0.0, contract.strike - spot)
        )
        if contract.kind is SecurityKind.FUTURE_OPTION:
            scan = self.future_scan * spot
            return (premium + max(scan - otm, self.future_min_share * scan)) * contract.multiplier
        pct = self.index_pct if contract.kind is SecurityKind.INDEX_OPTION else self.equity_pct
        floor_base = contract.strike if contract.right is Right.PUT else spot
        per_share = max(pct * spot - otm + premium, self.minimum_pct * floor_base + premium)
        return per_share * contract.multiplier


def _strike(lot: _Lot) -> float:
    return lot.contract.strike


def _width(short: OptionContract, long: OptionContract) -> float:
    """Points the pair can lose at expiry: > 0 when the long is further out of the money."""
    if short.right is Right.PUT:
        return max(0.0, short.strike - long.strike)
    return max(0.0, long.strike - short.strike)


def _spot(contract: OptionContract, snapshot: MarketSnapshot) -> float:
    price = snapshot.price(contract.underlying)
    if price is None or price <= 0:
        q = snapshot.chains.quote(contract)
        price = q.underlying_price if q is not None and q.underlying_price > 0 else contract.strike
    return price


def _premium(contract: OptionContract, spot: float, snapshot: MarketSnapshot) -> float:
    q = snapshot.chains.quote(contract)
    if q is None or q.ask <= 0 or q.bid < 0:
        return contract.intrinsic(spot)
    return q.mid
