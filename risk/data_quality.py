"""Quote checks from the rulebook: a quote that fails is never used to open a position.

The option-quote sanity rules every layer shares (bounds, absurd width, jump vs the contract's
last good quote) are ``core.quote_screen``'s; here are the entry rules on top of them, and the
plausibility of the underlying and of VIX (non-finite, <= 0, out of range, jump vs last good).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from core.ports import TradingCalendar
from core.quote_screen import GoodPrice, LastGood
from core.settings import Settings
from core.types import Decision, OptionQuote, UnderlyingQuote

VIX_RANGE = (1.0, 200.0)  # VIX has printed between 9 and 90: outside this it is a unit or feed error


def check_entry_quote(quote: OptionQuote, now: datetime, settings: Settings, is_live: bool) -> Decision:
    """Stale, non-finite, crossed/locked, impossible Greeks, wide, illiquid — in that order."""
    symbol = quote.contract.symbol
    age = (now - quote.time).total_seconds()
    if age < 0 or (is_live and age > settings.dq_max_quote_age_seconds) or (not is_live and quote.time < now):
        return Decision.block("dq_stale", f"{symbol}: quote from {quote.time} is stale at {now}")
    values = (quote.bid, quote.ask, quote.underlying_price)
    if (
        not all(math.isfinite(v) for v in values)
        or quote.ask <= 0
        or quote.underlying_price <= 0
        or quote.bid < 0
    ):
        return Decision.block(
            "dq_non_positive", f"{symbol}: bid/ask/underlying {values} not finite and positive"
        )
    if quote.bid <= 0:
        return Decision.block("dq_no_bid", f"{symbol}: no bid")
    if quote.ask < quote.bid or quote.ask == quote.bid:
        return Decision.block("dq_crossed", f"{symbol}: bid {quote.bid} / ask {quote.ask} crossed or locked")
    greeks = (quote.delta, quote.iv)
    if not all(math.isfinite(v) for v in greeks) or abs(quote.delta) > 1 or not 0 < quote.iv <= 5:
        return Decision.block("dq_greeks", f"{symbol}: impossible Greeks delta={quote.delta} iv={quote.iv}")
    if quote.spread > settings.dq_max_spread_of_mid * quote.mid:
        return Decision.block(
            "dq_wide",
            f"{symbol}: spread {quote.spread:.2f} > {settings.dq_max_spread_of_mid:.0%} of mid {quote.mid:.2f}",
        )
    if quote.volume < settings.dq_min_volume and quote.open_interest < settings.dq_min_open_interest:
        return Decision.block(
            "dq_illiquid", f"{symbol}: volume {quote.volume} and open interest {quote.open_interest} too low"
        )
    return Decision.ok("dq_ok", f"{symbol}: quote usable")


@dataclass
class QuoteWatch:
    """Catches stuck quotes: bid/ask unchanged for ``dq_stuck_minutes`` while the underlying moved
    more than ``dq_stuck_move``.  It remembers every quote it is shown (entry checks and the legs of
    open positions each step); a quote seen for the first time cannot be judged stuck yet.
    Part of the risk state (``risk.state``): a restart judges quotes exactly as before it."""

    # symbol -> (bid, ask, unchanged since, underlying price then)
    seen: dict[str, tuple[float, float, datetime, float]] = field(default_factory=dict)

    def observe(self, quote: OptionQuote, now: datetime) -> None:
        key = quote.contract.symbol
        seen = self.seen.get(key)
        if seen is None or seen[0] != quote.bid or seen[1] != quote.ask or now < seen[2]:
            self.seen[key] = (quote.bid, quote.ask, now, quote.underlying_price)

    def check(self, quote: OptionQuote, now: datetime, settings: Settings) -> Decision:
        self.observe(quote, now)
        bid, ask, since, underlying = self.seen[quote.contract.symbol]
        minutes = (now - since).total_seconds() / 60.0
        if minutes >= settings.dq_stuck_minutes and underlying > 0 and math.isfinite(quote.underlying_price):
            move = quote.underlying_price / underlying - 1.0
            if abs(move) > settings.dq_stuck_move:
                return Decision.block(
                    "dq_stuck",
                    f"{quote.contract.symbol}: bid {bid} / ask {ask} unchanged for {minutes:.0f} min while "
                    f"the underlying moved {move:+.2%}",
                )
        return Decision.ok()

    def forget_before(self, cutoff: datetime) -> None:
        """Drop quotes not refreshed since ``cutoff`` (keeps memory flat over a long run)."""
        self.seen = {k: v for k, v in self.seen.items() if v[2] >= cutoff}


@dataclass
class JumpWatch:
    """An underlying that moves more than ``dq_underlying_jump`` between consecutive observations of
    the same instrument no more than one session apart halts new entries for
    ``dq_jump_halt_minutes`` (a gap at the open counts).  A last observation older than the
    previous session is no baseline (a futures contract watched again after weeks, a restart after
    a holiday week): it is replaced by this one, as the previous session's close is not known.  VIX
    is not an underlying we trade and routinely moves that much, so it is ignored.  Part of the
    risk state (the baseline's day with it, so a restart keeps the one-session rule)."""

    last: dict[str, float] = field(default_factory=dict)
    seen: dict[str, date] = field(default_factory=dict)  # the session day of ``last``
    halted_until: datetime | None = None
    reason: str = ""

    def observe(
        self,
        symbol: str,
        price: float,
        now: datetime,
        settings: Settings,
        calendar: TradingCalendar | None = None,
    ) -> str:
        """Returns a message when this observation starts (or extends) a halt, else ''.
        ``calendar`` says which day the previous session was (without it: the previous weekday)."""
        if symbol.startswith("VIX") or not math.isfinite(price) or price <= 0:
            return ""
        previous, seen, today = self.last.get(symbol), self.seen.get(symbol), now.date()
        self.last[symbol], self.seen[symbol] = price, today
        # a baseline from today is always recent enough (the previous session is before today)
        if previous is None or seen is None or (seen != today and seen < previous_session(today, calendar)):
            return ""
        move = price / previous - 1.0
        if abs(move) <= settings.dq_underlying_jump:
            return ""
        self.halted_until = now + timedelta(minutes=settings.dq_jump_halt_minutes)
        self.reason = f"{symbol} moved {move:+.2%} since {seen} ({previous} -> {price})"
        return self.reason

    def check(self, now: datetime) -> Decision:
        if self.halted_until is not None and now < self.halted_until:
            return Decision.block(
                "dq_underlying_jump", f"{self.reason}; entries halted until {self.halted_until}"
            )
        return Decision.ok()


def check_underlying(quote: UnderlyingQuote) -> Decision:
    """An underlying price an entry may rely on: finite and positive (jumps: ``JumpWatch``)."""
    if not math.isfinite(quote.price) or quote.price <= 0:
        return Decision.block(
            "dq_underlying_invalid", f"{quote.symbol} price {quote.price} is not finite and positive"
        )
    return Decision.ok()


def check_vix(vix: float | None) -> Decision:
    """VIX known, finite and inside ``VIX_RANGE`` (unknown VIX no longer means EXTREME: no entry)."""
    lo, hi = VIX_RANGE
    if vix is None or not math.isfinite(vix) or not lo <= vix <= hi:
        return Decision.block("dq_vix_invalid", f"VIX {vix} is unknown or outside {lo:g}..{hi:g}")
    return Decision.ok()


def observe_vix(vix: float | None, last: LastGood, now: datetime, settings: Settings) -> Decision:
    """VIX an entry may rely on: known, finite, inside ``VIX_RANGE`` and within ``dq_max_jump`` times
    its last good value of the last ``dq_jump_halt_minutes`` (a real spike is accepted once that
    much time has passed: entries wait, they are not stopped for the day).  A value that passes
    becomes the last good one."""
    decision = check_vix(vix)
    if vix is None or not decision.approved:
        return decision
    good = last.prices.get("VIX")
    window = timedelta(minutes=settings.dq_jump_halt_minutes)
    if good is not None and timedelta(0) <= now - good.time <= window:
        ratio = vix / good.price
        if not 1 / settings.dq_max_jump <= ratio <= settings.dq_max_jump:
            return Decision.block(
                "dq_vix_jump", f"VIX {vix:g} vs last good {good.price:g} at {good.time}: x{ratio:.3g}"
            )
    last.prices["VIX"] = GoodPrice(vix, now)
    return Decision.ok()


def previous_session(day: date, calendar: TradingCalendar | None) -> date:
    """The trading day before ``day`` (weekdays when no calendar is given; at most 10 days back)."""
    back = day
    for _ in range(10):
        back -= timedelta(days=1)
        if calendar.is_trading_day(back) if calendar is not None else back.weekday() < 5:
            return back
    return back
