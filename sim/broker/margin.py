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

Netting, grouping and pairing depend on the legs only, not on prices: ``SimMargin.plan`` does them
once per set of legs (remembered: the broker's portfolio is priced every step, a strategy's groups
at every entry check) into a ``MarginPlan``, the exact sequence of additions the requirement is,
which ``priced`` evaluates at a snapshot's prices - the same operations in the same order as the
rules above, so the same number to the last bit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.types import Leg, MarketSnapshot, OptionContract, Right, SecurityKind

PLANS_KEPT = 4096  # remembered plans; all are dropped when full (the live portfolio's come back)


@dataclass
class _Lot:
    contract: OptionContract
    count: int  # contracts, positive (side is implied by the list it sits in)
    index: int  # of its premium in the underlying's premium list


# A side's additions, in order: a pair's width (dollars, price-free), a debit pair's net premium
# (long lot, short lot, multiplier, contracts), a naked short (lot, contracts).
_Width = tuple[float]
_Debit = tuple[int, int, float, int]
_Naked = tuple[int, int]


@dataclass(frozen=True)
class _Side:
    """One right's requirement on one underlying as a function of its premiums."""

    steps: tuple[_Width | _Debit | _Naked, ...]
    longs: tuple[tuple[int, float, int], ...]  # every long after pairing: (lot, multiplier, contracts)


@dataclass(frozen=True)
class _Underlying:
    first: OptionContract  # the first in symbol order: its strike is the spot of last resort
    contracts: tuple[OptionContract, ...]  # puts then calls, each in symbol order: premium order
    put: _Side
    call: _Side


@dataclass(frozen=True)
class MarginPlan:
    """The requirement of one set of legs, priced by ``SimMargin.priced``."""

    underlyings: tuple[_Underlying, ...]


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
        self._plans: dict[tuple[tuple[Leg, ...], int], MarginPlan] = {}

    def margin_required(self, legs: Sequence[Leg], quantity: int, snapshot: MarketSnapshot) -> float:
        return self.priced(self.plan(legs, quantity), snapshot)

    def plan(self, legs: Sequence[Leg], quantity: int) -> MarginPlan:
        """The price-free part of the requirement of ``legs`` x ``quantity`` (remembered)."""
        key = (tuple(legs), quantity)
        found = self._plans.get(key)
        if found is None:
            if len(self._plans) >= PLANS_KEPT:
                self._plans.clear()
            found = self._plans[key] = _plan(legs, quantity)
        return found

    def priced(self, plan: MarginPlan, snapshot: MarketSnapshot) -> float:
        """The requirement ``plan`` stands for at ``snapshot``'s prices."""
        return sum(self._underlying(u, snapshot) for u in plan.underlyings)

    def _underlying(self, plan: _Underlying, snapshot: MarketSnapshot) -> float:
        spot = _spot(plan.first, snapshot)
        premiums = [_premium(c, spot, snapshot) for c in plan.contracts]
        put, put_naked, debit = self._side(plan.put, plan.contracts, spot, premiums, 0.0)
        call, call_naked, debit = self._side(plan.call, plan.contracts, spot, premiums, debit)
        if put >= call:
            return put + (call_naked if call > 0 else 0.0) + debit
        return call + (put_naked if put > 0 else 0.0) + debit

    def _side(
        self,
        side: _Side,
        contracts: tuple[OptionContract, ...],
        spot: float,
        premiums: list[float],
        debit: float,
    ) -> tuple[float, float, float]:
        """(requirement, naked shorts' premium, debit so far) of one right."""
        requirement, naked_premium = 0.0, 0.0
        for step in side.steps:
            if len(step) == 1:
                requirement += step[0]
            elif len(step) == 4:
                long, short, multiplier, n = step
                debit += max(0.0, premiums[long] - premiums[short]) * multiplier * n
            else:
                short, count = step
                contract, premium = contracts[short], premiums[short]
                requirement += self._naked(contract, spot, premium) * count
                naked_premium += premium * contract.multiplier * count
        debit += sum(premiums[lot] * multiplier * count for lot, multiplier, count in side.longs)
        return requirement, naked_premium, debit

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


def _plan(legs: Sequence[Leg], quantity: int) -> MarginPlan:
    """Net per contract, group by underlying (and multiplier), pair each group's sides."""
    net: dict[str, tuple[OptionContract, int]] = {}
    for leg in legs:
        held = net.get(leg.contract.symbol, (leg.contract, 0))[1]
        net[leg.contract.symbol] = (leg.contract, held + leg.ratio * quantity)
    groups: dict[tuple[str, float], list[tuple[OptionContract, int]]] = {}
    for symbol in sorted(net):
        contract, count = net[symbol]
        if count != 0:
            groups.setdefault((contract.underlying, contract.multiplier), []).append((contract, count))
    return MarginPlan(tuple(_underlying_plan(positions) for positions in groups.values()))


def _underlying_plan(positions: list[tuple[OptionContract, int]]) -> _Underlying:
    contracts: list[OptionContract] = []
    sides = []
    for right in (Right.PUT, Right.CALL):
        longs, shorts = [], []
        for contract, count in positions:
            if contract.right is right:
                (longs if count > 0 else shorts).append(_Lot(contract, abs(count), len(contracts)))
                contracts.append(contract)
        sides.append(_pair(right, longs, shorts))
    return _Underlying(positions[0][0], tuple(contracts), sides[0], sides[1])


def _pair(right: Right, longs: list[_Lot], shorts: list[_Lot]) -> _Side:
    """Most dangerous shorts first, each covered by the nearest-the-money long available."""
    nearest_first = (lambda lot: -lot.contract.strike) if right is Right.PUT else _strike
    shorts.sort(key=nearest_first)
    longs.sort(key=nearest_first)
    steps: list[_Width | _Debit | _Naked] = []
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
            multiplier = short.contract.multiplier
            if width > 0:
                steps.append((width * multiplier * n,))
            else:
                steps.append((long.index, short.index, multiplier, n))
        if short.count:
            steps.append((short.index, short.count))
    return _Side(tuple(steps), tuple((lot.index, lot.contract.multiplier, lot.count) for lot in longs))


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
