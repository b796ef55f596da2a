"""A background thread that owns one asyncio event loop.

The tastytrade SDK is asyncio-only while LEAN calls us from its own synchronous thread.  Running
the SDK on a dedicated loop thread keeps LEAN's thread free (nothing blocks on the network there)
and gives the synchronous callers one narrow door: ``run(coro, timeout)`` for a result and
``call_soon(fn)`` to poke the loop.  ``stop()`` cancels whatever is still running, waits for it to
unwind, and records any task left behind so tests can prove nothing leaks.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

R = TypeVar("R")


class LoopThread:
    def __init__(self, name: str = "brokers-loop"):
        self.name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stopping: asyncio.Event | None = None
        self.leftover_tasks: list[str] = []  # names of tasks still pending when the loop closed

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        return self._loop

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._ready.clear()
        self._thread = threading.Thread(target=self._main, name=self.name, daemon=True)
        self._thread.start()
        if not self._ready.wait(5.0):
            raise RuntimeError(f"{self.name}: event loop did not start")

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._serve())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            self.leftover_tasks = [t.get_name() for t in asyncio.all_tasks(loop) if not t.done()]
            asyncio.set_event_loop(None)
            loop.close()

    async def _serve(self) -> None:
        self._stopping = asyncio.Event()
        self._ready.set()
        await self._stopping.wait()
        current = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not current]
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5.0)

    def run(self, coro: Coroutine[Any, Any, R], timeout: float) -> R:
        """Run ``coro`` on the loop and wait for its result (raises ``TimeoutError`` after
        ``timeout`` seconds, after cancelling it)."""
        loop = self._require()
        fut = asyncio.run_coroutine_threadsafe(coro, loop)
        try:
            return fut.result(timeout)
        except concurrent.futures.TimeoutError:
            fut.cancel()
            raise TimeoutError(f"{self.name}: no result within {timeout:g} s") from None

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> concurrent.futures.Future[Any]:
        return asyncio.run_coroutine_threadsafe(coro, self._require())

    def call_soon(self, fn: Callable[[], Any]) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # closed between the check and the call
                loop.call_soon_threadsafe(fn)

    def stop(self, timeout: float = 10.0) -> bool:
        """Cancel everything on the loop and join the thread.  True when it ended in time."""
        thread = self._thread
        if thread is None:
            return True
        stopping = self._stopping
        if stopping is not None:
            self.call_soon(stopping.set)
        thread.join(timeout)
        ended = not thread.is_alive()
        if ended:
            self._thread = None
        return ended

    def _require(self) -> asyncio.AbstractEventLoop:
        loop = self._loop
        if loop is None or loop.is_closed() or not self.running:
            raise RuntimeError(f"{self.name}: event loop is not running")
        return loop
