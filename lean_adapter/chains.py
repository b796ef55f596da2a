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


class QuoteOverlay(Protocol):
    """A second option-quote source merged into LEAN's: in live trading, optionally, the
    Tastytrade DXLink feed (``brokers.live.TastytradeLink``, set on the adapter by ``main.py``)."""

    def lean_data(self, now: datetime) -> None: ...

    def merge(self, quote: OptionQuote, now: datetime) -> OptionQuote: ...

    def quote(self, contract: OptionContract, now: datetime) -> OptionQuote | None: ...


class LeanChains:
    def __init__(
        self,
        source: Any,  # LEAN OptionChains (canonical symbol -> chain) or None
        now: datetime,
        root_of: Callable[[Any], str],  # canonical option symbol -> core root (SPXW, ES...)
        index_key: Callable[[Any], tuple[str, date, str]],  # LEAN contract -> (root, expiry, core symbol)
        raw_quote: Callable[[Any], RawOptionQuote],
        rate: Callable[[], float],
        overlay: QuoteOverlay | None,
    ) -> None:
        self._source = source
        self._root_of = root_of
        self._now = now
        self._index_key = index_key
        self._raw = raw_quote
        self._rate = rate
        self._overlay = overlay
        self._canonicals: dict[str, list[Any]] | None = None
        self._index: dict[str, dict[date, list[Any]]] = {}
        self._by_symbol: dict[str, Any] = {}
        self._built: dict[tuple[str, date], OptionChain | None] = {}
        self._quotes: dict[str, OptionQuote] = {}

    def _root(self, root: str) -> dict[date, list[Any]]:
        """One root's contracts by expiry; only that root's LEAN chains are read."""
        if self._canonicals is None:
            self._canonicals = {}
            for canonical in list(self._source.keys()) if self._source is not None else []:
                self._canonicals.setdefault(self._root_of(canonical), []).append(canonical)
        source = self._source
        if root not in self._index:
            by_expiry: dict[date, list[Any]] = {}
            for canonical in self._canonicals.get(root, []):
                chain = source[canonical] if source is not None else []
                for item in chain:
                    _, expiry, symbol = self._index_key(item)
                    by_expiry.setdefault(expiry, []).append(item)
                    self._by_symbol[symbol] = item
            self._index[root] = by_expiry
        return self._index[root]

    def _convert(self, items: list[Any]) -> list[OptionQuote]:
        raws = [self._raw(item) for item in items]
        quotes = build_quotes(raws, self._now, self._rate() if raws else 0.0)
        if self._overlay is not None:
            quotes = [self._overlay.merge(q, self._now) for q in quotes]
        self._quotes.update({q.contract.symbol: q for q in quotes})
        return quotes

    def expiries(self, root: str) -> tuple[date, ...]:
        return tuple(sorted(self._root(root)))

    def chain(self, root: str, expiry: date) -> OptionChain | None:
        key = (root, expiry)
        if key not in self._built:
            items = self._root(root).get(expiry, [])
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
            self._root(contract.root)
            item = self._by_symbol.get(contract.symbol)
            if item is not None:
                converted = self._convert([item])
                found = converted[0] if converted else None
        if found is None and self._overlay is not None:  # no LEAN quote: the DXLink feed's, if any
            found = self._overlay.quote(contract, self._now)
        return found
