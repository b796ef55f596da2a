"""The rule auditor: checks every trade of a backtest's ``trades.csv`` against the rulebook.

``python -m sim audit reports/trades.csv`` prints one line per violation and exits 1 if there is
any.  Each trade carries its entry context and its exit trigger in ``notes`` (written by the
strategies: signal minute, NLV, VIX, DTE, each leg's delta/strike/mid; mark, profit, DTE at exit),
so the audit judges the decision with the numbers the strategy saw, independently of its code.
Checks: strategy allowed in the account phase; entry weekday and time window; DTE window; short
and long deltas within tolerance; exit reason consistent with the trigger values; size within the
phase and per-strategy caps, and concurrent positions within their limits; the rules of
2026-12-02 (stress and gamma after the trade, LT112 width, IPMCC break-even and campaign stop,
LEAP rung margin) in ``analysis.audit_rules``; each filled profit target against its target less
one tick per leg in ``analysis.audit_targets`` (the worst one is printed).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

from analysis import audit_rules, audit_targets
from analysis.trade_log import Trade, load_trades
from core.regime import account_phase
from core.settings import Settings

RISK_EXITS = {"expiry_itm", "pin_risk", "pre_holiday_pin", "early_exercise_risk", "assignment", "assigned"}
DELTA_TOLERANCE = 0.05  # chains are discrete: the nearest listed strike is within this of a target
EPS = 1e-6


@dataclass(frozen=True)
class Violation:
    group_id: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.group_id}: [{self.rule}] {self.message}"


class Auditor:
    def __init__(self, settings: Settings, delta_tolerance: float = DELTA_TOLERANCE) -> None:
        self.s = settings
        self.tol = delta_tolerance
        self.checks: dict[str, Callable[[Trade], Iterable[tuple[str, str]]]] = {
            "zero_dte": self._zero_dte,
            "lt112": self._lt112,
            "strangle": self._strangle,
            "ipmcc": self._ipmcc,
            "leap_ladder": self._leap,
        }

    def audit(self, trades: Sequence[Trade]) -> list[Violation]:
        out: list[Violation] = []
        for t in trades:
            check = self.checks.get(t.strategy)
            if check is None:
                out.append(Violation(t.group_id, "unknown_strategy", f"no rules for strategy {t.strategy!r}"))
                continue
            out += [Violation(t.group_id, rule, msg) for rule, msg in check(t)]
            out += [Violation(t.group_id, rule, msg) for rule, msg in audit_rules.gate_limits(t, self.s)]
            out += [Violation(t.group_id, rule, msg) for rule, msg in audit_targets.findings(t, self.s)]
        entries: dict[str, list[Trade]] = {}
        for t in trades:
            entries.setdefault(t.entry_id, []).append(t)
        for entry_id, members in entries.items():
            out += [Violation(entry_id, rule, msg) for rule, msg in self._position_risk(members)]
        out += self._concurrency(trades)
        return out

    # --- shared checks ---------------------------------------------------------------------------
    def _phase(self, t: Trade) -> int:
        return account_phase(t.note("nlv"), self.s) if math.isfinite(t.note("nlv")) else 0

    def _entry(
        self, t: Trade, weekday: int | None, first: time, last: time, min_phase: int
    ) -> Iterable[tuple[str, str]]:
        phase = self._phase(t)
        if phase < min_phase:
            yield "phase", f"opened in phase {phase} (NLV {t.note('nlv'):,.0f}); needs phase {min_phase}"
        if t.is_roll_entry:
            return  # a roll's successor opens when its predecessor closes
        day = t.signal_day
        if weekday is not None and day.weekday() != weekday:
            yield "entry_weekday", f"entered on {day:%A}, rule says {_WEEKDAYS[weekday]}"
        if not first <= t.signal_time <= last:
            yield "entry_time", f"signal at {t.signal_time:%H:%M}, window {first:%H:%M}-{last:%H:%M}"

    def _window(self, at: time) -> time:
        return (
            datetime.combine(date(2000, 1, 3), at) + timedelta(minutes=self.s.entry_window_minutes)
        ).time()

    def _dte(self, t: Trade, lo: float, hi: float) -> Iterable[tuple[str, str]]:
        dte, widened = t.note("dte"), t.note("dte_tolerance")  # strategies.common.pick_expiry's tolerance
        pad = widened if math.isfinite(widened) else 0.0
        if not lo - pad <= dte <= hi + pad:
            yield "dte_window", f"entry DTE {dte:g} outside {lo:g}-{hi:g}"

    def _delta(self, t: Trade, index: int, target: float, lo: float | None = None, hi: float | None = None):
        d = abs(t.note(f"delta_{index}"))
        lo = target - self.tol if lo is None else lo
        hi = target + self.tol if hi is None else hi
        if not lo - EPS <= d <= hi + EPS:
            yield "delta", f"leg {index} Δ {d:.3f} outside {lo:.3f}-{hi:.3f}"

    def _exit_credit(self, t: Trade, target: float, stop: float) -> Iterable[tuple[str, str]]:
        """Profit targets and stops measured as shares of the credit, from the exit's trigger values."""
        profit, credit = t.note("exit_profit"), t.note("exit_credit")
        if t.exit_reason == "profit_target" and not profit >= target * credit - EPS:
            yield "exit_reason", f"profit_target with profit {profit:.4f} < {target:g} x credit {credit:.4f}"
        # an undefined-risk stop also fires at the max risk per position of its entry NLV
        at_limit = t.note("exit_loss_usd") >= self.s.risk_max_position_risk * t.note("nlv") - 0.01
        if t.exit_reason == "stop_loss" and not (-profit >= stop * credit - EPS or at_limit):
            yield "exit_reason", f"stop_loss with loss {-profit:.4f} < {stop:g} x credit {credit:.4f}"

    def _exit_dte(self, t: Trade, reasons: tuple[str, ...], max_dte: float) -> Iterable[tuple[str, str]]:
        if t.exit_reason in reasons and not t.note("exit_dte") <= max_dte:
            yield "exit_reason", f"{t.exit_reason} at DTE {t.note('exit_dte'):g}, rule says <= {max_dte:g}"

    def _expired(self, t: Trade) -> Iterable[tuple[str, str]]:
        expiry = t.signal_day + timedelta(days=int(t.note("dte"))) if math.isfinite(t.note("dte")) else None
        if t.exit_reason == "expired" and expiry is not None and t.closed_at.date() < expiry:
            yield "exit_reason", f"expired on {t.closed_at.date()} before its expiry {expiry}"

    def _known_reason(self, t: Trade, allowed: set[str]) -> Iterable[tuple[str, str]]:
        """The strategy's own exits, or a forced exit of the risk layer (pin, assignment, dividend)."""
        if t.exit_reason not in allowed | RISK_EXITS:
            yield "exit_reason", f"{t.exit_reason!r} is not an exit this strategy has"

    def _position_risk(self, entry: Sequence[Trade]) -> Iterable[tuple[str, str]]:
        """Max loss of one entry (all the parts it was split into) vs NLV at entry."""
        risk = sum(x.max_loss_per_unit * x.quantity for x in entry)
        limit = self.s.risk_max_position_risk * entry[0].note("nlv")
        if risk > limit + 0.01:
            share = self.s.risk_max_position_risk
            yield "position_risk", f"max loss ${risk:,.0f} above {share:.0%} of NLV (${limit:,.0f})"

    # --- per strategy ----------------------------------------------------------------------------
    def _zero_dte(self, t: Trade) -> Iterable[tuple[str, str]]:
        s = self.s
        yield from self._entry(
            t, s.zero_dte_weekday, s.zero_dte_first_entry, s.zero_dte_last_entry, s.zero_dte_min_phase
        )
        yield from self._dte(t, 0, 0)
        if not t.note("vix") > s.zero_dte_min_vix:
            yield "entry_vix", f"VIX {t.note('vix'):.2f} not above {s.zero_dte_min_vix:g}"
        if not abs(t.note("move_since_open")) <= s.zero_dte_max_move + EPS:
            yield (
                "entry_move",
                f"move since open {t.note('move_since_open'):.4f} beyond {s.zero_dte_max_move:g}",
            )
        shorts, wings = (0, 2), (1, 3)
        for i in shorts:
            if f"delta_{i}" in t.notes:
                yield from self._delta(t, i, s.zero_dte_short_delta)
        if s.zero_dte_wing_width <= 0:
            for i in wings:
                if f"delta_{i}" in t.notes:
                    yield from self._delta(t, i, s.zero_dte_long_delta)
        cap = 1 if self._phase(t) == 1 else s.zero_dte_max_condors
        if t.quantity > cap:
            yield "size", f"{t.quantity} condors above the cap of {cap} in phase {self._phase(t)}"
        yield from self._known_reason(t, {"profit_target", "stop_loss", "time_exit", "expired"})
        yield from self._exit_credit(t, s.zero_dte_profit_target, s.zero_dte_stop_loss)
        if t.exit_reason == "time_exit" and not t.note("exit_minute") >= t.note("exit_deadline_minute"):
            yield "exit_reason", "time_exit before its deadline"

    def _lt112(self, t: Trade) -> Iterable[tuple[str, str]]:
        s = self.s
        yield from self._entry(
            t, s.lt112_weekday, s.lt112_entry_time, self._window(s.lt112_entry_time), s.lt112_min_phase
        )
        nth = (t.signal_day.day - 1) // 7 + 1
        if not (nth == 1 or (nth == 3 and self._phase(t) >= s.lt112_second_entry_min_phase)):
            yield "entry_weekday", f"entered on Wednesday #{nth} of the month in phase {self._phase(t)}"
        yield from self._dte(t, s.lt112_min_dte, s.lt112_max_dte)
        yield from self._delta(t, 0, s.lt112_long_delta)
        yield from self._delta(t, 2, s.lt112_naked_delta)
        if t.quantity != 1:
            yield "size", f"{t.quantity} units in one entry; the rule is one unit"
        yield from self._known_reason(t, {"profit_target", "stop_loss", "dte_exit", "expired"})
        yield from self._exit_dte(t, ("dte_exit",), s.lt112_spread_exit_dte)
        if t.exit_reason == "profit_target":
            if (
                t.part == "naked"
                and not t.note("exit_profit") >= s.lt112_naked_profit_target * t.note("exit_credit") - EPS
            ):
                yield "exit_reason", "naked puts closed for profit below their target"
            if (
                t.part == "spread"
                and not t.note("exit_mark") >= s.lt112_spread_profit_multiple * t.note("exit_cost") - EPS
            ):
                yield "exit_reason", "debit spread closed for profit below its target"
        if t.exit_reason == "stop_loss" and not -t.note("exit_unit_pnl") >= t.note("exit_unit_stop") - 0.01:
            yield (
                "exit_reason",
                f"unit stop with unit loss {-t.note('exit_unit_pnl'):.2f} below its stop {t.note('exit_unit_stop'):.2f}",
            )
        yield from self._expired(t)
        yield from audit_rules.lt112(t, s)

    def _strangle(self, t: Trade) -> Iterable[tuple[str, str]]:
        s = self.s
        yield from self._entry(
            t,
            s.strangle_weekday,
            s.strangle_entry_time,
            self._window(s.strangle_entry_time),
            s.strangle_min_phase,
        )
        yield from self._dte(t, s.strangle_min_dte, s.strangle_max_dte)
        yield from self._delta(t, 0, s.strangle_put_delta, *s.strangle_put_delta_range)
        if "delta_1" in t.notes:
            yield from self._delta(t, 1, s.strangle_call_delta, *s.strangle_call_delta_range)
        if t.quantity != 1:
            yield "size", f"{t.quantity} strangles in one entry; the rule is one"
        yield from self._known_reason(t, {"profit_target", "stop_loss", "dte_exit", "roll", "expired"})
        yield from self._exit_credit(t, s.strangle_profit_target, s.strangle_stop_loss)
        yield from self._exit_dte(t, ("dte_exit", "roll"), s.strangle_exit_dte)
        if t.exit_reason == "roll" and not t.note("exit_profit") >= -EPS:
            yield "exit_reason", "rolled while at a loss"
        yield from self._expired(t)

    def _ipmcc(self, t: Trade) -> Iterable[tuple[str, str]]:
        s = self.s
        yield from self._entry(
            t, s.ipmcc_weekday, s.ipmcc_entry_time, self._window(s.ipmcc_entry_time), s.ipmcc_min_phase
        )
        if t.part == "long_call":
            yield from self._dte(t, s.ipmcc_long_min_dte, math.inf)
            lo, hi = s.ipmcc_long_delta_range
            yield from self._delta(t, 0, s.ipmcc_long_delta, lo, hi)
            if not t.note("extrinsic") < s.ipmcc_max_extrinsic * t.note("underlying"):
                yield "entry_extrinsic", f"long call extrinsic {t.note('extrinsic'):.2f} too large"
            share = min(s.ipmcc_nlv_share, s.risk_max_position_risk)
            if not t.note("cost") <= share * t.note("nlv") + 0.01:
                yield "size", f"campaign cost ${t.note('cost'):,.0f} above {share:.0%} of NLV"
            yield from self._known_reason(t, {"stop_loss", "roll", "dte_exit", "expired"})
            if t.exit_reason in ("roll", "dte_exit") and not t.note("exit_dte") < s.ipmcc_long_min_hold_dte:
                yield "exit_reason", f"long call rolled at DTE {t.note('exit_dte'):g}"
        elif t.part == "short_call":
            yield from self._dte(t, s.ipmcc_short_dte - 2, s.ipmcc_short_dte + 2)
            if abs(t.note("delta_0")) > s.ipmcc_short_delta + self.tol:
                yield (
                    "delta",
                    f"weekly call Δ {abs(t.note('delta_0')):.3f} above {s.ipmcc_short_delta + self.tol:.3f}",
                )
            yield from self._known_reason(t, {"profit_target", "roll", "campaign_exit", "expired"})
            yield from self._exit_credit(t, s.ipmcc_short_profit_target, math.inf)
            yield from self._exit_dte(t, ("roll",), 0)
        else:
            yield "campaign", "IPMCC trade that is neither the long call nor a weekly short"
        yield from audit_rules.ipmcc(t, s)

    def _leap(self, t: Trade) -> Iterable[tuple[str, str]]:
        s = self.s
        yield from self._entry(
            t, s.leap_weekday, s.leap_entry_time, self._window(s.leap_entry_time), s.leap_min_phase
        )
        yield from self._dte(t, s.leap_min_dte, s.leap_max_dte)
        yield from self._delta(t, 0, t.note("target_delta"))
        if not t.is_roll_entry:
            week = s.leap_deltas_by_week[((t.signal_day.day - 1) // 7) % len(s.leap_deltas_by_week)]
            if abs(t.note("target_delta") - week) > EPS:
                yield "delta", f"target Δ {t.note('target_delta'):g}, week of month says {week:g}"
            if not t.note("vix") >= s.leap_skip_below_vix:
                yield "entry_vix", f"rung sold with VIX {t.note('vix'):.2f} below {s.leap_skip_below_vix:g}"
            cap = 2 if t.note("vix") > s.leap_double_above_vix else 1
            if t.quantity > cap:
                yield "size", f"{t.quantity} puts in one rung; VIX {t.note('vix'):.2f} allows {cap}"
        yield from self._known_reason(t, {"profit_target", "stop_loss", "roll", "expired"})
        yield from self._exit_credit(t, s.leap_profit_target, s.leap_stop_loss)
        yield from self._exit_dte(t, ("roll",), s.leap_roll_dte)
        yield from audit_rules.leap(t, s)

    def _full_root(self, t: Trade) -> str:
        micro_to_full = {m: f for f, _, m in (p.partition(":") for p in self.s.strangle_micro_roots)}
        root = t.roots[0] if t.roots else ""
        return micro_to_full.get(root, root)

    # --- limits across trades --------------------------------------------------------------------
    def _concurrency(self, trades: Sequence[Trade]) -> list[Violation]:
        """Positions open at the same time, counted when each new one opened."""
        s, out = self.s, []
        for t in trades:
            order = (t.opened_at, t.group_id)  # ties: in id order, as they were issued
            open_then = [
                x for x in trades
                if x.strategy == t.strategy and (x.opened_at, x.group_id) <= order and t.opened_at < x.closed_at
            ]  # fmt: skip
            phase = self._phase(t)
            if t.strategy == "lt112":
                units = len({x.campaign for x in open_then} | {t.campaign})
                if units > s.lt112_max_units_by_phase[phase]:
                    out.append(Violation(t.group_id, "size", f"{units} LT112 units open in phase {phase}"))
            elif t.strategy == "strangle":
                root = self._full_root(t)
                same = {x.group_id for x in open_then if self._full_root(x) == root} | {t.group_id}
                if len(same) > s.strangle_max_per_underlying:
                    out.append(Violation(t.group_id, "size", f"{len(same)} strangles open on one underlying"))
            elif t.strategy == "leap_ladder":
                rungs = len({x.group_id for x in open_then} | {t.group_id})
                if rungs > s.leap_max_rungs:
                    out.append(Violation(t.group_id, "size", f"{rungs} LEAP rungs open"))
        return out


_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def main(trades_path: Path, settings: Settings, rules_from: str) -> int:
    """Audit ``trades_path`` against ``settings`` (read from ``rules_from``, which the last line names):
    exit 0 clean, 1 on any violation, 2 when the file is not a trade log."""
    try:
        trades = load_trades(trades_path)
    except OSError as exc:
        print(f"error: {trades_path}: cannot read ({exc.strerror or exc})", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    violations = Auditor(settings).audit(trades)
    for v in violations:
        print(v)
    by_strategy: dict[str, int] = {}
    for t in trades:
        by_strategy[t.strategy] = by_strategy.get(t.strategy, 0) + 1
    print(audit_targets.worst_line(trades, settings))
    print(
        f"audited {len(trades)} trades ("
        + ", ".join(f"{k} {n}" for k, n in sorted(by_strategy.items()))
        + f"): {len(violations)} violation(s); rules from {rules_from}"
    )
    return 1 if violations else 0


__all__ = ["Auditor", "Trade", "Violation", "load_trades", "main"]
