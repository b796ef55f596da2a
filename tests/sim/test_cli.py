"""The command line fails loudly (issue 18, CLI; issue 13, Configuration): a missing config, a bad
--set, impossible dates, VIX or step, duplicate keys, a config without parameters; every problem of
config, --set, dates and faults in one error; exit 2 and nothing run or written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.settings import Settings
from sim.cli import main
from sim.cli_config import settings_from

ROOT = Path(__file__).resolve().parents[2]


def _refused(capsys, tmp_path: Path, *args: str) -> str:
    out = tmp_path / "out"
    code = main(["backtest", "--out", str(out), "--quiet", *args])
    captured = capsys.readouterr()
    assert code == 2, captured
    assert captured.out == "" and "Traceback" not in captured.err
    assert not (out / "summary.txt").exists() and not (out / "parameters.json").exists(), "nothing ran"
    return captured.err


def _config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "my_config.json"
    path.write_text(text)
    return str(path)


def test_a_missing_config_is_an_error_not_the_defaults(capsys, tmp_path):
    assert _refused(capsys, tmp_path, "--config", "nope.json") == "error: --config nope.json: no such file\n"


def test_without_config_the_defaults_are_used_and_named(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert settings_from(None, {}, {}) == (Settings(), "rulebook defaults (no config.json here)")
    monkeypatch.chdir(ROOT)
    assert settings_from(None, {}, {}) == (Settings(), "config.json")


def test_an_unknown_underlying_in_set_is_refused_with_the_allowed_list(capsys, tmp_path):
    err = _refused(capsys, tmp_path, "--set", "strangle_underlyings=ES,XX")
    assert (
        err == "error: command line --set.strangle_underlyings: 'XX' not allowed here; allowed: ES, CL, GC\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--vix", "nan"], "--vix: 'nan' is not a finite number"),
        (["--vix", "inf"], "--vix: 'inf' is not a finite number"),
        (["--vix", "-5"], "--vix: -5 is not a VIX level in (0, 200]"),
        (["--step-minutes", "0"], "--step-minutes: '0' is not a whole number in 1..390 minutes"),
        (["--step-minutes", "-5"], "--step-minutes: '-5' is not a whole number in 1..390 minutes"),
        (["--seed", "x"], "--seed: 'x' is not a whole number in 0..4294967295"),
        (["--start", "0001-01-01"],
         "command line --start.start_date: 0001-01-01 is outside the supported range 1990-01-01..2099-12-31"),
        (["--end", "9999-12-31"],
         "command line --end.end_date: 9999-12-31 is outside the supported range 1990-01-01..2099-12-31"),
        (["--set", "zero_dte_max_condors=1_0"], "command line --set.zero_dte_max_condors: '1_0' is not a whole number"),
        (["--set", "oops"], "--set 'oops': expected NAME=VALUE"),
    ],
)  # fmt: skip
def test_bad_values_are_one_clear_line(capsys, tmp_path, args, message):
    assert _refused(capsys, tmp_path, *args) == f"error: {message}\n"


def test_step_minutes_zero_says_what_is_wrong_even_on_lean_data(capsys, tmp_path):
    err = _refused(capsys, tmp_path, "--data", str(tmp_path), "--step-minutes", "0")
    assert "--step-minutes: '0'" in err and "cannot load market data" not in err


def test_every_problem_of_config_set_dates_faults_is_listed_together(capsys, tmp_path):
    config = _config(tmp_path, json.dumps({"parameters": {"leap_roll_dte": "1000", "zero_dte_weekday": "6"}}))
    err = _refused(
        capsys, tmp_path, "--config", config, "--set", "ipmcc_underlyings=AAPL", "--start", "0001-01-01",
        "--faults", "partial=2", "--vix", "nan", "--step-minutes", "0",
    )  # fmt: skip
    lines = err.splitlines()
    assert lines[0] == "error: 7 problems:"
    assert sorted(line.split(":")[0] for line in lines[1:]) == sorted(
        ["  - my_config.json parameters", "  - my_config.json parameters.zero_dte_weekday",
         "  - command line --set.ipmcc_underlyings", "  - command line --start.start_date",
         "  - --faults", "  - --vix", "  - --step-minutes"]
    )  # fmt: skip


def test_duplicate_keys_and_a_config_without_parameters_are_refused(capsys, tmp_path):
    dup = _config(tmp_path, '{"parameters": {"zero_dte_min_vix": "22", "zero_dte_min_vix": "40"}}')
    assert "key(s) written more than once: zero_dte_min_vix" in _refused(capsys, tmp_path, "--config", dup)
    bare = _config(tmp_path, '{"algorithm-language": "Python"}')
    assert "no 'parameters' object" in _refused(capsys, tmp_path, "--config", bare)


def test_one_config_serves_both_engines_the_lean_notify_parameters_are_accepted(tmp_path):
    params = {name: text for name, text, _ in Settings.describe()}
    params |= {"notify_email": "ops@example.com", "notify_min_severity": "critical"}
    config = _config(tmp_path, json.dumps({"parameters": params}))
    assert settings_from(config, {}, {}) == (Settings(), config)


def test_a_bad_lean_notify_parameter_is_caught_offline_too(capsys, tmp_path):
    config = _config(tmp_path, json.dumps({"parameters": {"notify_min_severity": "loud"}}))
    err = _refused(capsys, tmp_path, "--config", config)
    assert (
        err
        == "error: my_config.json parameters.notify_min_severity: 'loud' is not one of info, warning, critical\n"
    )


def test_alerts_without_urls_is_an_error(capsys, tmp_path, monkeypatch):
    monkeypatch.delenv("TOMKING_ALERT_URLS", raising=False)
    assert "--alerts: TOMKING_ALERT_URLS is empty" in _refused(capsys, tmp_path, "--alerts")


def test_config_values_that_are_not_text_are_refused(capsys, tmp_path):
    config = _config(
        tmp_path, json.dumps({"parameters": {"zero_dte_min_vix": None, "notify_email": ["a@b.c"]}})
    )
    assert _refused(capsys, tmp_path, "--config", config).splitlines()[1:] == [
        "  - my_config.json parameters.zero_dte_min_vix: must be text (LEAN passes parameters as strings)",
        "  - my_config.json parameters.notify_email: must be text (LEAN passes parameters as strings)",
    ]
