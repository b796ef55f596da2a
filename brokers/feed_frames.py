"""Every DXLink frame passes here before the SDK reads it: liveness, field order, frame size.

The SDK's ``DXLinkStreamer`` reads its websocket with ``receive_text`` and exposes no hook, so
``tap`` wraps that method of the connection's websocket session with ``FrameReader.read`` (a
pass-through; False, and the caller falls back, if a future SDK changed the shape).  The reader:

* notes the time of every message, KEEPALIVEs included (the supervisor's watchdog);
* maps ``FEED_DATA`` by the field order the server announced in ``FEED_CONFIG``.  The SDK reads
  COMPACT rows in its own model's field order whatever the server says, so a server announcing
  ``bidSize`` before ``bidPrice`` would have the size read as the bid.  When an announced order
  differs, rows of that event type are rewritten into the SDK's order (a field the server does not
  send reads as unknown, and that is logged once); when it matches (the normal case) data frames
  pass untouched and cost one substring search;
* tells an inbound frame over the client's message size limit (httpx2 closes with 1009 itself)
  from the server closing with 1009 because a subscription message of ours was too long: the SDK
  reports both as "Subscription message too long".
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

LOG = logging.getLogger("brokers")
MESSAGE_TOO_BIG = 1009  # websocket close code
_DATA_MARK = '"FEED_DATA"'
_DATA_MARK_WITHIN = 48  # the type comes first in DXLink's frames; elsewhere we parse to be sure


def sdk_fields() -> dict[str, list[str]]:
    """Wire names of each SDK event type's fields, in the order the SDK maps COMPACT rows."""
    from tastytrade.streamer import MAP_EVENTS

    return {name: [f.alias or key for key, f in cls.model_fields.items()] for name, cls in MAP_EVENTS.items()}


class FrameReader:
    def __init__(self, on_message: Callable[[float], None], expected: dict[str, list[str]]):
        self._on_message = on_message
        self._expected = expected
        self._order: dict[str, tuple[int, list[int | None]]] = {}  # type -> (row width, source index)
        self._warned: set[tuple[str, tuple[str, ...]]] = set()
        self.oversized_inbound = False  # the connection ended on an inbound frame over the limit

    def read(self, text: str) -> str:
        self._on_message(time.monotonic())
        if not self._order and text.find(_DATA_MARK, 0, _DATA_MARK_WITHIN) >= 0:
            return text
        try:
            msg = json.loads(text)
        except ValueError:
            return text  # garbage: the SDK fails on it and the supervisor reconnects
        if not isinstance(msg, dict):
            return text
        kind = msg.get("type")
        if kind == "FEED_DATA":
            return self._remap(msg, text)
        if kind == "FEED_CONFIG":
            self._configure(msg.get("eventFields"))
        return text

    def closed(self, exc: BaseException, ws: Any) -> None:
        """The websocket read raised ``exc``: note whether we closed on an oversized frame."""
        if getattr(exc, "code", None) == MESSAGE_TOO_BIG:
            state = getattr(getattr(ws, "connection", None), "state", None)
            self.oversized_inbound = getattr(state, "name", "") == "LOCAL_CLOSING"

    def _configure(self, fields: Any) -> None:
        if not isinstance(fields, dict):
            return  # a FEED_CONFIG without fields keeps the order announced before
        for kind, announced in fields.items():
            expected = self._expected.get(kind)
            if expected is None or not isinstance(announced, list):
                continue
            if announced == expected:
                self._order.pop(kind, None)
                continue
            self._order[kind] = (len(announced), [_index(announced, f) for f in expected])
            missing = [f for f in expected if f not in announced]
            key = (kind, tuple(map(str, announced)))
            if key not in self._warned:
                self._warned.add(key)
                LOG.warning(
                    "DXLink announced another %s field order; mapping by the announced one%s",
                    kind,
                    f" (not sent, read as unknown: {', '.join(missing)})" if missing else "",
                )

    def _remap(self, msg: dict[str, Any], text: str) -> str:
        data = msg.get("data")
        if not isinstance(data, list) or len(data) < 2 or not isinstance(data[0], str):
            return text  # FULL format (named fields) needs no mapping; anything else the SDK judges
        changed = False
        for i in range(0, len(data) - 1, 2):
            order = self._order.get(data[i])
            values = data[i + 1]
            if order is None or not isinstance(values, list):
                continue
            width, source = order
            if width == 0 or len(values) % width:
                continue  # not whole rows: leave it to the SDK, which refuses it
            rows = [values[r : r + width] for r in range(0, len(values), width)]
            data[i + 1] = [row[j] if j is not None else "NaN" for row in rows for j in source]
            changed = True
        return json.dumps(msg) if changed else text


def _index(announced: list[Any], name: str) -> int | None:
    try:
        return announced.index(name)
    except ValueError:
        return None


def tap(streamer: Any, reader: FrameReader) -> bool:
    """Route every frame ``streamer`` reads through ``reader``; False if that is not possible."""
    ws = getattr(streamer, "_websocket", None)
    original = getattr(ws, "receive_text", None)
    if ws is None or original is None:
        return False

    async def receive_text(timeout: float | None = None) -> str:
        try:
            text = await original(timeout)
        except Exception as exc:
            reader.closed(exc, ws)
            raise
        return reader.read(text)

    try:
        ws.receive_text = receive_text
    except (AttributeError, TypeError):  # a session class with slots or a read-only attribute
        return False
    return True
