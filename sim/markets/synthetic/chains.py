"""The lazy ``ChainSource`` of one snapshot: nothing is priced until asked for.

``expiries`` is a filter of the precomputed schedule; ``chain`` prices one expiry at this step and
keeps it, its rows built only when read (``rows.ChainRows``); ``quote`` prices single contracts.
Open legs are quoted every step, so on the first ``quote`` miss of a step every contract quoted in
the previous step is priced with it, for the rest of the day, in one vectorised batch
(``ahead.QuotesAhead``); later look-ups are dictionary hits.  Unknown roots, unlisted or expired
expiries and mismatched contracts give ``None`` / empty, never an exception.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import TYPE_CHECKING

import numpy as np

from core.types import OptionChain, OptionContract, OptionQuote, Right
from sim.markets.synthetic.pricing import GROUP_FIELDS, Priced, price_arrays
from sim.markets.synthetic.roots import ROOTS, strike_grid
from sim.markets.synthetic.rows import ChainRows
from sim.markets.synthetic.surface import MIN_TAU

if TYPE_CHECKING:
    from sim.markets.synthetic.ahead import Group
    from sim.markets.synthetic.market import SyntheticMarket


class SyntheticChains:
    """Option chains and quotes at one step of a ``SyntheticMarket`` (implements ``ChainSource``)."""

    def __init__(self, market: SyntheticMarket, point: int, serial: int, time: datetime) -> None:
        self._m = market
        self._point = point
        self._serial = serial
        self._time = time
        self._day = market.grid.days[market.grid.point_day[point]]
        self._groups: dict[tuple[str, date], Group | None] = {}
        self._chains: dict[tuple[str, date], OptionChain | None] = {}
        self._by_strike: dict[tuple[str, date], dict[tuple[float, Right], int]] = {}
        self._quotes: dict[OptionContract, OptionQuote | None] = {}
        self._prefetched = False

    @property
    def built(self) -> tuple[tuple[str, date], ...]:
        """(root, expiry) of every chain built at this step: what laziness saved is visible here."""
        return tuple(k for k, v in self._chains.items() if v is not None)

    # --- ChainSource ------------------------------------------------------------------------------
    def expiries(self, root: str) -> tuple[date, ...]:
        return tuple(x.expiry for x in self._m.listings.expiries(self._day, root))

    def chain(self, root: str, expiry: date) -> OptionChain | None:
        key = (root, expiry)
        if key in self._chains:
            return self._chains[key]
        group = self._group(root, expiry)
        result = None if group is None else self._build(root, expiry, *group)
        self._chains[key] = result
        return result

    def quote(self, contract: OptionContract) -> OptionQuote | None:
        try:
            q = self._quotes[contract]
        except KeyError:
            pass
        except TypeError:  # not hashable: not a contract
            return None
        else:
            self._m.watch[contract] = self._serial  # asked for this step: prefetch it next step
            return q
        batch = [contract]
        if not self._prefetched:  # open legs come back every step: price them all in one pass
            self._prefetched = True
            batch += [
                c for c in self._m.recently_watched(self._serial) if c not in self._quotes and c != contract
            ]
        self._m.watch[contract] = self._serial
        self._price_contracts(batch)
        return self._quotes.get(contract)

    # --- building ---------------------------------------------------------------------------------
    def _group(self, root: str, expiry: date) -> Group | None:
        """Per-expiry pricing inputs at this step, or None when (root, expiry) is not listed today."""
        key = (root, expiry)
        if key in self._groups:
            return self._groups[key]
        out = self._m.ahead.group(self._point, root, expiry)
        self._groups[key] = out
        return out

    def _build(self, root: str, expiry: date, values: tuple[float, ...], underlying: str) -> OptionChain:
        m = self._m
        m.chain_builds += 1
        spec = ROOTS[root]
        inputs: dict = dict(zip(GROUP_FIELDS, values, strict=True))  # a fresh dict: strikes join it
        spot = inputs["spot"]
        sd = inputs["atm"] * math.sqrt(max(inputs["tau_var"], MIN_TAU))
        strikes = strike_grid(spot, sd, spec, inputs["t_cal"] * 365.0)
        inputs["strike"] = np.repeat(strikes, 2)
        inputs["is_call"] = np.tile(np.array([True, False]), strikes.shape[0])
        p = price_arrays(inputs)
        contracts = m.contracts(spec, underlying, expiry, strikes)
        n = len(contracts)
        rows = ChainRows(self._columns(contracts, p, [self._time] * n, [spot] * n))
        return OptionChain(root, expiry, underlying, spot, rows)

    @staticmethod
    def _columns(contracts: list[OptionContract], p: Priced, times: list, spots: list[float]) -> tuple:
        """The ``OptionQuote`` fields of ``contracts`` as columns, in field order."""
        return (contracts, times, p.bid, p.ask, p.bid_size, p.ask_size, p.volume, p.open_interest, spots,
                p.iv, p.delta, p.gamma, p.theta, p.vega)  # fmt: skip

    def _from_chain(self, contract: OptionContract) -> OptionQuote | None:
        """The quote of an already-built chain, if it lists exactly this contract."""
        key = (contract.root, contract.expiry)
        chain = self._chains.get(key)
        if chain is None:
            return None
        rows = chain.quotes
        assert isinstance(rows, ChainRows)  # built by _build
        index = self._by_strike.get(key)
        if index is None:
            index = self._by_strike[key] = {(c.strike, c.right): i for i, c in enumerate(rows.contracts)}
        i = index.get((contract.strike, contract.right))
        q = None if i is None else rows[i]
        return q if q is not None and q.contract == contract else None

    def _price_contracts(self, contracts: list[OptionContract]) -> None:
        """Quotes for ``contracts`` (None where not listed): from a chain built this step, else from the
        day's rows priced ahead (``ahead.QuotesAhead``), listings looked up once per (root, expiry)."""
        by_expiry: dict[tuple[str, date], list[OptionContract]] = {}
        ahead, point = self._m.ahead, self._point
        ready: list[OptionContract] = []  # rows priced ahead for this point: listed and priceable
        for c in contracts:
            from_chain = self._from_chain(c)
            if from_chain is not None:
                self._quotes[c] = from_chain
            elif ahead.covers(c, point):
                ready.append(c)
            else:
                try:
                    by_expiry.setdefault((c.root, c.expiry), []).append(c)
                except (AttributeError, TypeError):
                    self._quotes[c] = None
        wanted = []
        for (root, expiry), members in by_expiry.items():
            try:
                found = self._group(root, expiry)
            except (AttributeError, TypeError):
                found = None
            valid = [] if found is None else [c for c in members if _prices_as(c, found[1])]
            for c in members:
                self._quotes[c] = None
            if valid:
                wanted.append((root, expiry, valid))
        if wanted:
            ahead.price(point, wanted)
            ready += [c for _, _, valid in wanted for c in valid]
        if ready:
            self._quotes.update(ahead.quotes(point, self._time, ready))


def _prices_as(c: OptionContract, underlying: str) -> bool:
    """A contract this expiry lists: same underlying, a real strike and right."""
    return (
        c.underlying == underlying and math.isfinite(c.strike) and c.strike > 0 and isinstance(c.right, Right)
    )
