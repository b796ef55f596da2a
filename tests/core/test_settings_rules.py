"""The settings validation both engines run (issue 13, Configuration): parameters that contradict
each other, times and weekdays that can never trade, symbols no engine trades, and text that
Python would read but a user did not mean, are all refused with a line naming the parameter."""

from __future__ import annotations

from datetime import time

import pytest

from core.settings import Settings, SettingsError


def _problems(params: dict[str, str], **kwargs) -> list[str]:
    with pytest.raises(SettingsError) as err:
        Settings.from_parameters(params, "config.json parameters", **kwargs)
    return err.value.problems


# one violation per relation between two parameters; each must name both parameters
CONTRADICTIONS = [
    ({"ipmcc_long_min_dte": "400"}, "ipmcc_long_min_dte", "ipmcc_long_target_dte"),
    ({"risk_daily_loss_halt": "0.5", "risk_weekly_loss_halt": "0.2"}, "risk_daily_loss_halt", "risk_weekly_loss_halt"),
    ({"risk_weekly_loss_halt": "0.2", "risk_monthly_loss_halt": "0.1"}, "risk_weekly_loss_halt", "risk_monthly_loss_halt"),
    ({"leap_skip_below_vix": "30", "leap_double_above_vix": "20"}, "leap_skip_below_vix", "leap_double_above_vix"),
    ({"leap_roll_dte": "1000"}, "leap_roll_dte", "leap_min_dte"),
    ({"leap_min_dte": "370"}, "leap_min_dte", "leap_target_dte"),
    ({"leap_max_dte": "360"}, "leap_target_dte", "leap_max_dte"),
    ({"leap_bp_per_rung": "0.3"}, "leap_bp_per_rung", "leap_bp_total"),
    ({"lt112_min_dte": "130"}, "lt112_min_dte", "lt112_target_dte"),
    ({"lt112_max_dte": "115"}, "lt112_target_dte", "lt112_max_dte"),
    ({"lt112_spread_exit_dte": "110"}, "lt112_spread_exit_dte", "lt112_min_dte"),
    ({"lt112_naked_delta": "0.3"}, "lt112_naked_delta", "lt112_long_delta"),
    ({"strangle_min_dte": "95"}, "strangle_min_dte", "strangle_target_dte"),
    ({"strangle_max_dte": "85"}, "strangle_target_dte", "strangle_max_dte"),
    ({"strangle_exit_dte": "80"}, "strangle_exit_dte", "strangle_min_dte"),
    ({"strangle_put_delta": "0.10"}, "strangle_put_delta", "strangle_put_delta_range[1]"),
    ({"strangle_call_delta": "0.04"}, "strangle_call_delta_range[0]", "strangle_call_delta"),
    ({"ipmcc_long_min_hold_dte": "300"}, "ipmcc_long_min_hold_dte", "ipmcc_long_min_dte"),
    ({"ipmcc_short_dte": "30", "ipmcc_long_min_hold_dte": "20"}, "ipmcc_short_dte", "ipmcc_long_min_hold_dte"),
    ({"ipmcc_long_delta": "0.9"}, "ipmcc_long_delta", "ipmcc_long_delta_range[1]"),
    ({"ipmcc_short_delta": "0.55", "ipmcc_long_delta": "0.52", "ipmcc_long_delta_range": "0.5,0.6"},
     "ipmcc_short_delta", "ipmcc_long_delta"),
    ({"zero_dte_long_delta": "0.2"}, "zero_dte_long_delta", "zero_dte_short_delta"),
    ({"zero_dte_first_entry": "13:30"}, "zero_dte_first_entry", "zero_dte_last_entry"),
    ({"zero_dte_last_entry": "15:45"}, "zero_dte_last_entry", "zero_dte_close_time"),
    ({"risk_underperformance_min_trades": "30"}, "risk_underperformance_min_trades", "risk_underperformance_window"),
    ({"end_date": "2024-01-01"}, "start_date", "end_date"),
    ({"zero_dte_mini_root": "XSP", "zero_dte_root": "XSP"}, "zero_dte_mini_root", "zero_dte_root"),
]  # fmt: skip


@pytest.mark.parametrize(("params", "first", "second"), CONTRADICTIONS, ids=[c[1] for c in CONTRADICTIONS])
def test_contradictory_pairs_are_refused_naming_both(params, first, second):
    problems = _problems(params)
    assert any(first in p and second in p and p.startswith("config.json parameters: ") for p in problems), (
        problems
    )


def test_the_issue_examples_give_one_line_each():
    problems = _problems(
        {"ipmcc_long_min_dte": "400", "risk_daily_loss_halt": "0.5", "risk_weekly_loss_halt": "0.2",
         "risk_monthly_loss_halt": "0.1", "leap_skip_below_vix": "30", "leap_double_above_vix": "20",
         "leap_roll_dte": "1000"}
    )  # fmt: skip
    assert len(problems) == 5, problems
    assert (
        "config.json parameters: ipmcc_long_min_dte (400) must be at most ipmcc_long_target_dte (365): "
        "the IPMCC long call target is below its minimum" in problems
    )


def test_a_relation_with_an_unreadable_side_is_not_reported_twice():
    # lt112_min_dte is unreadable: comparing the default 110 with target 100 would be a false problem
    problems = _problems({"lt112_min_dte": "x", "lt112_target_dte": "100"})
    assert problems == ["config.json parameters.lt112_min_dte: 'x' is not a whole number"]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("lt112_entry_time", "03:00", "03:00 is before the minimum 09:30"),
        ("zero_dte_close_time", "17:00", "17:00 is after the maximum 16:00"),
        ("zero_dte_first_entry", "16:00", "16:00 is after the maximum 15:59"),
        ("strangle_entry_time", "09:00", "09:00 is before the minimum 09:30"),
        ("ipmcc_entry_time", "20:00", "20:00 is after the maximum 15:59"),
        ("leap_entry_time", "08:15", "08:15 is before the minimum 09:30"),
        ("risk_pin_close_time", "16:30", "16:30 is after the maximum 16:00"),
        ("risk_pin_close_time_cash", "07:00", "07:00 is before the minimum 09:30"),
        ("zero_dte_weekday", "6", "6 is not a weekday Mon=0 .. Fri=4"),
        ("lt112_weekday", "5", "5 is not a weekday Mon=0 .. Fri=4"),
        ("strangle_weekday", "-1", "-1 is not a weekday Mon=0 .. Fri=4"),
    ],
)
def test_times_and_weekdays_outside_the_session_are_refused(name, value, message):
    assert _problems({name: value}) == [f"config.json parameters.{name}: {message}"]


def test_session_bounds_themselves_are_accepted():
    s = Settings.from_parameters(
        {"zero_dte_close_time": "16:00", "lt112_entry_time": "09:30", "leap_weekday": "4"}
    )
    assert (s.zero_dte_close_time, s.lt112_entry_time, s.leap_weekday) == (time(16), time(9, 30), 4)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("strangle_underlyings", "ES,XX", "'XX' not allowed here; allowed: ES, CL, GC"),
        ("ipmcc_underlyings", "AAPL", "'AAPL' not allowed here; allowed: SPY, QQQ, IWM"),
        ("leap_underlyings", "SPY,TSLA", "'TSLA' not allowed here; allowed: SPY, QQQ, IWM"),
        ("leap_phase4_underlyings", "DIA", "'DIA' not allowed here; allowed: SPY, QQQ, IWM"),
        ("zero_dte_root", "SPY", "'SPY' not allowed here; allowed: SPXW, XSP"),
        ("zero_dte_mini_root", "MES", "'MES' not allowed here; allowed: XSP, '' (none)"),
        ("zero_dte_underlying", "NDX", "'NDX' not allowed here; allowed: SPX"),
        ("lt112_futures_root", "NQ", "'NQ' not allowed here; allowed: ES"),
        ("lt112_index_root", "RUT", "'RUT' not allowed here; allowed: SPX"),
        ("strangle_micro_roots", "ES:MNQ", "'ES:MNQ' not allowed here; allowed: ES:MES, CL:MCL, GC:MGC"),
        ("risk_strategy_bp_shares", "nosuchstrategy:0.5",
         "nosuchstrategy not allowed here; allowed: zero_dte, lt112, strangle, ipmcc, leap_ladder"),
        ("risk_expected_win_rates", "lt112:0.9,zerodte:0.8",
         "zerodte not allowed here; allowed: zero_dte, lt112, strangle, ipmcc, leap_ladder"),
        ("risk_ex_dividends", "AAPL:2025-03-21:0.25", "AAPL not allowed here; allowed: SPY, QQQ, IWM"),
        ("risk_assignment_action", "sell", "'sell' not allowed here; allowed: flatten, keep"),
        ("strangle_underlyings", "ES,ES", "ES listed twice"),
        ("risk_strategy_bp_shares", "lt112:0.4,lt112:0.2", "lt112 is listed twice"),
    ],
)  # fmt: skip
def test_unknown_symbols_and_strategies_are_refused_with_the_allowed_list(name, value, message):
    assert _problems({name: value}) == [f"config.json parameters.{name}: {message}"]


def test_an_empty_mini_root_still_means_never():
    assert Settings.from_parameters({"zero_dte_mini_root": ""}).zero_dte_mini_root == ""


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("zero_dte_max_condors", "1_0", "'1_0' is not a whole number"),
        ("zero_dte_min_vix", "2_2", "'2_2' is not a number"),
        ("zero_dte_min_vix", "1e999", "'1e999' is not a finite number"),
        ("zero_dte_min_vix", "inf", "'inf' is not a finite number"),
        ("lt112_entry_time", "1_0:00", "'1_0:00' is not a time HH:MM"),
        ("lt112_entry_time", "10:5", "'10:5' is not a time HH:MM"),
        ("start_date", "20250102", "'20250102' is not a date YYYY-MM-DD"),
        ("start_date", "0001-01-01", "0001-01-01 is outside the supported range 1990-01-01..2099-12-31"),
        ("end_date", "9999-12-31", "9999-12-31 is outside the supported range 1990-01-01..2099-12-31"),
        ("risk_betas", "QQQ:1_2", "'QQQ:1_2' is not NAME:NUMBER"),
        ("risk_ex_dividends", "SPY:2025-03-21:1_7", "'SPY:2025-03-21:1_7' is not SYMBOL:YYYY-MM-DD:AMOUNT"),
        ("strangle_underlyings", "ES,,CL", "'ES,,CL' has an empty item"),
    ],
)
def test_text_python_would_read_but_nobody_means_is_refused(name, value, message):
    assert _problems({name: value}) == [f"config.json parameters.{name}: {message}"]


def test_each_problem_names_the_input_it_came_from():
    problems = _problems(
        {"leap_roll_dte": "1000", "strangle_underlyings": "ES,XX", "zero_dte_min_vix": "abc"},
        origins={"leap_roll_dte": "command line --set", "strangle_underlyings": "command line --set"},
    )
    assert sorted(problems) == sorted(
        [
            "config.json parameters.zero_dte_min_vix: 'abc' is not a number",
            "command line --set.strangle_underlyings: 'XX' not allowed here; allowed: ES, CL, GC",
            "command line --set: leap_roll_dte (1000) must be below leap_min_dte (300): "
            "a new LEAP rung would be rolled at once",
        ]
    )


def test_settings_built_in_code_obey_the_same_rules():
    with pytest.raises(SettingsError, match="zero_dte_weekday: 5 is not a weekday"):
        Settings().with_overrides(zero_dte_weekday=5)
    with pytest.raises(SettingsError, match=r"leap_skip_below_vix .* must be at most leap_double_above_vix"):
        Settings().with_overrides(leap_skip_below_vix=25.0)


def test_every_parameter_has_a_description_and_its_rules_as_text():
    constraints = Settings.constraints()
    assert all(doc for _, _, doc in Settings.describe())
    assert constraints["lt112_min_dte"] == "1..1000; <= lt112_target_dte; > lt112_spread_exit_dte"
    assert constraints["zero_dte_weekday"] == "0..4 (Mon..Fri)"
    assert constraints["lt112_entry_time"] == "09:30..15:59"
    assert constraints["strangle_underlyings"] == "one of ES, CL, GC"
    assert constraints["start_date"] == "YYYY-MM-DD in 1990-01-01..2099-12-31; <= end_date"
    assert constraints["regime_vix_bounds"] == "0..200; 5 values; strictly ascending"
