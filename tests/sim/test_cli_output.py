"""What the command line shows (issue 18): ``params`` lists every parameter with its default, rules
and meaning; the help is plain text with a line for every option; ``--quiet`` prints nothing; run.log
lines carry the simulated time; backtest alerts are off unless asked for and say [BACKTEST]."""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import re
import subprocess
import sys
import tomllib
from datetime import datetime
from pathlib import Path

import pytest

from assembly import build_monitoring
from core.ports import Severity
from core.settings import Settings
from lean_adapter.translate import ADAPTER_PARAMETERS
from monitoring.alerts import Alert, AppriseChannel
from sim.cli import build_parser, main
from sim.cli_logging import LOG_FORMAT, SimTimeFilter
from sim.recorder import RunRecorder
from sim.store import MemoryStore
from testing.loopback.webhook import WebhookReceiver
from testing.persistence_fakes import FakeEngine

ROOT = Path(__file__).resolve().parents[2]


def test_params_lists_every_parameter_with_default_rules_and_description(capsys):
    assert main(["params"]) == 0
    out = capsys.readouterr().out
    rules = Settings.constraints()
    for name, default, doc in Settings.describe():
        block = out.split(f"\n{name} = ", 1)[1] if not out.startswith(f"{name} = ") else out[len(name) + 3 :]
        head = block.split("\n", 3)
        assert head[0] == (default or "''"), name
        if rules[name]:
            assert head[1] == f"    allowed: {rules[name]}", name
        assert f"    {doc}" in head[1:3], name
    for name in ADAPTER_PARAMETERS:
        assert f"\n{name} = " in out and "(LEAN adapter only; the offline engine ignores it)" in out
    assert "lt112_min_dte = 110\n    allowed: 1..1000; <= lt112_target_dte; > lt112_spread_exit_dte\n" in out


def test_params_filters_by_prefix_and_refuses_an_unknown_one(capsys):
    assert main(["params", "leap_roll"]) == 0
    assert capsys.readouterr().out.startswith("leap_roll_dte = 150\n    allowed: 1..2000; < leap_min_dte\n")
    assert main(["params", "nosuch"]) == 2
    assert capsys.readouterr().err == "error: params: no parameter name starts with 'nosuch'\n"


def test_help_is_plain_text_and_every_option_and_command_has_help():
    parser = build_parser()
    # argparse has no public way to list its options: its documented Action objects are in _actions
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert sorted(sub.choices) == ["audit", "backtest", "lab", "params"]
    top = parser.format_help()
    for command in sub.choices:
        assert re.search(rf"^ +{command} +[a-z]", top, re.M), f"{command} has no help line"
    for p in [parser, *sub.choices.values()]:
        text = p.format_help()
        assert "`" not in text, text
        for action in p._actions:
            if action is not sub:
                assert action.help, f"{p.prog}: {action.option_strings or action.dest} has no help"


def test_the_tomking_console_command_is_the_cli(monkeypatch, capsys):
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    module, _, name = scripts["tomking"].partition(":")
    entry = getattr(importlib.import_module(module), name)
    assert entry is main
    monkeypatch.setattr(sys, "argv", ["/usr/local/bin/tomking", "--help"])
    with pytest.raises(SystemExit):
        entry()
    assert capsys.readouterr().out.startswith("usage: tomking ")


def test_log_lines_before_the_first_step_say_so():
    record = logging.LogRecord("sim", logging.WARNING, __file__, 1, "x", None, None)
    SimTimeFilter().filter(record)
    assert logging.Formatter(LOG_FORMAT).format(record).split()[2:4] == ["sim=-", "WARNING"]


def test_backtest_alerts_stay_in_the_run_unless_asked_for():
    pytest.importorskip("apprise", reason="apprise is the local alert transport (alerts extra)")
    env = {"TOMKING_ALERT_URLS": "json://127.0.0.1:9/"}
    platform = FakeEngine()
    kept, _ = build_monitoring(
        platform, Settings(), RunRecorder(), env, False, store=MemoryStore(), send=False
    )
    sent, _ = build_monitoring(
        platform, Settings(), RunRecorder(), env, False, store=MemoryStore(), send=True
    )
    assert [c.name for c in kept.channels] == ["platform"]
    assert [c.name for c in sent.channels] == ["platform", "apprise"]


def test_live_alerts_never_carry_the_backtest_label():
    pytest.importorskip("apprise", reason="apprise is the local alert transport (alerts extra)")
    alert = Alert(Severity.WARNING, "Greeks", "theta", datetime(2025, 1, 27, 14, 45), "k")
    with WebhookReceiver() as hook:
        url = f"json://127.0.0.1:{hook.port}/"
        AppriseChannel([url]).send(alert)
        AppriseChannel([url], backtest=True).send(alert)
    assert [m["title"] for m in hook.received] == [
        "[WARNING] Greeks",
        "[BACKTEST 2025-01-27 14:45] [WARNING] Greeks",
    ]


@pytest.fixture(scope="module")
def quiet_run(tmp_path_factory):
    """A week of the synthetic market in a fresh process, as a user runs it, with --alerts to a
    loopback webhook and a 0.1% intraday-drawdown halt, so the breaker alerts on several days."""
    pytest.importorskip("apprise", reason="apprise is the local alert transport (alerts extra)")
    out = tmp_path_factory.mktemp("quiet")
    with WebhookReceiver() as hook:
        env = {**os.environ, "TOMKING_ALERT_URLS": f"json://127.0.0.1:{hook.port}/a", "PYTHONPATH": str(ROOT)}
        cmd = [sys.executable, "-m", "sim", "backtest", "--quiet", "--alerts", "--out", str(out),
               "--start", "2025-03-03", "--end", "2025-03-07", "--set", "risk_intraday_drawdown=0.001"]  # fmt: skip
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    return done, out, hook.received


@pytest.mark.slow  # a week of backtest
def test_quiet_prints_nothing_and_still_writes_every_report(quiet_run):
    done, out, _ = quiet_run
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    for name in ("summary.txt", "trades.csv", "equity.csv", "report.html", "parameters.json", "run.log"):
        assert (out / name).stat().st_size > 0, name


@pytest.mark.slow  # a week of backtest
def test_the_reports_of_a_run_equal_the_ones_rebuilt_from_its_folder(quiet_run, tmp_path):
    """The run writes summary.txt and report.html from one reading of its files; rebuilding either
    from the folder alone gives the same bytes."""
    import shutil

    from analysis.html_report import write_html_report
    from analysis.summary import write_summary

    _, out, _ = quiet_run
    copy = Path(shutil.copytree(out, tmp_path / "copy"))
    assert write_summary(copy).read_bytes() == (out / "summary.txt").read_bytes()
    assert write_html_report(copy).read_bytes() == (out / "report.html").read_bytes()


def _alerts(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "events.jsonl").open() if '"kind": "alert"' in line]


@pytest.mark.slow  # a week of backtest
def test_run_log_lines_carry_wall_and_simulated_time(quiet_run):
    _, out, _ = quiet_run
    lines = (out / "run.log").read_text().splitlines()
    assert lines[0].split(" ", 2)[2] == "sim=- INFO sim.cli parameters from config.json"
    for line in lines:
        wall_day, wall_time, sim = line.split(" ")[:3]
        datetime.strptime(f"{wall_day} {wall_time}", "%Y-%m-%d %H:%M:%S,%f")
        assert sim == "sim=-" or datetime.fromisoformat(sim.removeprefix("sim=")).year == 2025
    alerts = _alerts(out)
    assert len({a["time"][:10] for a in alerts}) >= 2, "alerts on several trading days"
    for alert in alerts:  # each warning names the simulated minute it happened in
        stamp = f" sim={alert['time'][:16]} {alert['severity'].upper()} sim {alert['title']}: "
        assert any(stamp in line for line in lines), stamp


@pytest.mark.slow  # a week of backtest
def test_asked_for_backtest_alerts_are_labelled_with_the_simulated_time(quiet_run):
    _, out, received = quiet_run
    sent = {
        f"[BACKTEST {a['time'][:10]} {a['time'][11:16]}] [{a['severity'].upper()}] {a['title']}"
        for a in _alerts(out)
    }
    assert received and {m["title"] for m in received} <= sent


@pytest.mark.slow  # a kill-safe backtest
def test_quiet_is_quiet_in_the_resumable_mode_too(tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("TOMKING_STATE_FSYNC", "0")  # a test needs no power-loss safety
    out = tmp_path / "out"
    args = ["backtest", "--quiet", "--start", "2025-03-03", "--end", "2025-03-04", "--out", str(out)]
    assert main([*args, "--state-dir", str(tmp_path / "state")]) == 0
    assert capfd.readouterr() == ("", "")
    assert (out / "summary.txt").stat().st_size > 0
