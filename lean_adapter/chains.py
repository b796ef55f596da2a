"""``ChainSource`` over one LEAN slice's ``option_chains``.

Chains are indexed on first use and converted only when a strategy asks for one (root, expiry);
a single contract (a held leg being marked) is priced on its own, never its whole chain, because
every LEAN contract whose Greeks are read runs LEAN's price model.  It receives LEAN objects from
``lean_adapter.platform`` and imports nothing of LEAN.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Protocol

from core.types import OptionChain, OptionContract, OptionQuote
from lean_adapter.translate import RawOptionQuote, build_quotes, sort_quotes


class Overlay(Protocol):
    def merge(self, quote: OptionQuote, now: datetime) -> OptionQuote: ...

    def quote(self, contract: OptionContract, now: datetime) -> OptionQuote | None: ...


class LeanChains:
    def __init__(
        self,
        source: Any,  # LEAN OptionChains (canonical symbol -> chain) or None
        now: datetime,
        index_key: Callable[[Any], tuple[str, date, str]],  # LEAN contract -> (root, expiry, core symbol)
        raw_quote: Callable[[Any], RawOptionQuote],
        rate: Callable[[], float],
        overlay: Overlay | None,
    ) -> None:
        self._source = source
        self._now = now
        self._index_key = index_key
        self._raw = raw_quote
        self._rate = rate
        self._overlay = overlay
        self._index: dict[str, dict[date, list[Any]]] | None = None
        self._by_symbol: dict[str, Any] = {}
        self._built: dict[tuple[str, date], OptionChain | None] = {}
        self._quotes: dict[str, OptionQuote] = {}

    def _roots(self) -> dict[str, dict[date, list[Any]]]:
        if self._index is None:
            self._index = {}
            for chain in self._source.values() if self._source is not None else []:
                for item in chain:
                    root, expiry, symbol = self._index_key(item)
                    self._index.setdefault(root, {}).setdefault(expiry, []).append(item)
                    self._by_symbol[symbol] = item
        return self._index

    def _convert(self, items: list[Any]) -> list[OptionQuote]:
        raws = [self._raw(item) for item in items]
        quotes = build_quotes(raws, self._now, self._rate() if raws else 0.0)
        if self._overlay is not None:
            quotes = [self._overlay.merge(q, self._now) for q in quotes]
        self._quotes.update({q.contract.symbol: q for q in quotes})
        return quotes

    def expiries(self, root: str) -> tuple[date, ...]:
        return tuple(sorted(self._roots().get(root, {})))

    def chain(self, root: str, expiry: date) -> OptionChain | None:
        key = (root, expiry)
        if key not in self._built:
            items = self._roots().get(root, {}).get(expiry, [])
            fresh = [i for i in items if self._index_key(i)[2] not in self._quotes]
            self._convert(fresh)
            quotes = sort_quotes(
                self._quotes[self._index_key(i)[2]] for i in items if self._index_key(i)[2] in self._quotes
            )
            first = quotes[0] if quotes else None
            self._built[key] = (
                OptionChain(root, expiry, first.contract.underlying, first.underlying_price, quotes)
                if first is not None
                else None
            )
        return self._built[key]

    def quote(self, contract: OptionContract) -> OptionQuote | None:
        found = self._quotes.get(contract.symbol)
        if found is None:
            self._roots()
            item = self._by_symbol.get(contract.symbol)
            if item is not None:
                converted = self._convert([item])
                found = converted[0] if converted else None
        if found is None and self._overlay is not None:  # no LEAN quote: the DXLink feed's, if any
            found = self._overlay.quote(contract, self._now)
        return found
