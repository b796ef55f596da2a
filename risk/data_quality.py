"""Quote checks from the rulebook: a quote that fails is never used to open a position."""

from __future__ import annotations

import math
from datetime import datetime

from core.settings import Settings
from core.types import Decision, OptionQuote


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
