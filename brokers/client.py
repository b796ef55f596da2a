"""Synchronous REST access to Tastytrade for LEAN's thread: account reads and emergency orders.

The SDK is async; LEAN calls us synchronously.  ``BrokerClient`` owns one SDK ``Session`` on its
own loop thread (separate from the feed's, so a slow REST call never delays market data) and
offers blocking, time-bounded calls.  Failures come back as ``AuthRefused`` (credentials
refused: permanent) or ``BrokerTransient`` (retry later), never as raw SDK errors, and never
with a secret in the message.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, TypeVar

from brokers.availability import require
from brokers.credentials import Credentials, redact
from brokers.loop_thread import LoopThread
from brokers.reconcile import BrokerAccount, ReconcileReport, fetch_account, reconcile
from brokers.session import (
    AuthRefused,
    BrokerTransient,
    ResponseRecorder,
    authenticate,
    classify,
    open_session,
)
from core.types import AccountState

R = TypeVar("R")


class BrokerClient:
    def __init__(
        self, credentials: Credentials, timeout: float = 15.0, client_kwargs: Mapping[str, Any] | None = None
    ):
        require()
        self._creds = credentials
        self.timeout = timeout
        self._client_kwargs = dict(client_kwargs or {})
        self._lt = LoopThread("tastytrade-rest")
        self._recorder = ResponseRecorder()
        self._session: Any = None

    @property
    def account_number(self) -> str | None:
        return self._creds.account_number

    def _ensure(self) -> None:
        if not self._lt.running:
            self._lt.start()

    async def _open(self) -> Any:
        if self._session is None:
            session = open_session(self._creds, self._recorder, **self._client_kwargs)
            await session.__aenter__()  # the SDK session is an async context manager over its client
            try:
                await authenticate(session, self._recorder)
            except BaseException:
                await session.__aexit__(None, None, None)
                raise
            self._session = session
        return self._session

    def call(self, fn: Callable[[Any], Coroutine[Any, Any, R]]) -> R:
        """Run ``fn(session)`` on the REST loop, bounded by ``timeout``; errors classified."""
        self._ensure()

        async def go() -> R:
            return await fn(await self._open())

        try:
            return self._lt.run(go(), self.timeout)
        except (AuthRefused, BrokerTransient):
            raise
        except TimeoutError as exc:
            raise BrokerTransient(f"Tastytrade API did not answer within {self.timeout:g} s") from exc
        except Exception as exc:
            permanent, reason = classify(exc, self._recorder)
            raise (AuthRefused if permanent else BrokerTransient)(redact(reason)) from None

    def fetch_account(self) -> BrokerAccount:
        return self.call(lambda s: fetch_account(s, self._creds.account_number))

    def reconcile(self, lean: AccountState, **options: Any) -> ReconcileReport:
        """Fetch the broker's view and compare it with ``lean`` (``options``: tolerances and
        ``ignore``, see ``reconcile.reconcile``)."""
        return reconcile(self.fetch_account(), lean, **options)

    def close(self) -> None:
        session = self._session
        if session is not None and self._lt.running:
            with contextlib.suppress(Exception):
                self._lt.run(session.__aexit__(None, None, None), 5.0)
        self._session = None
        self._lt.stop()
