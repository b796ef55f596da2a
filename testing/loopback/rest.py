"""A small HTTP/1.1 server speaking the slice of Tastytrade's REST API the SDK uses.

Routes (as called by tastytrade 13.2.3): ``POST /oauth/token`` (refresh-token grant),
``GET /api-quote-tokens`` (DXLink URL + token), ``GET /customers/me/accounts[/{n}]``,
``GET /accounts/{n}/positions``, ``GET /accounts/{n}/balances/USD``,
``POST /accounts/{n}/orders[/dry-run]``.  Bodies follow the API's dasherized JSON with the
``{"data": ...}`` envelope; errors use ``{"error": {"code", "message"}}`` (API) or RFC 6749
``{"error", "error_description"}`` (token endpoint).  Plain asyncio streams, keep-alive, no deps.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

ACCOUNT = "5WT00001"
NOW = "2025-03-07T15:00:00.000+00:00"


def account_json(number: str = ACCOUNT) -> dict[str, Any]:
    return {
        "account-number": number,
        "opened-at": NOW,
        "nickname": "Loopback",
        "account-type-name": "Individual",
        "is-closed": False,
        "day-trader-status": False,
        "is-firm-error": False,
        "is-firm-proprietary": False,
        "is-futures-approved": True,
        "margin-or-cash": "Margin",
        "is-foreign": False,
        "created-at": NOW,
    }


def balances_json(number: str, cash: float, nlv: float) -> dict[str, Any]:
    zero = "0.0"
    data: dict[str, Any] = {
        k: zero
        for k in [
            "long-equity-value",
            "short-equity-value",
            "long-derivative-value",
            "short-derivative-value",
            "long-futures-value",
            "short-futures-value",
            "long-futures-derivative-value",
            "short-futures-derivative-value",
            "long-margineable-value",
            "short-margineable-value",
            "margin-equity",
            "equity-buying-power",
            "derivative-buying-power",
            "day-trading-buying-power",
            "futures-margin-requirement",
            "available-trading-funds",
            "maintenance-requirement",
            "maintenance-call-value",
            "reg-t-call-value",
            "day-trading-call-value",
            "day-equity-call-value",
            "cash-available-to-withdraw",
            "day-trade-excess",
            "pending-cash",
            "long-cryptocurrency-value",
            "short-cryptocurrency-value",
            "cryptocurrency-margin-requirement",
            "unsettled-cryptocurrency-fiat-amount",
            "closed-loop-available-balance",
            "equity-offering-margin-requirement",
            "long-bond-value",
            "bond-margin-requirement",
            "used-derivative-buying-power",
            "reg-t-margin-requirement",
            "futures-overnight-margin-requirement",
            "futures-intraday-margin-requirement",
            "maintenance-excess",
            "pending-margin-interest",
            "effective-cryptocurrency-buying-power",
        ]
    }
    data.update(
        {
            "account-number": number,
            "cash-balance": str(cash),
            "net-liquidating-value": str(nlv),
            "snapshot-date": "2025-03-07",
            "updated-at": NOW,
        }
    )
    return data


def position_json(symbol: str, instrument_type: str, quantity: float, underlying: str, **extra: Any) -> dict:
    data = {
        "account-number": ACCOUNT,
        "symbol": symbol,
        "instrument-type": instrument_type,
        "underlying-symbol": underlying,
        "quantity": str(abs(quantity)),
        "quantity-direction": "Long" if quantity > 0 else ("Short" if quantity < 0 else "Zero"),
        "close-price": "1.0",
        "average-open-price": "1.0",
        "multiplier": "100",
        "cost-effect": "Credit",
        "is-suppressed": False,
        "is-frozen": False,
        "realized-day-gain": "0.0",
        "realized-today": "0.0",
        "created-at": NOW,
        "updated-at": NOW,
    }
    data.update(extra)
    return data


@dataclass
class RestState:
    provider_secret: str
    refresh_token: str
    ws_url: str = ""
    access_token: str = "loopback-access-token-0001"
    dxlink_token: str = "loopback-dxlink-token-0001"
    account: str = ACCOUNT
    token_status: int | None = None  # set to 400/401 to refuse the OAuth grant, 500 for an outage
    quote_token_status: int | None = None
    positions: list[dict[str, Any]] = field(default_factory=list)
    cash: float = 50_000.0
    nlv: float = 100_000.0
    orders: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (path, body)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path)


class RestServer:
    def __init__(self, state: RestState):
        self.state = state
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for w in list(self._writers):
                w.close()
            await self._server.wait_closed()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                method, target, _ = line.decode("latin-1").split(" ", 2)
                headers: dict[str, str] = {}
                while (h := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    k, _, v = h.decode("latin-1").partition(":")
                    headers[k.strip().lower()] = v.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
                status, payload = self.route(method, target.split("?")[0], headers, body)
                raw = json.dumps(payload).encode()
                writer.write(
                    f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(raw)}\r\n\r\n".encode()
                    + raw
                )
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            return
        finally:
            self._writers.discard(writer)
            writer.close()

    def route(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        st = self.state
        st.requests.append((method, path))
        if method == "POST" and path == "/oauth/token":
            grant = json.loads(body or b"{}")
            if st.token_status is not None:
                return st.token_status, {"error": "invalid_grant", "error_description": "Grant refused"}
            if (
                grant.get("client_secret") != st.provider_secret
                or grant.get("refresh_token") != st.refresh_token
            ):
                return 401, {"error": {"code": "invalid_credentials", "message": "Invalid credentials"}}
            return 200, {"access_token": st.access_token, "token_type": "Bearer", "expires_in": 900}
        if headers.get("authorization") != f"Bearer {st.access_token}":
            return 401, {"error": {"code": "unauthorized", "message": "Unauthorized"}}
        if path == "/api-quote-tokens":
            if st.quote_token_status is not None:
                err = {"code": "quote_streamer.customer_not_found_error", "message": "not a customer"}
                return st.quote_token_status, {"error": err}
            return 200, {"data": {"token": st.dxlink_token, "dxlink-url": st.ws_url, "level": "api"}}
        if path == "/customers/me/accounts":
            return 200, {
                "data": {"items": [{"account": account_json(st.account), "authority-level": "owner"}]}
            }
        if path == f"/customers/me/accounts/{st.account}":
            return 200, {"data": account_json(st.account)}
        if path == f"/accounts/{st.account}/positions":
            return 200, {"data": {"items": st.positions}}
        if path == f"/accounts/{st.account}/balances/USD":
            return 200, {"data": balances_json(st.account, st.cash, st.nlv)}
        if method == "POST" and path.startswith(f"/accounts/{st.account}/orders"):
            order = json.loads(body)
            st.orders.append((path, order))
            return 200, {"data": _placed(st.account, order, path.endswith("dry-run"), len(st.orders))}
        return 404, {"error": {"code": "not_found", "message": path}}


def _placed(account: str, order: dict[str, Any], dry_run: bool, n: int) -> dict[str, Any]:
    placed = {
        "account-number": account,
        "time-in-force": order.get("time-in-force", "Day"),
        "order-type": order["order-type"],
        "underlying-symbol": order["legs"][0]["symbol"].split()[0],
        "underlying-instrument-type": order["legs"][0]["instrument-type"],
        "status": "Received",
        "cancellable": True,
        "editable": True,
        "edited": False,
        "updated-at": NOW,
        "legs": order["legs"],
        "price": order.get("price"),
        "price-effect": order.get("price-effect"),
    }
    if not dry_run:
        placed["id"] = 1000 + n
    bpe: dict[str, Any] = {
        k: "0.0"
        for k in [
            "change-in-margin-requirement",
            "change-in-buying-power",
            "current-buying-power",
            "new-buying-power",
            "isolated-order-margin-requirement",
            "impact",
        ]
    }
    bpe.update({"is-spread": False, "effect": "None"})
    return {"order": placed, "buying-power-effect": bpe, "warnings": []}
