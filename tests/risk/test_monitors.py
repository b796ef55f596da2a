"""Risk monitors: manual reset, state that survives a restart exactly, jump halts, expiry and
assignment exits (the flatten through the platform port), Greeks alerts once per breach and day."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from core.book import Book
from core.ports import Severity
from core.settings import Settings
from core.types import (
    ExerciseStyle,
    GroupStatus,
    Holding,
    Leg,
    OptionContract,
    PositionGroup,
    Right,
    SecurityKind,
    Settlement,
    UnderlyingQuote,
)
from persistence.typed import from_plain, to_plain
from risk.events import RiskLog
from risk.expiry import deadline, expiry_reason
from risk.monitors import RiskMonitors
from risk.state import RiskState
from testing.factories import (
    FakeChains,
    FakeContext,
    WeekdayCalendar,
    account,
    quote,
    snapshot,
    spxw,
    zero_dte_chain,
)

S = Settings()


@dataclass
class FakePlatform:
    calendar: WeekdayCalendar = field(default_factory=WeekdayCalendar)
    alerts: list[tuple[Severity, str, str]] = field(default_factory=list)
    liquidated: list[tuple[str, float, str]] = field(default_factory=list)
    is_live: bool = False
    clock: datetime = datetime(2025, 3, 3, 10)

    def now(self) -> datetime:
        return self.clock

    def notify(self, severity: Severity, title: str, message: str) -> None:
        self.alerts.append((severity, title, message))

    def liquidate(self, symbol: str, quantity: float, tag: str) -> None:
        self.liquidated.append((symbol, quantity, tag))


def _monitors(platform: FakePlatform, settings: Settings = S) -> tuple[RiskMonitors, RiskLog]:
    log = RiskLog(None)
    return RiskMonitors(settings, platform, RiskState(), log), log  # type: ignore[arg-type]


def _step(
    monitors: RiskMonitors, now: datetime, nlv: float, book: Book | None = None, chains=(), holdings=()
):
    snap = snapshot(now, list(chains))
    ctx = FakeContext(account(nlv=nlv, now=now, holdings=dict(holdings)))
    closed: list[tuple[str, str]] = []
    exits = monitors.on_step(snap, ctx, book or Book(), lambda g, p, f, w, r: closed.append((g.group_id, r)))
    return exits, closed


def _restarted(monitors: RiskMonitors, platform: FakePlatform, settings: Settings = S) -> RiskMonitors:
    """A new process continuing from ``monitors``' state as persistence hands it back."""
    again, _ = _monitors(platform, settings)
    again.restore(from_plain(RiskState, json.loads(json.dumps(to_plain(monitors.state())))))
    return again


def test_breaker_state_survives_a_restart_exactly():
    platform = FakePlatform()
    first, _ = _monitors(platform)
    _step(first, datetime(2025, 3, 3, 9, 35), 100_000)
    _step(first, datetime(2025, 3, 3, 10), 94_000)
    second = _restarted(first, platform)
    assert to_plain(second.state()) == to_plain(first.state())
    _step(second, datetime(2025, 3, 3, 10, 5), 94_000)
    assert second.risk.breaker.check().code == "breaker_loss_daily"


def test_alerts_already_given_are_not_repeated_after_a_restart():
    platform = FakePlatform()
    first, _ = _monitors(platform)
    first.risk.alerts.reported.add("unexplained:g1")
    first.risk.alerts.greeks_alerted.add("theta")
    second = _restarted(first, platform)
    assert second.risk.alerts.reported == {"unexplained:g1"}
    assert second.risk.alerts.greeks_alerted == {"theta"}


def test_manual_reset_by_parameter_applies_once():
    platform = FakePlatform()
    monitors, log = _monitors(platform)
    _step(monitors, datetime(2025, 3, 3, 9, 35), 100_000)
    _step(monitors, datetime(2025, 3, 3, 10), 94_000)
    assert not monitors.risk.breaker.check().approved
    monitors.s = S.with_overrides(risk_breaker_reset="2025-03-03 ok by J")
    _step(monitors, datetime(2025, 3, 3, 10, 5), 94_000)
    assert monitors.risk.breaker.check().approved
    assert any(e.rule == "manual_reset" for e in log.events)
    _step(monitors, datetime(2025, 3, 3, 10, 10), 88_000)  # a new 6% loss from the re-based value
    assert not monitors.risk.breaker.check().approved
    _step(monitors, datetime(2025, 3, 3, 10, 15), 88_000)
    assert not monitors.risk.breaker.check().approved, "the same token does not reset again"


def test_manual_reset_requested_by_the_operator_applies_at_the_next_step():
    platform = FakePlatform()
    monitors, _ = _monitors(platform)
    _step(monitors, datetime(2025, 3, 3, 9, 35), 100_000)
    _step(monitors, datetime(2025, 3, 3, 10), 94_000)
    monitors.request_reset("state key risk/reset_request")
    assert not monitors.risk.breaker.check().approved, "applied at the step, not before"
    _step(monitors, datetime(2025, 3, 3, 10, 5), 94_000)
    assert monitors.risk.breaker.check().approved
    assert monitors.risk.alerts.reset_requests == []


def test_an_underlying_jump_halts_entries_for_thirty_minutes_but_vix_jumps_do_not():
    monitors, log = _monitors(FakePlatform())
    snap = snapshot(datetime(2025, 3, 3, 10), [], spot=5000.0)
    monitors.risk.jumps.observe("SPX", 5000.0, snap.time, S)
    monitors.risk.jumps.observe("VIX", 20.0, snap.time, S)
    assert monitors.risk.jumps.observe("VIX", 30.0, snap.time, S) == ""
    later = snapshot(datetime(2025, 3, 3, 10, 5), [], spot=4740.0)  # -5.2%
    monitors.on_step(later, FakeContext(account(now=later.time)), Book(), lambda *_: None)
    assert monitors.risk.jumps.check(datetime(2025, 3, 3, 10, 34)).code == "dq_underlying_jump"
    assert monitors.risk.jumps.check(datetime(2025, 3, 3, 10, 35)).approved
    assert [e.rule for e in log.events] == ["underlying_jump"]


def _spy(strike: float, right: Right, expiry: date) -> OptionContract:
    return OptionContract("SPY", "SPY", right, strike, expiry, 100.0, SecurityKind.EQUITY_OPTION,
                          ExerciseStyle.AMERICAN, Settlement.SHARES)  # fmt: skip


def _group(legs: tuple[Leg, ...], strategy: str = "lt112", gid: str = "g1") -> PositionGroup:
    return PositionGroup(gid, strategy, legs, 1, GroupStatus.OPEN, datetime(2025, 3, 3, 10), -2.0)


def _spy_snapshot(now: datetime, spot: float, contracts: list[OptionContract], mids: dict[float, float]):
    from core.types import OptionChain

    quotes = [quote(c, now, mids[c.strike] - 0.05, mids[c.strike] + 0.05, -0.5, spot=spot) for c in contracts]
    chains = [OptionChain("SPY", c.expiry, "SPY", spot, (q,)) for c, q in zip(contracts, quotes, strict=True)]
    snap = snapshot(now, [])
    underlyings = {
        **snap.underlyings,
        "SPY": UnderlyingQuote("SPY", SecurityKind.EQUITY, now, spot, spot, spot),
    }
    return snap.__class__(now, underlyings, 25.0, {}, FakeChains(chains))


def test_expiry_rule_closes_itm_and_near_shorts_at_the_deadline_less_the_exit_ladder():
    cal, friday = WeekdayCalendar(), date(2025, 3, 7)
    short = _spy(500.0, Right.PUT, friday)
    group = _group((Leg(short, -1),))
    early = _spy_snapshot(datetime(2025, 3, 7, 14, 30), 497.0, [short], {500.0: 3.2})
    assert expiry_reason(group, early, cal, S, {}) is None
    due = _spy_snapshot(datetime(2025, 3, 7, 14, 35), 497.0, [short], {500.0: 3.2})
    code, values = expiry_reason(group, due, cal, S, {})
    assert code == "expiry_itm" and values["deadline"] == "2025-03-07T15:00:00"
    near = _spy_snapshot(datetime(2025, 3, 7, 14, 35), 503.0, [short], {500.0: 0.3})
    assert expiry_reason(group, near, cal, S, {})[0] == "pre_holiday_pin", "Friday: a long closure follows"
    far = _spy_snapshot(datetime(2025, 3, 7, 14, 35), 520.0, [short], {500.0: 0.05})
    assert expiry_reason(group, far, cal, S, {}) is None, "out of the pin zone: left to expire"
    long_only = _group((Leg(short, +1),))
    assert expiry_reason(long_only, due, cal, S, {}) is None, "only shorts carry assignment risk"


def test_cash_settled_index_options_use_the_later_deadline_and_half_days_move_both():
    cal = WeekdayCalendar(early_closes=[date(2025, 3, 5)])
    assert deadline(date(2025, 3, 4), time(15, 45), cal) == datetime(2025, 3, 4, 15, 45)
    assert deadline(date(2025, 3, 5), time(15, 0), cal) == datetime(2025, 3, 5, 12, 0)
    assert deadline(date(2025, 3, 5), time(15, 45), cal) == datetime(2025, 3, 5, 12, 45)
    short = spxw(5000.0, Right.PUT, date(2025, 3, 4))
    group = _group((Leg(short, -1),), "zero_dte")
    chain_at = lambda h, m: snapshot(  # noqa: E731
        datetime(2025, 3, 4, h, m),
        [zero_dte_chain(datetime(2025, 3, 4, h, m))],
        spot=4990.0,
    )
    assert expiry_reason(group, chain_at(15, 15), cal, S, {}) is None
    assert expiry_reason(group, chain_at(15, 20), cal, S, {})[0] == "expiry_itm"


def test_short_itm_american_call_is_closed_the_day_before_an_ex_dividend_it_would_be_exercised_for():
    cal = WeekdayCalendar()
    call = _spy(480.0, Right.CALL, date(2025, 3, 21))
    group = _group((Leg(call, -1),), "ipmcc")
    snap = _spy_snapshot(datetime(2025, 3, 13, 14, 40), 500.0, [call], {480.0: 20.5})  # extrinsic 0.5
    dividends = {"SPY": [(date(2025, 3, 14), 1.70)]}
    assert expiry_reason(group, snap, cal, S, dividends)[0] == "early_exercise_risk"
    rich = _spy_snapshot(datetime(2025, 3, 13, 14, 40), 500.0, [call], {480.0: 23.0})  # extrinsic 3 > 1.70
    assert expiry_reason(group, rich, cal, S, dividends) is None
    assert expiry_reason(group, snap, cal, S, {"SPY": [(date(2025, 3, 17), 1.70)]}) is None, "not tomorrow"


def test_assignment_relabels_the_group_closes_the_rest_flattens_and_alerts():
    platform = FakePlatform()
    monitors, log = _monitors(platform)
    expiry = date(2025, 3, 21)
    short, long = _spy(500.0, Right.PUT, expiry), _spy(490.0, Right.PUT, expiry)
    book = Book()
    book.put(_group((Leg(short, -1), Leg(long, 1))))
    now = datetime(2025, 3, 4, 11, 5)
    snap = _spy_snapshot(now, 480.0, [short, long], {500.0: 20.2, 490.0: 10.4})
    holdings = {
        long.symbol: Holding(long.symbol, 1, 3.0, long),
        "SPY": Holding("SPY", 100, 500.0, None),
    }  # the short put is gone: assigned, 100 shares delivered
    ctx = FakeContext(account(nlv=100_000, now=now, holdings=holdings))
    exits = monitors.on_step(snap, ctx, book, lambda *a: None)
    (group,) = book.live()
    assert group.strategy == "lt112:assigned" and [(leg.contract, leg.ratio) for leg in group.legs] == [
        (long, 1)
    ]
    assert [(i.group_id, i.reason, [leg.ratio for leg in i.legs]) for i in exits] == [
        ("g1", "assignment", [-1])
    ]
    assert platform.liquidated == [("SPY", -100, "risk|flatten|SPY|202503041105")]
    assert {(e.rule, e.action.value) for e in log.events} >= {
        ("assignment", "relabel"),
        ("assignment", "flatten"),
    }
    assert sum(1 for sev, title, _ in platform.alerts if sev is Severity.CRITICAL) == 2
    monitors.on_step(snap, ctx, book, lambda *a: None)
    assert len(platform.liquidated) == 1, "the flatten order is not repeated while it works"


def test_fully_assigned_group_is_closed_in_the_book_and_the_delivery_flattened():
    platform = FakePlatform()
    monitors, _ = _monitors(platform)
    short = _spy(500.0, Right.PUT, date(2025, 3, 21))
    book = Book()
    book.put(_group((Leg(short, -1),)))
    closed: list[tuple[str, float, str]] = []
    now = datetime(2025, 3, 4, 11, 5)
    snap = _spy_snapshot(now, 480.0, [short], {500.0: 20.2})
    ctx = FakeContext(account(now=now, holdings={"SPY": Holding("SPY", 100, 500.0, None)}))
    monitors.on_step(snap, ctx, book, lambda g, p, f, w, r: closed.append((g.strategy, p, r)))
    assert closed == [("lt112:assigned", 0.0, "assigned")]
    assert [s for s, _, _ in platform.liquidated] == ["SPY"]


def test_keep_setting_alerts_once_and_leaves_the_shares():
    platform = FakePlatform()
    monitors, _ = _monitors(platform, S.with_overrides(risk_assignment_action="keep"))
    now = datetime(2025, 3, 4, 11, 5)
    for minute in (5, 10, 30):
        ctx = FakeContext(
            account(now=now.replace(minute=minute), holdings={"SPY": Holding("SPY", 100, 1, None)})
        )
        monitors.on_step(snapshot(ctx.account.time, []), ctx, Book(), lambda *a: None)
    assert platform.liquidated == []
    assert sum(1 for _, title, _ in platform.alerts if title == "Assigned position") == 1


def test_greeks_breach_alerts_once_a_day_per_greek_with_a_hedge_suggestion():
    platform = FakePlatform()
    monitors, log = _monitors(platform)
    expiry = date(2025, 3, 21)
    puts = [_spy(500.0, Right.PUT, expiry)]
    book = Book()
    book.put(PositionGroup("g1", "lt112", (Leg(puts[0], -1),), 10, GroupStatus.OPEN))
    for minute in (0, 5, 10):
        now = datetime(2025, 3, 4, 11, minute)
        snap = _spy_snapshot(now, 500.0, puts, {500.0: 8.0})  # delta -0.5 per put, short 10 -> +$2,500
        monitors.on_step(snap, FakeContext(account(now=now)), book, lambda *a: None)
    alerts = [e for e in log.events if e.rule == "greeks_limits"]
    assert len(alerts) == 1 and "sell 4 /MES or 200 SPY shares to bring it inside" in alerts[0].message
    assert "contributing most; largest: g1" in alerts[0].message
    assert json.dumps(alerts[0].payload())


def test_missing_contracts_without_a_delivery_are_not_treated_as_an_assignment():
    platform = FakePlatform()
    monitors, log = _monitors(platform)
    expiry = date(2025, 3, 21)
    short, long = _spy(500.0, Right.PUT, expiry), _spy(490.0, Right.PUT, expiry)
    book = Book()
    book.put(_group((Leg(short, -1), Leg(long, 1))))
    for minute in (5, 10):
        now = datetime(2025, 3, 4, 11, minute)
        snap = _spy_snapshot(now, 480.0, [short, long], {500.0: 20.2, 490.0: 10.4})
        ctx = FakeContext(account(now=now, holdings={long.symbol: Holding(long.symbol, 1, 3.0, long)}))
        assert monitors.on_step(snap, ctx, book, lambda *a: None) == []
    (group,) = book.live()
    assert group.strategy == "lt112" and len(group.legs) == 2, "no guessed repair"
    assert platform.liquidated == []
    assert [e.rule for e in log.events if e.rule != "greeks_limits"] == ["holdings_mismatch"], "alerted once"


def test_once_a_day_alert_memory_stays_bounded_and_still_dedupes_across_a_restart():
    platform = FakePlatform()
    monitors, _ = _monitors(platform)

    def step(m: RiskMonitors, now: datetime) -> None:  # VIX unusable: one data alert per day
        platform.clock = now
        m.on_step(snapshot(now, [], vix=float("nan")), FakeContext(account(now=now)), Book(), lambda *a: None)

    days = [d for d in (date(2025, 3, 3) + timedelta(days=i) for i in range(90)) if d.weekday() < 5]
    for day in days:
        step(monitors, datetime.combine(day, time(10)))
        step(monitors, datetime.combine(day, time(10, 5)))
    vix_alerts = [a for a in platform.alerts if a[1] == "Bad market data: VIX"]
    assert len(vix_alerts) == len(days), "one alert per day"
    assert monitors.risk.alerts.reported == {f"dq:VIX:{days[-1]}"}, "earlier days are forgotten"

    monitors.risk.alerts.reported.add("unexplained:g1")  # not once-a-day: kept
    again = _restarted(monitors, platform)
    step(again, datetime.combine(days[-1], time(10, 10)))
    assert len([a for a in platform.alerts if a[1] == "Bad market data: VIX"]) == len(days), "no repeat"
    step(again, datetime.combine(days[-1] + timedelta(days=3), time(10)))
    assert [a[1] for a in platform.alerts].count("Bad market data: VIX") == len(days) + 1
    assert again.risk.alerts.reported == {"unexplained:g1", f"dq:VIX:{days[-1] + timedelta(days=3)}"}
