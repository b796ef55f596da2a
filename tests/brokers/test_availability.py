"""Where the SDK is missing (QuantConnect Cloud, LEAN's image) brokers/ imports cleanly, reports
itself unavailable with a reason, and its SDK-free parts still work."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import importlib.abc, sys

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name.split(".")[0] in {"tastytrade", "websockets", "anyio", "httpx2", "httpcore2"}:
                raise ModuleNotFoundError(name)
            return None

    sys.meta_path.insert(0, Block())
    import importlib.util
    real_find_spec = importlib.util.find_spec
    importlib.util.find_spec = lambda n, *a: None if n == "tastytrade" else real_find_spec(n, *a)

    import pkgutil, brokers
    for m in pkgutil.iter_modules(brokers.__path__):
        importlib.import_module("brokers." + m.name)

    from datetime import datetime
    from brokers.availability import available, BrokerUnavailable
    from brokers.credentials import Credentials
    from brokers.feed import FeedSupervisor
    from brokers.quote_cache import QuoteCache
    from brokers.occ import occ_to_streamer
    from brokers.dual_feed import DualFeed

    ok, reason = available()
    assert not ok and "not installed" in reason, reason
    assert occ_to_streamer("SPXW  250307P05000000") == ".SPXW250307P5000"
    cache = QuoteCache(datetime.now)
    feed = FeedSupervisor(Credentials("secret-123456", "refresh-123456"), cache)
    try:
        feed.start()
        raise SystemExit("start() should have refused")
    except BrokerUnavailable as exc:
        assert "not installed" in str(exc)
    assert not DualFeed(cache).entries_allowed(datetime(2025, 1, 2)).approved
    print("OK", reason)
    """
)


@pytest.mark.slow  # starts a Python child process (imports numpy/pandas anew)
def test_brokers_degrade_cleanly_without_the_sdk():
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("OK the tastytrade SDK is not installed")


def test_available_here():
    import pytest

    pytest.importorskip("tastytrade", reason="tastytrade SDK not installed (LEAN image)")
    from brokers.availability import available

    ok, reason = available()
    assert ok and reason.startswith("tastytrade 13.")
