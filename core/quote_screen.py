"""Sanity rules for market data, and the last good value of each instrument they are judged against.

Why: a feed can deliver NaN, 1e308, a price x1000 or /1000 (a unit slip), a zero or negative
price, an absurd spread or a VIX of -20.  Marking a position, triggering an exit or pricing an
order on such a quote loses money.  ``QuoteScreen`` applies the rules every layer shares (entries
add stricter ones in ``risk.data_quality``) and remembers, per instrument, the last value that
passed them (``LastGood``, a plain serialisable dataclass):

- option quotes: finite; ask > 0 and bid >= 0; not crossed; bid not above the most the option can
  be worth (a call its underlying, a put its strike); spread not wider than ``dq_quote_max_width``
  of the underlying; mid not more than ``dq_max_jump`` times above or below the last good mid of
  the same contract beyond what the underlying's move explains (through the option's elasticity,
  doubled for gamma), for observations no more than one session apart;
- index levels (VIX) are judged by ``risk.data_quality`` for entries; their last good values are kept
  here too.

``view(snapshot)`` is what strategies and monitors see: a contract whose quote fails is marked from
its last good quote, spread widened, so a stop or target can still be evaluated; orders are priced
only from quotes that pass (``usable``, ``unpriceable``), never from a marked one.

``LastGood`` is part of the system's saved state (``state`` / ``restore``): after a restart every
quote is judged against the same history as before it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from core.settings import Settings
from core.types import ChainSource, Decision, Leg, MarketSnapshot, OptionChain, OptionContract, OptionQuote

SESSION_GAP = timedelta(days=4)  # observations further apart are not compared (a long weekend fits)
_UP_FLOOR = 2e-4  # share of the underlying price any option may rise regardless (cheap wings)
_DOWN_FLOOR = 1e-5  # ... and fall regardless
_BOUND_SLACK = 1.01
_MAX_EXPONENT = 50.0


@dataclass(frozen=True, slots=True)
class GoodPrice:
    price: float
    time: datetime


@dataclass
class LastGood:
    """The last value of each instrument that passed the sanity rules: option symbol -> quote,
    index symbol (VIX) -> price."""

    quotes: dict[str, OptionQuote] = field(default_factory=dict)
    prices: dict[str, GoodPrice] = field(default_factory=dict)
    day: date | None = None  # the session the memory was last trimmed for

    def forget_before(self, cutoff: datetime) -> None:
        self.quotes = {k: q for k, q in self.quotes.items() if q.time >= cutoff}
        self.prices = {k: p for k, p in self.prices.items() if p.time >= cutoff}


def quote_problem(q: OptionQuote, last: OptionQuote | None, s: Settings) -> Decision:
    """The first sanity rule ``q`` fails (judged against ``last``, the contract's last good quote)."""
    symbol, bid, ask = q.contract.symbol, q.bid, q.ask
    if not (math.isfinite(bid) and math.isfinite(ask)):
        return Decision.block("dq_non_finite", f"{symbol}: bid {bid} / ask {ask} not finite")
    if ask <= 0 or bid < 0:
        return Decision.block(
            "dq_non_positive", f"{symbol}: bid {bid} / ask {ask} (ask must be > 0, bid >= 0)"
        )
    if ask < bid:
        return Decision.block("dq_crossed", f"{symbol}: bid {bid} above ask {ask}")
    spot = _spot(q, last)
    cap = spot if q.contract.is_call else q.contract.strike
    if cap is not None and bid > cap * _BOUND_SLACK:
        return Decision.block(
            "dq_out_of_bounds", f"{symbol}: bid {bid:.6g} above the most the option can be worth ({cap:.6g})"
        )
    scale = spot if spot is not None else q.contract.strike
    if ask - bid > s.dq_quote_max_width * scale:
        return Decision.block(
            "dq_absurd_width",
            f"{symbol}: spread {ask - bid:.6g} wider than {s.dq_quote_max_width:.1%} of {scale:.6g}",
        )
    if last is not None and abs(q.time - last.time) <= SESSION_GAP:
        factor = _allowed_factor(q, last, s.dq_max_jump)
        mid, ref = q.mid, last.mid
        if mid > ref * factor + _UP_FLOOR * scale or (mid < ref / factor and ref - mid > _DOWN_FLOOR * scale):
            return Decision.block(
                "dq_quote_jump",
                f"{symbol}: mid {mid:.6g} vs last good {ref:.6g} at {last.time}: beyond x{factor:.3g} "
                "of what the underlying's move explains",
            )
    return Decision.ok()


def _spot(q: OptionQuote, last: OptionQuote | None) -> float | None:
    if math.isfinite(q.underlying_price) and q.underlying_price > 0:
        return q.underlying_price
    if last is not None and math.isfinite(last.underlying_price) and last.underlying_price > 0:
        return last.underlying_price
    return None


def _allowed_factor(q: OptionQuote, last: OptionQuote, max_jump: float) -> float:
    """``max_jump`` widened by the move of the underlying since ``last``: an option moves about
    elasticity (|delta| x S / V) times its underlying's return; doubled for gamma.  Without a usable
    delta the elasticity of a delta-1 option is assumed (a stop must not be held back on a real move)."""
    s0, s1 = last.underlying_price, q.underlying_price
    if not (math.isfinite(s0) and math.isfinite(s1) and s0 > 0 and s1 > 0):
        return max_jump
    deltas = [abs(d) for d in (last.delta, q.delta) if math.isfinite(d) and d != 0]
    delta = min(1.0, max(deltas)) if deltas else 1.0
    elasticity = delta * s0 / last.mid
    return max_jump * math.exp(min(_MAX_EXPONENT, 2.0 * elasticity * abs(s1 / s0 - 1.0)))


class QuoteScreen:
    """Judges option quotes, keeps ``LastGood`` up to date, and builds the screened view."""

    def __init__(self, settings: Settings, last: LastGood | None = None) -> None:
        self.s = settings
        self.last = last if last is not None else LastGood()

    def state(self) -> LastGood:
        return self.last

    def restore(self, state: LastGood) -> None:
        self.last = state

    def check(self, q: OptionQuote) -> Decision:
        """The verdict on ``q``; a quote that passes becomes its contract's last good quote."""
        symbol = q.contract.symbol
        last = self.last.quotes.get(symbol)
        if last is not None and last.time == q.time and last.bid == q.bid and last.ask == q.ask:
            return Decision.ok()  # already judged (the same quote is read by several layers)
        verdict = quote_problem(q, last, self.s)
        if verdict.approved:
            self.last.quotes[symbol] = q
        return verdict

    def usable(self, q: OptionQuote) -> bool:
        return self.check(q).approved

    def marked(self, contract: OptionContract) -> OptionQuote | None:
        """The contract's last good quote, spread doubled (mid unchanged) and stamped with the time
        it was good; None if there is none."""
        last = self.last.quotes.get(contract.symbol)
        if last is None:
            return None
        half = 0.5 * last.spread
        return dataclasses.replace(last, bid=max(0.0, last.bid - half), ask=last.ask + half)

    def view(self, snapshot: MarketSnapshot) -> MarketSnapshot:
        """The snapshot strategies and monitors see."""
        if self.last.day != snapshot.time.date():
            self.last.day = snapshot.time.date()
            self.last.forget_before(snapshot.time - SESSION_GAP)
        return dataclasses.replace(snapshot, chains=ScreenedChains(snapshot.chains, self))

    def unpriceable(self, legs: Sequence[Leg], chains: ChainSource) -> list[str]:
        """Why an order on ``legs`` cannot be priced now (one line per leg); [] if it can."""
        quotes = [(leg.contract, raw_chains(chains).quote(leg.contract)) for leg in legs]
        missing = [f"{c.symbol}: no quote" for c, q in quotes if q is None]
        return missing + self.bad_quotes([q for _, q in quotes if q is not None])

    def bad_quotes(self, quotes: Sequence[OptionQuote]) -> list[str]:
        """One line per quote that fails the rules."""
        verdicts = [self.check(q) for q in quotes]
        return [f"{v.code}: {v.message}" for v in verdicts if not v.approved]


class ScreenedChains:
    """A ``ChainSource`` whose single quotes of a contract failing the rules are marked from its last
    good quote (``QuoteScreen.marked``): that is how positions are marked and exits evaluated.
    Chains are the source's own: entry candidates are judged, with a reason, by the risk gate."""

    def __init__(self, source: ChainSource, screen: QuoteScreen) -> None:
        self.source = source
        self._screen = screen

    def expiries(self, root: str) -> tuple[date, ...]:
        return self.source.expiries(root)

    def chain(self, root: str, expiry: date) -> OptionChain | None:
        return self.source.chain(root, expiry)

    def quote(self, contract: OptionContract) -> OptionQuote | None:
        q = self.source.quote(contract)
        if q is None:
            return None
        return q if self._screen.usable(q) else self._screen.marked(contract)


def raw_chains(chains: ChainSource) -> ChainSource:
    """The unscreened source behind a screened view (order pricing and entry checks judge raw quotes)."""
    return chains.source if isinstance(chains, ScreenedChains) else chains
