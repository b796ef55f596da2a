"""Two feeds for every contract: LEAN's data and the DXLink cache.  Use the freshest valid one.

Either feed alone can go quiet (LEAN's data provider stalls, the DXLink socket drops), so for each
contract the merge takes the freshest quote that is valid and younger than ``max_age`` (60 s
live, the data-quality rule).  When both are fresh they are compared; a mid, delta or IV gap
beyond tolerance is flagged on the result and counted, which is how a unit mismatch or a frozen
feed shows up in monitoring.  If one feed dies the other carries on; when both are dead,
``entries_allowed`` says no (exits may still use whatever a caller judges good enough).

The DXLink side is built from the cache: bid/ask from ``Quote``, IV and Greeks from ``Greeks``,
open interest from ``Summary``; its time is the *older* ``as_of`` (the events' own time, see
``brokers.quote_cache``) of Quote and Greeks, so a fresh quote never makes stale Greeks look fresh.  DXLink carries no day volume on these events;
the LEAN quote's volume is used when there is one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from brokers.quote_cache import QuoteCache
from brokers.symbols import symbols_for
from core.types import Decision, OptionContract, OptionQuote


@dataclass(frozen=True, slots=True)
class DualFeedConfig:
    max_age: timedelta = timedelta(seconds=60)
    mid_abs_tol: float = 0.05  # price points
    mid_rel_tol: float = 0.05  # of the larger mid
    delta_tol: float = 0.05
    iv_tol: float = 0.03  # absolute, in decimal vol (3 vol points)


@dataclass(frozen=True, slots=True)
class Merged:
    """The chosen quote (None when neither feed has a fresh valid one) and why."""

    quote: OptionQuote | None
    source: str  # "lean", "dxlink" or "none"
    disagreements: tuple[str, ...] = ()  # fields beyond tolerance, when both were fresh
    reason: str = ""


def quote_problem(q: OptionQuote | None, now: datetime, max_age: timedelta) -> str:
    """Why a quote cannot be used as fresh data ("" when it can)."""
    if q is None:
        return "missing"
    if now - q.time > max_age:
        return "stale"
    if not (math.isfinite(q.bid) and math.isfinite(q.ask)) or q.bid < 0 or q.ask < q.bid:
        return "bad bid/ask"
    if not all(math.isfinite(v) for v in (q.iv, q.delta, q.gamma, q.theta, q.vega)):
        return "non-finite greeks"
    return ""


class DualFeed:
    """Merges per contract; counts sources and disagreements.  ``dx_alive`` reports the DXLink
    feed's health (e.g. ``FeedSupervisor.alive``)."""

    def __init__(
        self,
        cache: QuoteCache | None,
        dx_alive: Callable[[], bool] = lambda: False,
        config: DualFeedConfig | None = None,
    ):
        self._cache = cache
        self._dx_alive = dx_alive
        self.cfg = config or DualFeedConfig()
        self._lean_last: datetime | None = None
        self.used: dict[str, int] = {"lean": 0, "dxlink": 0, "none": 0}
        self.disagreements: dict[str, int] = {"mid": 0, "delta": 0, "iv": 0}
        self.compared = 0

    # --- feed health ------------------------------------------------------------------------

    def lean_data_received(self, when: datetime) -> None:
        """The LEAN adapter calls this for each slice of option data it forwards."""
        if self._lean_last is None or when > self._lean_last:
            self._lean_last = when

    def lean_alive(self, now: datetime) -> bool:
        return self._lean_last is not None and now - self._lean_last <= self.cfg.max_age

    def entries_allowed(self, now: datetime) -> Decision:
        lean, dx = self.lean_alive(now), bool(self._cache is not None and self._dx_alive())
        if lean or dx:
            which = "both feeds" if lean and dx else ("LEAN feed only" if lean else "DXLink feed only")
            return Decision.ok("feeds_ok", which)
        return Decision.block("feeds_dead", "LEAN data and the DXLink feed are both dead: no new entries")

    # --- per contract -------------------------------------------------------------------------

    def dxlink_quote(
        self, contract: OptionContract, now: datetime, underlying_price: float = math.nan
    ) -> OptionQuote | None:
        """The DXLink cache's view of ``contract`` as an ``OptionQuote`` (None if not cached).
        ``now`` (the snapshot's time) and ``cache.now()`` are the same clock in production."""
        if self._cache is None:
            return None
        sym = symbols_for(contract).streamer
        entry = self._cache.snapshot([sym])[sym]
        if entry.quote is None or entry.greeks is None:
            return None
        q, g = entry.quote.value, entry.greeks.value
        as_of = min(entry.quote.as_of, entry.greeks.as_of)
        age = self._cache.now() - as_of
        oi = entry.summary.value.open_interest if entry.summary is not None else 0
        return OptionQuote(
            contract=contract,
            time=now - max(age, timedelta(0)),
            bid=q.bid,
            ask=q.ask,
            bid_size=int(q.bid_size) if math.isfinite(q.bid_size) else 0,
            ask_size=int(q.ask_size) if math.isfinite(q.ask_size) else 0,
            volume=0,
            open_interest=max(oi, 0),
            underlying_price=underlying_price,
            iv=g.iv,
            delta=g.delta,
            gamma=g.gamma,
            theta=g.theta,
            vega=g.vega,
        )

    def merge(
        self,
        contract: OptionContract,
        lean: OptionQuote | None,
        now: datetime,
        underlying_price: float | None = None,
    ) -> Merged:
        spot = (
            underlying_price
            if underlying_price is not None
            else (lean.underlying_price if lean else math.nan)
        )
        dx = self.dxlink_quote(contract, now, spot)
        lean_bad, dx_bad = (
            quote_problem(lean, now, self.cfg.max_age),
            quote_problem(dx, now, self.cfg.max_age),
        )
        if lean_bad and dx_bad:
            self.used["none"] += 1
            return Merged(None, "none", reason=f"lean: {lean_bad}; dxlink: {dx_bad}")
        if dx_bad:
            assert lean is not None
            self.used["lean"] += 1
            return Merged(lean, "lean", reason=f"dxlink: {dx_bad}")
        assert dx is not None
        if lean_bad:
            self.used["dxlink"] += 1
            return Merged(dx, "dxlink", reason=f"lean: {lean_bad}")
        assert lean is not None
        gaps = self._compare(lean, dx)
        if dx.time > lean.time:
            self.used["dxlink"] += 1
            chosen = replace(dx, volume=lean.volume, open_interest=dx.open_interest or lean.open_interest)
            return Merged(chosen, "dxlink", gaps, "dxlink fresher")
        self.used["lean"] += 1
        return Merged(lean, "lean", gaps, "lean fresher or equal")

    def _compare(self, a: OptionQuote, b: OptionQuote) -> tuple[str, ...]:
        self.compared += 1
        c = self.cfg
        gaps = []
        if abs(a.mid - b.mid) > max(c.mid_abs_tol, c.mid_rel_tol * max(abs(a.mid), abs(b.mid))):
            gaps.append("mid")
        if abs(a.delta - b.delta) > c.delta_tol:
            gaps.append("delta")
        if abs(a.iv - b.iv) > c.iv_tol:
            gaps.append("iv")
        for g in gaps:
            self.disagreements[g] += 1
        return tuple(gaps)
