"""Settings: rulebook defaults, string parsing as LEAN passes parameters, and one error listing
every problem with its source."""

from __future__ import annotations

import json
from datetime import time

import pytest

from core.settings import Settings, SettingsError


def test_defaults_are_the_rulebook_numbers():
    s = Settings()
    assert s.phase_nlv_thresholds == (38000, 51000, 76000, 95000)
    assert s.regime_vix_bounds == (12, 16, 20, 25, 30)
    assert s.regime_max_bp == (0.45, 0.60, 0.80, 0.80, 0.80, 0.80)
    assert (s.zero_dte_min_vix, s.zero_dte_short_delta, s.zero_dte_long_delta) == (22, 0.16, 0.05)
    assert (s.zero_dte_first_entry, s.zero_dte_last_entry, s.zero_dte_close_time) == (
        time(10, 30),
        time(13),
        time(15, 30),
    )
    assert (s.zero_dte_profit_target, s.zero_dte_stop_loss, s.zero_dte_max_condors) == (0.5, 2.0, 10)
    assert (s.lt112_min_dte, s.lt112_target_dte, s.lt112_max_dte) == (110, 120, 150)
    assert (s.strangle_stop_loss, s.leap_roll_dte, s.ipmcc_long_min_dte) == (2.5, 150, 280)
    assert (s.risk_daily_loss_halt, s.risk_weekly_loss_halt, s.risk_monthly_loss_halt) == (0.05, 0.10, 0.15)
    assert s.dq_max_quote_age_seconds == 60 and s.dq_max_spread_of_mid == 0.5


def test_parses_lean_string_parameters():
    s = Settings.from_parameters(
        {"zero_dte_min_vix": "25", "zero_dte_enabled": "false", "zero_dte_last_entry": "12:45",
         "strangle_underlyings": "ES, CL", "zero_dte_max_condors": "4"}
    )  # fmt: skip
    assert s.zero_dte_min_vix == 25.0 and s.zero_dte_enabled is False
    assert s.zero_dte_last_entry == time(12, 45)
    assert s.strangle_underlyings == ("ES", "CL") and s.zero_dte_max_condors == 4


def test_every_problem_is_listed_at_once_with_its_source():
    with pytest.raises(SettingsError) as err:
        Settings.from_parameters(
            {"zero_dte_min_vix": "abc", "zero_dte_short_delta": "2", "zero_dte_max_condrs": "3",
             "zero_dte_max_condors": "1.5", "zero_dte_first_entry": "ten"},
            source="config.json parameters",
        )  # fmt: skip
    problems = err.value.problems
    assert len(problems) == 5
    assert "config.json parameters.zero_dte_min_vix: 'abc' is not a number" in problems
    assert "config.json parameters.zero_dte_short_delta: 2.0 is above the maximum 0.5" in problems
    assert any(
        "zero_dte_max_condrs: unknown parameter (did you mean zero_dte_max_condors?)" in p for p in problems
    )
    assert any("zero_dte_max_condors: '1.5' is not a whole number" in p for p in problems)
    assert any("zero_dte_first_entry: 'ten' is not a time HH:MM" in p for p in problems)
    assert str(err.value).count("\n  - ") == 5


def test_cross_parameter_rules():
    with pytest.raises(SettingsError) as err:
        Settings.from_parameters(
            {"zero_dte_long_delta": "0.2", "lt112_min_dte": "130", "end_date": "2024-01-01"}
        )
    text = str(err.value)
    assert "zero_dte_long_delta (0.2) must be below zero_dte_short_delta (0.16)" in text
    assert "lt112_min_dte (130) must be at most lt112_target_dte (120)" in text
    assert "start_date (2025-01-02) must be no later than end_date (2024-01-01)" in text


def test_non_finite_and_bad_lists_are_rejected():
    with pytest.raises(SettingsError, match="'nan' is not a finite number"):
        Settings.from_parameters({"zero_dte_min_vix": "nan"})
    with pytest.raises(SettingsError, match="regime_vix_bounds: must be strictly ascending"):
        Settings.from_parameters({"regime_vix_bounds": "12,20,16,25,30"})
    with pytest.raises(SettingsError, match="phase_max_bp: needs 5 values, got 3"):
        Settings.from_parameters({"phase_max_bp": "0,0.5,0.6"})


def test_config_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "config.json"
    bad.write_text("{not json")
    with pytest.raises(SettingsError, match=r"config\.json: cannot read"):
        Settings.from_config_file(bad)
    bad.write_text(json.dumps({"parameters": {"zero_dte_min_vix": "x"}}))
    with pytest.raises(SettingsError, match=r"config.json parameters.zero_dte_min_vix: 'x' is not a number"):
        Settings.from_config_file(bad)


def test_config_file_with_a_key_written_twice_is_refused(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(
        '{"parameters": {"zero_dte_min_vix": "22", "starting_cash": "1e5", "zero_dte_min_vix": "30"}}'
    )
    with pytest.raises(
        SettingsError, match=r"config\.json: key\(s\) written more than once: zero_dte_min_vix"
    ):
        Settings.from_config_file(path)
    path.write_text('{"parameters": {}, "parameters": {"zero_dte_min_vix": "30"}}')
    with pytest.raises(SettingsError, match="written more than once: parameters"):
        Settings.from_config_file(path)


def test_config_file_without_parameters_is_refused_not_run_on_defaults(tmp_path):
    path = tmp_path / "config.json"
    path.write_text('{"algorithm-language": "Python"}')
    with pytest.raises(SettingsError, match=r"config\.json: no 'parameters' object"):
        Settings.from_config_file(path)
    path.write_text('{"parameters": ["zero_dte_min_vix"]}')
    with pytest.raises(SettingsError, match="'parameters' must be an object"):
        Settings.from_config_file(path)


def test_config_values_that_are_not_text_are_refused(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"parameters": {"zero_dte_min_vix": None, "strangle_underlyings": ["ES"]}}))
    with pytest.raises(SettingsError) as err:
        Settings.from_config_file(path)
    assert err.value.problems == [
        "config.json parameters.zero_dte_min_vix: must be text (LEAN passes parameters as strings)",
        "config.json parameters.strangle_underlyings: must be text (LEAN passes parameters as strings)",
    ]


def test_describe_round_trips_every_default():
    params = {name: text for name, text, _ in Settings.describe()}
    assert Settings.from_parameters(params) == Settings()


def test_as_parameters_round_trips_through_from_parameters():
    changed = Settings().with_overrides(starting_cash=150_000.0, zero_dte_first_entry=time(11, 0))
    assert Settings.from_parameters(changed.as_parameters()) == changed
