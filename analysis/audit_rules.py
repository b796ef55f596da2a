"""The rulebook's checks added on 2026-12-02 (STRATEGY_RULES.md, "Changes of 2026-12-02"), judged
from a trade's notes like the rest of ``analysis.audit``: the portfolio stress limit and the 0DTE
gamma limit after the trade (the figures the gate approved it on, ``gate_*``), the LT112 width
and contract, the IPMCC weekly break-even and campaign stop, and the LEAP rung's and ladder's margin
shares of NLV.
A note that is missing (a run written before these rules) is not judged.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from analysis.trade_log import Trade
from core.settings import Settings

EPS = 1e-6
Finding = tuple[str, str]
EQUITY_MULTIPLIER = 100.0  # IPMCC trades SPY, QQQ, IWM options


def _known(*values: float) -> bool:
    return all(math.isfinite(v) for v in values)


def gate_limits(t: Trade, s: Settings) -> Iterable[Finding]:
    """Every entry within the stress limit after the trade (or lowering a loss already beyond it); a
    0DTE entry within the gamma limit."""
    after, limit, before = (
        t.note("gate_stress_after"),
        t.note("gate_stress_limit"),
        t.note("gate_stress_before"),
    )
    lowers = math.isfinite(before) and after <= before + 0.01  # a hedge of a loss already beyond it
    if _known(after, limit) and after > limit + 0.01 and not lowers:
        yield "stress_limit", f"stress loss after the entry ${after:,.0f} above its limit ${limit:,.0f}"
    if t.strategy == "zero_dte":
        gamma, cap = t.note("gate_gamma_after"), t.note("gate_gamma_limit")
        if _known(gamma, cap) and abs(gamma) > cap + 0.01:
            yield "greeks_gamma", f"portfolio gamma after the condor {gamma:,.0f} beyond ±{cap:,.0f}"


def lt112(t: Trade, s: Settings) -> Iterable[Finding]:
    roots = {r for r in t.roots if r}
    if roots - {s.lt112_futures_root, s.lt112_micro_root}:
        yield "lt112_root", f"LT112 on {', '.join(sorted(roots))}; the rule is /ES or /MES"
    if t.part == "spread" or not t.part:
        width = t.note("strike_0") - t.note("strike_1")
        if _known(width) and abs(width - s.lt112_spread_width_es) > s.lt112_width_tolerance + EPS:
            yield (
                "lt112_width",
                f"spread {width:g} points wide; the rule is {s.lt112_spread_width_es:g} ± {s.lt112_width_tolerance:g}",
            )


def ipmcc(t: Trade, s: Settings) -> Iterable[Finding]:
    if t.part == "short_call":
        strike, break_even = t.note("strike_0"), t.note("break_even")
        if _known(strike, break_even) and strike < break_even - EPS:
            yield (
                "ipmcc_break_even",
                f"weekly call strike {strike:g} below the campaign break-even {break_even:.2f}",
            )
        if _known(t.note("long_paid"), t.note("long_strike"), t.note("weekly_kept"), break_even):
            expected = t.note("long_strike") + t.note("long_paid") - t.note("weekly_kept")
            if abs(expected - break_even) > 0.01:
                yield (
                    "ipmcc_break_even",
                    f"break-even {break_even:.2f} is not strike + paid - kept ({expected:.2f})",
                )
    if t.part == "long_call" and t.exit_reason == "stop_loss":
        pnl, cost = t.note("exit_campaign_pnl"), t.note("exit_cost")
        if _known(pnl, cost):
            stop = s.ipmcc_campaign_stop * cost * t.quantity * EQUITY_MULTIPLIER
            if not pnl <= -stop + 0.01:
                yield "exit_reason", f"campaign stopped at ${pnl:,.0f}, before its -${stop:,.0f} stop"


def leap(t: Trade, s: Settings) -> Iterable[Finding]:
    """A rung's margin within its share of NLV, and the ladder's with it (both as sized at entry;
    a rung left smaller by a partial fill is within both)."""
    margin, nlv, ladder = t.note("margin"), t.note("nlv"), t.note("ladder_margin")
    if _known(margin, nlv) and margin * t.quantity > s.leap_rung_margin_nlv * nlv + 0.01:
        yield (
            "size",
            f"rung margin ${margin * t.quantity:,.0f} above {s.leap_rung_margin_nlv:.0%} of NLV (${nlv:,.0f})",
        )
    if _known(ladder, nlv) and ladder > s.leap_ladder_margin_nlv * nlv + 0.01:
        yield (
            "size",
            f"ladder margin ${ladder:,.0f} with this rung above {s.leap_ladder_margin_nlv:.0%} of NLV (${nlv:,.0f})",
        )


__all__ = ["gate_limits", "ipmcc", "leap", "lt112"]
