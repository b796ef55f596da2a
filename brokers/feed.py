"""DXLink market-data feed beside LEAN's data: one background thread, its own event loop.

The SDK's ``DXLinkStreamer`` is one connection with no reconnect, so ``FeedSupervisor`` wraps it:
connect (token refresh, ``/api-quote-tokens``, websocket, SETUP/AUTH), subscribe everything wanted
in chunks, drain events into the ``QuoteCache``, and when anything breaks (close frame, TCP reset,
garbage, oversized frame, silence past the watchdog) tear the connection down and build a new one
after a capped, jittered backoff, resubscribing everything.  Refused credentials are a permanent
``FAILED`` state, reported and not retried forever.

Liveness: the watchdog (``FeedConfig.watchdog_s``, 60 s by default) needs "any message
received", KEEPALIVEs included, which the SDK does not expose.  After connecting, every frame goes
through a ``brokers.feed_frames.FrameReader`` (which also maps fields by the announced order and
recognises oversized frames); if a future SDK changes the websocket it reads from, the feed falls
back to "any event received" and says so in the log.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from brokers.availability import require
from brokers.credentials import Credentials, redact
from brokers.feed_connection import drain, sync_subscriptions
from brokers.feed_frames import FrameReader, sdk_fields, tap
from brokers.feed_status import Backoff, FeedConfig, FeedState, FeedStatus
from brokers.loop_thread import LoopThread
from brokers.quote_cache import Kind, QuoteCache
from brokers.session import QUOTE_TOKEN_PATH, ResponseRecorder, authenticate, classify, open_session

if TYPE_CHECKING:
    import anyio

LOG = logging.getLogger("brokers")
ALL_KINDS: tuple[Kind, ...] = (Kind.QUOTE, Kind.GREEKS, Kind.SUMMARY)
MIN_CHUNK = 10


class FeedSupervisor:
    """Start/stop, subscribe/unsubscribe (from any thread), and ``status()``."""

    def __init__(
        self,
        credentials: Credentials,
        cache: QuoteCache,
        config: FeedConfig | None = None,
        rng: random.Random | None = None,
        client_kwargs: Mapping[str, Any] | None = None,
    ):
        self._creds = credentials
        self._cache = cache
        self.cfg = config or FeedConfig()
        self._rng = rng if rng is not None else random.Random(0)
        self._client_kwargs = dict(client_kwargs or {})
        self._lt = LoopThread("dxlink-feed")
        self._lock = threading.Lock()
        self._wanted: dict[Kind, set[str]] = {k: set() for k in Kind}
        self._sent: dict[Kind, set[str]] = {k: set() for k in Kind}
        self._dirty: asyncio.Event | None = None
        self._state, self._reason = FeedState.STOPPED, ""
        self._counts = {"connects": 0, "disconnects": 0, "attempts": 0, "subscription_messages": 0}
        self._failures: dict[str, int] = {}
        self._events: dict[Kind, int] = dict.fromkeys(Kind, 0)
        self._last_msg: float | None = None
        self._next_retry: float | None = None
        self._phase, self._phase_t, self._abort = "idle", 0.0, ""
        self._chunk = self.cfg.chunk_size
        self._tapped = False
        self._tap_warned = False
        self._fields: dict[str, list[str]] | None = None  # the SDK's field order per event type
        self._stop_requested = False

    # --- control (any thread) ------------------------------------------------------------------

    def start(self) -> None:
        require()
        if self._lt.running:
            return
        self._stop_requested = False
        self._state, self._reason = FeedState.CONNECTING, ""
        self._lt.start()
        self._lt.spawn(self._run())

    def stop(self, timeout: float = 10.0) -> bool:
        self._stop_requested = True
        ended = self._lt.stop(timeout)
        if self._state is not FeedState.FAILED:
            self._state, self._reason = FeedState.STOPPED, ""
        return ended

    @property
    def leftover_tasks(self) -> list[str]:
        """Tasks still pending when the feed loop closed (empty after a clean stop)."""
        return list(self._lt.leftover_tasks)

    def subscribe(self, symbols: Iterable[str], kinds: Iterable[Kind] = ALL_KINDS) -> None:
        syms = [s for s in symbols if s]
        with self._lock:
            for k in kinds:
                self._wanted[k].update(syms)
        self._cache.accept(syms)
        self._poke()

    def unsubscribe(self, symbols: Iterable[str]) -> None:
        syms = set(symbols)
        with self._lock:
            for k in Kind:
                self._wanted[k].difference_update(syms)
        self._cache.forget(syms)
        self._poke()

    def status(self) -> FeedStatus:
        last = self._last_msg
        with self._lock:
            subscribed = len(set().union(*self._wanted.values()))
        return FeedStatus(
            state=self._state,
            reason=self._reason,
            connects=self._counts["connects"],
            disconnects=self._counts["disconnects"],
            attempts=self._counts["attempts"],
            failures=dict(self._failures),
            events={k.value: n for k, n in self._events.items()},
            subscribed=subscribed,
            subscription_messages=self._counts["subscription_messages"],
            chunk_size=self._chunk,
            rejected={k.value: n for k, n in self._cache.rejected.items() if n},
            outdated={k.value: n for k, n in self._cache.outdated.items() if n},
            last_message_age_s=None if last is None else time.monotonic() - last,
            next_retry_s=self._next_retry,
        )

    def alive(self) -> bool:
        """CONNECTED and heard from within the watchdog window."""
        last = self._last_msg
        return (
            self._state is FeedState.CONNECTED
            and last is not None
            and time.monotonic() - last <= self.cfg.watchdog_s
        )

    def _poke(self) -> None:
        dirty = self._dirty
        if dirty is not None:
            self._lt.call_soon(dirty.set)

    # --- supervisor (feed thread) --------------------------------------------------------------

    async def _run(self) -> None:
        try:
            await self._supervise()
        except Exception as exc:  # a bug here must surface as a status, not a silent dead thread
            self._state, self._reason = (
                FeedState.FAILED,
                redact(f"internal error: {type(exc).__name__}: {exc}"),
            )
            LOG.exception("DXLink feed supervisor crashed")

    async def _supervise(self) -> None:
        import anyio

        self._dirty = asyncio.Event()
        recorder = ResponseRecorder()
        backoff = Backoff(self.cfg.backoff_base_s, self.cfg.backoff_cap_s, self._rng)
        auth_refusals = 0
        session = open_session(self._creds, recorder, **self._client_kwargs)
        async with session:
            while not self._stop_requested:
                self._counts["attempts"] += 1
                permanent, reason, up_for, handshake_error = await self._attempt(session, recorder)
                if self._stop_requested:
                    break
                if handshake_error:
                    auth_refusals += 1
                    if auth_refusals >= self.cfg.max_auth_failures:
                        permanent = True
                        reason = f"streamer refused authorization {auth_refusals} times: {reason}"
                elif up_for is not None:
                    auth_refusals = 0
                if "too long" in reason and self._chunk > MIN_CHUNK:  # frame limit: halve the chunks
                    self._chunk = max(MIN_CHUNK, self._chunk // 2)
                    LOG.warning("subscription frame too large; chunk size now %d", self._chunk)
                cause = reason.split(":")[0][:60]
                self._failures[cause] = self._failures.get(cause, 0) + 1
                if permanent:
                    self._state, self._reason = FeedState.FAILED, reason
                    LOG.error("DXLink feed failed permanently: %s", reason)
                    return
                if up_for is not None and up_for >= self.cfg.stable_s:
                    backoff.reset()
                delay = backoff.next_delay()
                self._next_retry = delay
                self._state, self._reason = FeedState.RECONNECTING, reason
                LOG.warning("DXLink feed down (%s); reconnecting in %.2f s", reason, delay)
                await anyio.sleep(delay)
                self._next_retry = None

    async def _attempt(
        self, session: Any, recorder: ResponseRecorder
    ) -> tuple[bool, str, float | None, bool]:
        """One connection, until it breaks.  Returns (permanent, reason, seconds up, handshake error)."""
        import anyio
        from tastytrade import DXLinkStreamer

        self._abort = ""
        self._set_phase("handshake")
        if self._fields is None:
            self._fields = sdk_fields()
        reader = FrameReader(self._on_message, self._fields)
        connected_at: float | None = None
        error: BaseException | None = None
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._watchdog, tg.cancel_scope)
                await authenticate(session, recorder)
                async with DXLinkStreamer(session) as streamer:
                    self._tapped = tap(streamer, reader)
                    if not self._tapped and not self._tap_warned:
                        self._tap_warned = True
                        LOG.warning("cannot observe raw DXLink messages; watchdog falls back to data events")
                    self._set_phase("subscribing")
                    self._sent = {k: set() for k in Kind}
                    await self._apply_subscriptions(streamer)
                    connected_at = time.monotonic()
                    self._last_msg = connected_at
                    self._counts["connects"] += 1
                    self._state, self._reason = FeedState.CONNECTED, ""
                    self._set_phase("connected")
                    LOG.info("DXLink feed connected (%d symbols)", self.status().subscribed)
                    async with anyio.create_task_group() as inner:
                        for kind in ALL_KINDS:
                            inner.start_soon(
                                drain, streamer, kind, self._cache, self.cfg.max_batch, self._on_batch
                            )
                        inner.start_soon(self._keep_subscriptions, streamer)
        except Exception as exc:  # every failure of a connection is data: classify and retry
            error = exc
        finally:
            phase = self._phase
            self._set_phase("idle")
        up_for = None if connected_at is None else time.monotonic() - connected_at
        if connected_at is not None:
            self._counts["disconnects"] += 1
        if error is None:
            return False, self._abort or "connection ended", up_for, False
        permanent, reason = classify(error, recorder)
        if reader.oversized_inbound:  # the SDK calls every 1009 close "subscription too long"
            reason = "oversized frame from the server: over the websocket client's message size limit"
        # The streamer token was issued (2xx) but the handshake still failed with an SDK error:
        # that is DXLink refusing the token (an ERROR message), not a network problem.
        token_ok = (recorder.last_status(QUOTE_TOKEN_PATH) or 0) // 100 == 2
        handshake_error = phase == "handshake" and token_ok and reason.startswith("TastytradeError")
        return permanent, redact(self._abort or reason), up_for, handshake_error and not permanent

    def _set_phase(self, phase: str) -> None:
        self._phase, self._phase_t = phase, time.monotonic()

    async def _watchdog(self, scope: anyio.CancelScope) -> None:
        import anyio

        cfg = self.cfg
        while True:
            await anyio.sleep(min(cfg.tick_s, cfg.watchdog_s / 4, cfg.connect_timeout_s / 4))
            now = time.monotonic()
            if self._phase in ("handshake", "subscribing") and now - self._phase_t > cfg.connect_timeout_s:
                self._abort = f"connect timeout: no {self._phase} within {cfg.connect_timeout_s:g} s"
                scope.cancel()
                return
            last = self._last_msg
            if self._phase == "connected" and last is not None and now - last > cfg.watchdog_s:
                self._abort = f"watchdog: no message for {now - last:.1f} s"
                scope.cancel()
                return

    def _on_message(self, t: float) -> None:
        self._last_msg = t

    def _on_batch(self, kind: Kind, n: int) -> None:
        self._events[kind] += n
        if not self._tapped:
            self._last_msg = time.monotonic()

    async def _keep_subscriptions(self, streamer: Any) -> None:
        dirty = self._dirty
        assert dirty is not None
        while True:
            await dirty.wait()
            dirty.clear()
            await self._apply_subscriptions(streamer)

    async def _apply_subscriptions(self, streamer: Any) -> None:
        with self._lock:
            wanted = {k: set(v) for k, v in self._wanted.items()}
        cfg = self.cfg
        sent = await sync_subscriptions(streamer, wanted, self._sent, self._chunk, cfg.aggregation_s)
        self._counts["subscription_messages"] += sent
