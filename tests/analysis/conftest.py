"""One short run of the README's backtest command, shared by the report tests (each test reads the
output folder; nothing here re-runs the engine)."""

from __future__ import annotations

import contextlib
import io
import os

import pytest

from sim.cli import main as sim_main
from testing.loopback.webhook import WebhookReceiver


@pytest.fixture(scope="session")
def backtest(tmp_path_factory):
    """Seed 7, Jan-Feb 2025, with its alerts sent through apprise to a webhook receiver on the
    loopback interface (TOMKING_ALERT_URLS).  Returns (folder, stdout, webhook messages)."""
    pytest.importorskip("matplotlib", reason="charts need the report extra (matplotlib)")
    out = tmp_path_factory.mktemp("backtest")
    buf = io.StringIO()
    args = [
        "backtest",
        "--start",
        "2025-01-02",
        "--end",
        "2025-02-28",
        "--seed",
        "3",
        "--out",
        str(out),
        "--alerts",
    ]
    with WebhookReceiver() as hook:
        url = f"json://127.0.0.1:{hook.port}/alerts"
        with _env("TOMKING_ALERT_URLS", url), contextlib.redirect_stdout(buf):
            code = sim_main(args)
    assert code == 0
    return out, buf.getvalue(), hook.received


@contextlib.contextmanager
def _env(name: str, value: str):
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old
