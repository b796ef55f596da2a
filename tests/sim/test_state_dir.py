"""Issue 13's saved-state attacks on ``python -m sim backtest``: a state dir belongs to one run and
one process, bad saved values are refused or quarantined in one line, disk problems are one line
with no temp file left, the run's outputs never mix with an old run's, and the run deletes nothing
it did not create."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from persistence.codec import decode, encode
from sim.cli import main
from sim.run import StateDirLock
from sim.world import WORLD_KEY, WORLD_KIND, WORLD_SCHEMA
from testing.loopback.webhook import WebhookReceiver

pytestmark = pytest.mark.slow  # each test runs the CLI's kill-safe backtest for days

DAYS = ["--start", "2025-03-03", "--end", "2025-03-04"]


@pytest.fixture(autouse=True)
def _no_fsync(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TOMKING_STATE_FSYNC", "0")  # a test needs no power-loss safety


def _run(tmp_path: Path, *extra: str, out: str = "out", state: str | None = "state") -> int:
    args = ["backtest", "--quiet", *DAYS, "--out", str(tmp_path / out), *extra]
    return main([*args, "--state-dir", str(tmp_path / state)] if state else args)


def _one_error_line(capsys) -> str:  # type: ignore[no-untyped-def]
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


def _temp_files(*roots: Path) -> list[Path]:
    return [p for root in roots if root.exists() for p in root.rglob("*.tmp")]


def test_a_state_dir_of_another_run_is_refused_in_one_line(tmp_path, capsys):
    assert _run(tmp_path) == 0
    capsys.readouterr()
    assert _run(tmp_path, "--seed", "99") == 2
    assert "belongs to another run" in (err := _one_error_line(capsys)) and "seed" in err
    assert _run(tmp_path, "--faults", "reject=0.5") == 2
    assert "faults" in _one_error_line(capsys)
    assert _run(tmp_path, "--set", "starting_cash=150000") == 2
    assert "starting_cash" in _one_error_line(capsys)


def test_a_second_process_on_the_state_dir_is_refused(tmp_path, capsys):
    lock = StateDirLock(tmp_path / "state")
    lock.acquire()  # another process (flock locks per open file, so this stands for one)
    try:
        assert _run(tmp_path) == 2
        assert f"in use by pid {os.getpid()}" in _one_error_line(capsys)
    finally:
        lock.release()
    assert _run(tmp_path) == 0, "free again once the other process is gone"


@pytest.mark.parametrize(
    "tamper, message",
    [
        (lambda body: body["cursor"].update(day=-3), "day -3 is negative"),
        (lambda body: body["cursor"].update(day=10**6), "outside this run"),
        (lambda body: body["cursor"].update(phase=7), "invalid_types"),
        (lambda body: body.update(equity="lots"), "invalid_types"),
        (lambda body: body["broker"].update(cash="a lot"), "invalid_types"),
        (lambda body: body.pop("cursor"), "invalid_types"),
    ],
)
def test_a_world_with_a_valid_checksum_but_wrong_values_is_one_line(tmp_path, capsys, tamper, message):
    assert _run(tmp_path, "--end", "2025-03-03") == 0  # a run that stopped after its first day
    capsys.readouterr()
    path = tmp_path / "state" / "world" / WORLD_KEY
    _, body = decode(path.read_bytes(), WORLD_KIND, WORLD_SCHEMA, WORLD_KEY)
    tamper(body)
    path.write_bytes(encode(WORLD_KIND, WORLD_SCHEMA, body))  # re-signed: only the types are wrong
    assert _run(tmp_path, "--end", "2025-03-03") == 2
    assert message in _one_error_line(capsys)


def test_a_file_where_the_state_dir_or_out_belongs_is_one_line(tmp_path, capsys):
    (tmp_path / "state").write_text("not a folder")
    assert _run(tmp_path) == 2
    assert "state" in _one_error_line(capsys)
    (tmp_path / "out2").write_text("not a folder")
    assert _run(tmp_path, out="out2", state="state2") == 2
    assert "output folder" in _one_error_line(capsys)


def test_a_full_disk_is_one_line_and_leaves_no_temp_file(tmp_path, capsys, monkeypatch):
    import sim.store

    real = sim.store.os.replace

    def full(src, dst):  # type: ignore[no-untyped-def]
        if str(dst).startswith(str(tmp_path / "state")):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(src, dst)

    monkeypatch.setattr(sim.store.os, "replace", full)
    assert _run(tmp_path) == 2
    assert "No space left on device" in _one_error_line(capsys)
    assert _temp_files(tmp_path) == []


def test_a_fresh_run_does_not_append_to_an_old_event_log(tmp_path):
    assert _run(tmp_path, state=None) == 0
    first = (tmp_path / "out" / "events.jsonl").read_bytes()
    assert first and _run(tmp_path, state=None) == 0
    assert (tmp_path / "out" / "events.jsonl").read_bytes() == first


def test_the_out_folder_keeps_what_the_run_did_not_create(tmp_path):
    kept = tmp_path / "out" / "state" / "resumable.json"
    kept.parent.mkdir(parents=True)
    kept.write_text("{}")
    assert _run(tmp_path, state=None) == 0
    assert kept.read_text() == "{}", "a plain run never deletes DIR/state"


def test_a_state_dir_run_writes_the_html_report_and_sends_its_alerts(tmp_path, monkeypatch):
    pytest.importorskip("apprise", reason="apprise is the local alert transport (alerts extra)")
    week = ["--end", "2025-03-07", "--set", "risk_intraday_drawdown=0.001"]  # the breaker alerts
    with WebhookReceiver() as hook:
        monkeypatch.setenv("TOMKING_ALERT_URLS", f"json://127.0.0.1:{hook.port}/a")
        assert _run(tmp_path, "--alerts", *week) == 0
    out = tmp_path / "out"
    assert (out / "report.html").stat().st_size > 0 and (out / "summary.txt").stat().st_size > 0
    logged = {
        json.loads(line)["title"] for line in (out / "events.jsonl").open() if '"kind": "alert"' in line
    }
    assert hook.received and {m["title"].rsplit("] ", 1)[-1] for m in hook.received} <= logged
