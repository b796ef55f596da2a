"""What happens on one live DXLink connection: event draining and chunked subscriptions.

Free functions over the SDK's ``DXLinkStreamer`` so the supervisor (``brokers.feed``) stays about
lifecycle only (what each frame goes through before the SDK: ``brokers.feed_frames``).  Draining takes one event with ``get_event`` and then everything already queued
with ``get_event_nowait``: the SDK's ``listen()`` yields to the event loop once per event, which
costs more than the cache store, while a drained batch costs one loop turn and one lock hold.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from brokers.quote_cache import Kind, QuoteCache

LOG = logging.getLogger("brokers")


def event_classes() -> dict[Kind, Any]:
    from tastytrade.dxfeed import Greeks, Quote, Summary

    return {Kind.QUOTE: Quote, Kind.GREEKS: Greeks, Kind.SUMMARY: Summary}


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
