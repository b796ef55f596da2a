"""Loopback Tastytrade: the REST and DXLink servers on 127.0.0.1, on their own event-loop thread.

Tests and the benchmark point the real SDK at it: the SDK reads its REST base URL from the module
constants ``tastytrade.session.API_URL`` / ``CERT_URL`` when a ``Session`` is built, so
``point_sdk_at`` swaps those two constants (configuration, not a mock: every SDK function runs
unchanged), and ``/api-quote-tokens`` hands out this server's ``ws://127.0.0.1:PORT`` DXLink URL.
"""

from __future__ import annotations

import contextlib
from collections.abc import Coroutine, Iterator
from typing import Any
from unittest import mock

from brokers.credentials import Credentials
from brokers.loop_thread import LoopThread
from testing.loopback.dxlink import DxServer, DxState
from testing.loopback.rest import RestServer, RestState

SECRET = "loopback-provider-secret-7f3a9c"
REFRESH = "loopback-refresh-token-2b8e41"


class LoopbackBroker:
    def __init__(self, max_frame: int = 32_768, tick_s: float = 0.2, keepalive_s: float = 1.0):
        self.rest_state = RestState(provider_secret=SECRET, refresh_token=REFRESH)
        self.dx_state = DxState(token=self.rest_state.dxlink_token, tick_s=tick_s, keepalive_s=keepalive_s)
        self.rest = RestServer(self.rest_state)
        self.dx = DxServer(self.dx_state, max_size=max_frame)
        self._lt = LoopThread("loopback-server")

    @property
    def credentials(self) -> Credentials:
        return Credentials(SECRET, REFRESH, sandbox=False, account_number=self.rest_state.account)

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.rest.port}"

    def start(self) -> LoopbackBroker:
        self._lt.start()
        self.run(self.rest.start())
        self.run(self.dx.start())
        self.rest_state.ws_url = f"ws://127.0.0.1:{self.dx.port}/realtime"
        return self

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.run(self.dx.stop())
            self.run(self.rest.stop())
        self._lt.stop()

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 5.0) -> Any:
        return self._lt.run(coro, timeout)

    def __enter__(self) -> LoopbackBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def point_sdk_at(url: str) -> Iterator[None]:
    """Make new SDK sessions (production and sandbox) talk to ``url``; restored on exit."""
    with mock.patch.multiple("tastytrade.session", API_URL=url, CERT_URL=url):
        yield
