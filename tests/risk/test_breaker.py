"""Circuit breaker and per-strategy guard: trips, explicit resets, pauses, size cuts, persistence."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest

from core.settings import Settings
from persistence.typed import DecodeError, from_plain, to_plain
from risk.breaker import CircuitBreaker
from risk.events import Action
from risk.state import RiskState
from risk.strategy_guard import StrategyGuard
from testing.factories import WeekdayCalendar

S = Settings()


def _at(day: int, hh: int = 10, mm: int = 0, month: int = 3) -> datetime:
    return datetime(2025, month, day, hh, mm)


def test_daily_loss_is_measured_from_the_previous_close_so_an_overnight_gap_counts():
    b = CircuitBreaker()
    b.observe(_at(3, 15, 55), 100_000, S)
    events = b.observe(_at(4, 9, 35), 94_900, S)  # -5.1% at the open
    assert [(e.rule, e.action) for e in events] == [("loss_daily", Action.TRIP)]
    assert events[0].values["baseline"] == 100_000
    assert b.check().code == "breaker_loss_daily"


def test_daily_halt_resets_at_the_next_session_not_before():
    b = CircuitBreaker()
    b.observe(_at(3, 9, 35), 100_000, S)
    b.observe(_at(3, 11), 94_000, S)
    assert not b.check().approved
    assert not b.observe(_at(3, 15, 55), 99_000, S) and not b.check().approved, "recovery does not reset"
    events = b.observe(_at(4, 9, 35), 99_000, S)
    assert [(e.rule, e.action) for e in events if e.rule == "loss_daily"] == [("loss_daily", Action.RESET)]
    assert b.check().approved


def test_a_loss_just_below_the_limit_does_not_trip():
    b = CircuitBreaker()
    b.observe(_at(3, 9, 35), 100_000, S)
    b.observe(_at(3, 12), 97_001, S)
    b.observe(_at(3, 14), 95_001, S)
    assert "loss_daily" not in b.trips and "intraday_drawdown" in b.trips


def test_intraday_drawdown_is_from_the_intraday_peak():
    b = CircuitBreaker()
    b.observe(_at(3, 9, 35), 100_000, S)
    b.observe(_at(3, 10), 104_000, S)  # new peak, +4% on the day
    events = b.observe(_at(3, 11), 100_800, S)  # -3.08% from the peak, +0.8% on the day
    assert [e.rule for e in events] == ["intraday_drawdown"]
    assert b.check().code == "breaker_intraday_drawdown"
    b.observe(_at(4, 9, 35), 100_800, S)
    assert b.check().approved


def test_weekly_halt_lasts_until_the_next_week_and_monthly_until_the_next_month():
    b = CircuitBreaker()
    b.observe(_at(3, 9, 35), 100_000, S)  # Monday
    for day, nlv in ((4, 97_000), (5, 94_500), (6, 92_000), (7, 89_500)):  # -2.5%/day: daily never trips
        b.observe(_at(day, 9, 35), nlv + 500, S)
        b.observe(_at(day, 15, 55), nlv, S)
    assert "loss_weekly" in b.trips and "loss_monthly" not in b.trips
    b.observe(_at(10, 9, 35), 89_500, S)  # next Monday
    assert "loss_weekly" not in b.trips and b.check().approved
    for day, nlv in ((12, 87_000), (14, 84_900)):  # -2.8%, -2.4%: neither daily nor weekly trips
        b.observe(_at(day, 9, 35), nlv + 200, S)
        b.observe(_at(day, 15, 55), nlv, S)  # -15.1% since the month began
    assert set(b.trips) == {"loss_monthly"}
    assert b.check().code == "breaker_loss_monthly"
    b.observe(_at(31, 9, 35), 84_900, S)
    assert not b.check().approved, "still March"
    b.observe(_at(1, 9, 35, month=4), 84_900, S)
    assert b.check().approved


def test_manual_reset_clears_trips_and_rebases_so_the_same_loss_does_not_trip_again():
    b = CircuitBreaker()
    b.observe(_at(3, 9, 35), 100_000, S)
    b.observe(_at(3, 10), 90_000, S)
    assert not b.check().approved
    events = b.reset(_at(3, 10, 5), "test")
    assert {e.rule for e in events} == {"loss_daily", "intraday_drawdown", "loss_weekly"}
    assert b.check().approved
    assert b.observe(_at(3, 10, 10), 89_900, S) == []


def test_unusable_nlv_blocks_entries_until_a_usable_one_arrives():
    b = CircuitBreaker()
    assert b.observe(_at(3), float("nan"), S)[0].rule == "nlv_invalid"
    assert b.check().code == "breaker_nlv_invalid"
    b.observe(_at(3, 10, 5), 100_000, S)
    assert b.check().approved


def test_three_consecutive_losses_pause_five_trading_days_then_reduced_size_until_a_win():
    guard, cal = StrategyGuard(), WeekdayCalendar(holidays=[date(2025, 3, 19)])
    for day in (10, 11):
        assert guard.on_trade_closed("zero_dte", -100, _at(day), S, cal) == []
    (pause,) = guard.on_trade_closed("zero_dte", -100, _at(14), S, cal)  # Friday
    # five trading days after Friday 14th: 17, 18, (19 is a holiday), 20, 21, 24
    assert pause.action is Action.PAUSE and pause.values["resume"] == "2025-03-25"
    assert guard.check("zero_dte", date(2025, 3, 24)).code == "strategy_paused"
    assert guard.check("lt112", date(2025, 3, 24)).approved, "other strategies are not affected"
    assert guard.check("zero_dte", date(2025, 3, 25)).approved
    assert guard.size_factor("zero_dte", date(2025, 3, 25), S) == 0.5
    assert guard.on_trade_closed("zero_dte", -5, _at(24), S, cal) == [], "a loss keeps the reduced size"
    (restore,) = guard.on_trade_closed("zero_dte", 50, _at(25), S, cal)
    assert (
        restore.action is Action.RESTORE_SIZE and guard.size_factor("zero_dte", date(2025, 3, 25), S) == 1.0
    )


def test_underperformance_cuts_size_after_ten_trades_and_restores_on_recovery():
    guard, cal = StrategyGuard(), WeekdayCalendar()
    s = S.with_overrides(risk_consecutive_losses=100)
    results = [1, 1, 1, 1, 1, 1, 1, 0, 0, 0]  # 70% < 80% x 95% (lt112)
    events = []
    for i, win in enumerate(results):
        events += guard.on_trade_closed("lt112", 100 if win else -100, _at(3 + i % 20), s, cal)
    assert [e.action for e in events] == [Action.REDUCE_SIZE]
    assert events[0].values["win_rate"] == pytest.approx(0.7)
    assert guard.size_factor("lt112", date(2025, 3, 20), s) == 0.5
    assert guard.check("lt112", date(2025, 3, 20)).approved, "underperformance cuts size, it does not pause"
    for _ in range(10):
        events += guard.on_trade_closed("lt112", 100, _at(21), s, cal)
    assert [e.action for e in events] == [Action.REDUCE_SIZE, Action.RESTORE_SIZE]
    assert guard.size_factor("lt112", date(2025, 3, 21), s) == 1.0


def test_relabelled_groups_count_for_their_strategy():
    guard, cal = StrategyGuard(), WeekdayCalendar()
    for _ in range(3):
        guard.on_trade_closed("lt112:assigned", -10, _at(3), S, cal)
    assert guard.check("lt112", date(2025, 3, 4)).code == "strategy_paused"


def test_state_round_trips_through_json_and_rejects_damage():
    state = RiskState()
    state.breaker.observe(_at(3, 9, 35), 100_000, S)
    state.breaker.observe(_at(3, 10), 90_000, S)
    for _ in range(3):
        state.guard.on_trade_closed("zero_dte", -1, _at(3), S, WeekdayCalendar())
    text = json.dumps(to_plain(state))
    again = from_plain(RiskState, json.loads(text))
    assert to_plain(again) == to_plain(state)
    assert again.breaker.check().code == state.breaker.check().code
    assert again.guard.check("zero_dte", date(2025, 3, 4)).code == "strategy_paused"
    for damage in (
        lambda d: d["breaker"].update(trips=["loss_daily"]),
        lambda d: d.update(version=99),
        lambda d: d["breaker"]["trips"]["loss_daily"].update(rule="nonsense"),
        lambda d: d["breaker"].update(day_start="lots"),
        lambda d: d["breaker"].update(peak=-5.0),
        lambda d: d["guard"]["health"]["zero_dte"].update(paused_until="soon"),
    ):
        broken = json.loads(text)
        damage(broken)
        with pytest.raises(DecodeError):
            from_plain(RiskState, broken)
