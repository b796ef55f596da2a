"""What happens on one live DXLink connection: liveness tap, event draining, chunked subscriptions.

Free functions over the SDK's ``DXLinkStreamer`` so the supervisor (``brokers.feed``) stays about
lifecycle only.  Draining takes one event with ``get_event`` and then everything already queued
with ``get_event_nowait``: the SDK's ``listen()`` yields to the event loop once per event, which
costs more than the cache store, while a drained batch costs one loop turn and one lock hold.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from brokers.quote_cache import Kind, QuoteCache

LOG = logging.getLogger("brokers")


def event_classes() -> dict[Kind, Any]:
    from tastytrade.dxfeed import Greeks, Quote, Summary

    return {Kind.QUOTE: Quote, Kind.GREEKS: Greeks, Kind.SUMMARY: Summary}


def tap_messages(streamer: Any, on_message: Callable[[float], None]) -> bool:
    """Call ``on_message(monotonic time)`` for every raw message the streamer reads (KEEPALIVEs
    included) by wrapping its websocket session's ``receive_text`` with a pass-through.  The SDK
    exposes no such hook; False (and the caller falls back to data events) if the shape changed."""
    ws = getattr(streamer, "_websocket", None)
    original = getattr(ws, "receive_text", None)
    if ws is None or original is None:
        return False

    async def receive_text(timeout: float | None = None) -> str:
        text = await original(timeout)
        on_message(time.monotonic())
        return text

    try:
        ws.receive_text = receive_text
    except (AttributeError, TypeError):  # a session class with slots or a read-only attribute
        return False
    return True


async def drain(
    streamer: Any, kind: Kind, cache: QuoteCache, max_batch: int, on_batch: Callable[[Kind, int], None]
) -> None:
    """Forever: move queued events of ``kind`` into ``cache`` in batches."""
    cls = event_classes()[kind]
    get, nowait, put = streamer.get_event, streamer.get_event_nowait, cache.put_events
    while True:
        batch = [await get(cls)]
        while len(batch) < max_batch:
            ev = nowait(cls)
            if ev is None:
                break
            batch.append(ev)
        put(kind, batch)
        on_batch(kind, len(batch))


async def sync_subscriptions(
    streamer: Any,
    wanted: Mapping[Kind, set[str]],
    sent: dict[Kind, set[str]],
    chunk_size: int,
    aggregation_s: float,
) -> int:
    """Send the difference between ``wanted`` and ``sent`` (updated in place), ``chunk_size``
    symbols per FEED_SUBSCRIPTION message.  Returns the number of messages sent."""
    messages = 0
    for kind, cls in event_classes().items():
        add = sorted(wanted[kind] - sent[kind])
        remove = sorted(sent[kind] - wanted[kind])
        for i in range(0, len(add), chunk_size):
            chunk = add[i : i + chunk_size]
            await streamer.subscribe(cls, chunk, refresh_interval=aggregation_s)
            sent[kind].update(chunk)
            messages += 1
        for i in range(0, len(remove), chunk_size):
            chunk = remove[i : i + chunk_size]
            await streamer.unsubscribe(cls, chunk)
            sent[kind].difference_update(chunk)
            messages += 1
    return messages
