"""A DXLink WebSocket server (``websockets``) that speaks the protocol the way the SDK expects.

Handshake and messages (dxLink protocol as used by tastytrade 13.2.3's ``DXLinkStreamer``):

* client ``SETUP`` -> server ``SETUP`` + ``AUTH_STATE UNAUTHORIZED``
* client ``AUTH {token}`` -> ``AUTH_STATE AUTHORIZED``, or ``ERROR {error: UNAUTHORIZED}`` +
  ``AUTH_STATE UNAUTHORIZED`` when the token is refused
* client ``CHANNEL_REQUEST {channel, service: FEED, parameters: {contract: AUTO}}`` -> ``CHANNEL_OPENED``
* client ``FEED_SETUP {acceptDataFormat: COMPACT, acceptEventFields: {Greeks: [...]}}`` -> ``FEED_CONFIG
  {eventFields: {Greeks: [...]}}``, the fields (and their order) the server will send; a real
  server may announce another order than the one accepted (``DxState.announce`` does that here)
* client ``FEED_SUBSCRIPTION {add/remove: [{symbol, type}]}`` -> snapshot ``FEED_DATA`` for added symbols
* server ``FEED_DATA {channel, data: ["Greeks", [v1, v2, ...]]}`` in COMPACT format, flat values in
  the announced field order; ``KEEPALIVE`` both ways.

Event times are epoch milliseconds from ``DxState.clock_ms`` (the wall clock unless a test injects
one): Greeks ``time``; Quote ``bidTime`` / ``askTime`` at second precision, as dxFeed sends them;
``eventTime`` 0, as dxFeed leaves it.  Every subscribed symbol gets an update each ``tick_s`` and
the connection a ``KEEPALIVE`` each ``keepalive_s``.  Fault injection: close (any code), TCP reset,
stall (stop sending on the current connections), garbage frames, oversized frames, NaN and other
field overrides (old times, absurd prices), refused auth (optionally echoing the token).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import struct
import time
import zlib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

EVENTS_PER_MESSAGE = 100
_RIGHT = re.compile(r"\d{6}([CP])")


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


def event_values(kind: str, symbol: str, seq: int, now_ms: int = 0) -> dict[str, Any]:
    """Deterministic, plausible values for one event (prices change with ``seq``), of ``now_ms``."""
    h = zlib.crc32(symbol.encode())
    mid = round(1.0 + (h % 500) / 10.0 + (seq % 20) * 0.01, 2)
    base = {"eventSymbol": symbol, "eventTime": 0}
    if kind == "Greeks":
        right = _RIGHT.search(symbol)
        put = right is not None and right.group(1) == "P"
        delta = round((0.05 + (h % 80) / 100.0) * (-1 if put else 1), 4)
        return base | {
            "eventFlags": 0,
            "index": seq,
            "time": now_ms,
            "sequence": seq % 1000,
            "price": mid,
            "volatility": round(0.15 + (h % 30) / 100.0, 4),
            "delta": delta,
            "gamma": 0.0123,
            "theta": -0.45,
            "rho": 0.01,
            "vega": 0.87,
        }
    if kind == "Quote":
        return base | {
            "sequence": seq % 1000,
            "timeNanoPart": 0,
            "bidTime": now_ms // 1000 * 1000,
            "bidExchangeCode": "C",
            "askTime": now_ms // 1000 * 1000,
            "askExchangeCode": "C",
            "bidPrice": round(mid - 0.05, 2),
            "askPrice": round(mid + 0.05, 2),
            "bidSize": 10,
            "askSize": 12,
        }
    return base | {  # Summary
        "dayId": 20155,
        "dayClosePriceType": "REGULAR",
        "prevDayId": 20154,
        "prevDayClosePriceType": "FINAL",
        "openInterest": 1000 + h % 1000,
        "dayOpenPrice": "NaN",
        "dayHighPrice": "NaN",
        "dayLowPrice": "NaN",
        "dayClosePrice": "NaN",
        "prevDayClosePrice": mid,
        "prevDayVolume": 250,
    }


@dataclass
class DxState:
    token: str
    refuse_auth: bool = False
    echo_token: bool = False  # a refusal's ERROR message quotes the token it was given
    clock_ms: Callable[[], int] = wall_clock_ms
    announce: dict[str, list[str]] = field(default_factory=dict)  # event type -> announced order
    tick_s: float = 0.2
    keepalive_s: float = 1.0
    seq: int = 0
    overrides: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    connections: int = 0
    auth_attempts: int = 0
    subscription_messages: int = 0
    largest_subscription: int = 0  # symbols in the largest FEED_SUBSCRIPTION received
    keepalives_received: int = 0
    errors_sent: list[str] = field(default_factory=list)  # ERROR messages, as sent
    # Called once per connection when a channel gets its first subscription (bench publishers).
    publisher: Callable[[Conn, str], Coroutine[Any, Any, None]] | None = None


class Conn:
    def __init__(self, ws: ServerConnection, state: DxState):
        self.ws, self.state = ws, state
        self.stalled = False
        self.authorized = False
        self.channels: dict[int, str] = {}  # channel -> event type
        self.fields: dict[int, list[str]] = {}
        self.subs: dict[int, set[str]] = {}
        self.published: set[int] = set()

    async def send(self, msg: Any) -> None:
        if not self.stalled:
            await self.ws.send(msg if isinstance(msg, str | bytes) else json.dumps(msg))

    def feed_data(self, channel: int, symbols: list[str], seq: int) -> list[str]:
        kind, fields = self.channels[channel], self.fields[channel]
        out = []
        for i in range(0, len(symbols), EVENTS_PER_MESSAGE):
            flat: list[Any] = []
            now_ms = self.state.clock_ms()
            for sym in symbols[i : i + EVENTS_PER_MESSAGE]:
                values = event_values(kind, sym, seq, now_ms) | self.state.overrides.get((kind, sym), {})
                flat.extend(values.get(f, 0) for f in fields)
            out.append(json.dumps({"type": "FEED_DATA", "channel": channel, "data": [kind, flat]}))
        return out

    async def handle(self, msg: dict[str, Any]) -> None:
        st, t, ch = self.state, msg.get("type"), msg.get("channel", 0)
        if t == "SETUP":
            await self.send(
                {
                    "type": "SETUP",
                    "channel": 0,
                    "keepaliveTimeout": 60,
                    "acceptKeepaliveTimeout": 60,
                    "version": "1.0-loopback",
                }
            )
            await self.send({"type": "AUTH_STATE", "channel": 0, "state": "UNAUTHORIZED"})
        elif t == "AUTH":
            st.auth_attempts += 1
            if st.refuse_auth or msg.get("token") != st.token:
                text = (
                    f"Invalid or expired token {msg.get('token')}"
                    if st.echo_token
                    else "Invalid or expired token"
                )
                st.errors_sent.append(text)
                await self.send({"type": "ERROR", "channel": 0, "error": "UNAUTHORIZED", "message": text})
                await self.send({"type": "AUTH_STATE", "channel": 0, "state": "UNAUTHORIZED"})
            else:
                self.authorized = True
                await self.send({"type": "AUTH_STATE", "channel": 0, "state": "AUTHORIZED", "userId": "u1"})
        elif t == "CHANNEL_REQUEST":
            self.subs.setdefault(ch, set())
            await self.send(
                {
                    "type": "CHANNEL_OPENED",
                    "channel": ch,
                    "service": "FEED",
                    "parameters": {"contract": "AUTO", "subFormat": "LIST"},
                }
            )
        elif t == "FEED_SETUP":
            (kind, accepted), *_ = msg["acceptEventFields"].items()
            fields = st.announce[kind] if kind in st.announce else list(accepted)
            self.channels[ch], self.fields[ch] = kind, list(fields)
            await self.send(
                {
                    "type": "FEED_CONFIG",
                    "channel": ch,
                    "aggregationPeriod": 0.1,
                    "dataFormat": "COMPACT",
                    "eventFields": {kind: fields},
                }
            )
        elif t == "FEED_SUBSCRIPTION":
            st.subscription_messages += 1
            add = [s["symbol"] for s in msg.get("add", [])]
            st.largest_subscription = max(st.largest_subscription, len(add))
            subs = self.subs.setdefault(ch, set())
            subs.difference_update(s["symbol"] for s in msg.get("remove", []))
            subs.update(add)
            if st.publisher is not None and ch not in self.published and add:
                self.published.add(ch)
                asyncio.get_running_loop().create_task(st.publisher(self, self.channels[ch]))
            elif add and ch in self.channels:
                st.seq += 1  # every send carries a new sequence: data sent later is always newer
                for frame in self.feed_data(ch, add, st.seq):
                    await self.send(frame)
        elif t == "KEEPALIVE":
            st.keepalives_received += 1
        elif t == "CHANNEL_CANCEL":
            self.subs.pop(ch, None)
            await self.send({"type": "CHANNEL_CLOSED", "channel": ch})

    async def ticker(self) -> None:
        st, last_keepalive = self.state, 0.0
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(st.tick_s)
            if self.stalled or not self.authorized:
                continue
            if st.publisher is None:
                st.seq += 1
                for ch, subs in list(self.subs.items()):
                    if subs and ch in self.channels:
                        for frame in self.feed_data(ch, sorted(subs), st.seq):
                            await self.send(frame)
            if loop.time() - last_keepalive >= st.keepalive_s:
                last_keepalive = loop.time()
                await self.send({"type": "KEEPALIVE", "channel": 0})


class DxServer:
    def __init__(self, state: DxState, max_size: int = 32_768):
        self.state, self.max_size = state, max_size
        self.conns: set[Conn] = set()
        self.stall_new = False  # new connections get no answer at all (hung server)
        self.port = 0
        self._server: Any = None

    async def start(self) -> None:
        self._server = await serve(
            self._handler, "127.0.0.1", 0, max_size=self.max_size, ping_interval=None, compression=None
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handler(self, ws: ServerConnection) -> None:
        conn = Conn(ws, self.state)
        conn.stalled = self.stall_new
        self.state.connections += 1
        self.conns.add(conn)
        ticker = asyncio.get_running_loop().create_task(conn.ticker())
        try:
            async for raw in ws:
                if not conn.stalled:
                    await conn.handle(json.loads(raw))
        except ConnectionClosed:
            pass
        finally:
            ticker.cancel()
            self.conns.discard(conn)

    # --- faults (call on the server loop) ---------------------------------------------------

    async def close_all(self, code: int = 1000, reason: str = "loopback close") -> None:
        for c in list(self.conns):
            await c.ws.close(code, reason)

    async def reset_all(self) -> None:
        """TCP reset: SO_LINGER 0 then abort, so the peer reads ECONNRESET."""
        for c in list(self.conns):
            sock = c.ws.transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            c.ws.transport.abort()

    async def stall_all(self) -> None:
        for c in list(self.conns):
            c.stalled = True

    async def send_all(self, frame: str | bytes) -> None:
        """Send ``frame`` to every connection; one that the client closes meanwhile is skipped
        (a client refusing an oversized frame closes mid-send)."""
        for c in list(self.conns):
            with contextlib.suppress(ConnectionClosed):
                await c.send(frame)
