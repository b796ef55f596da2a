"""Build and authenticate the SDK's ``Session``, and tell refused credentials from outages.

Auth flow of tastytrade 13.x (read from its ``session.py``): ``Session(provider_secret,
refresh_token, is_test)`` makes an httpx2 client on ``API_URL`` (production) or ``CERT_URL``
(sandbox); the first request POSTs ``/oauth/token`` with ``grant_type=refresh_token`` and keeps the
returned ``access_token`` as a Bearer header until ``expires_in`` runs out.  ``GET
/api-quote-tokens`` then yields the DXLink URL and streamer token.

The SDK turns every non-2xx answer into the same ``TastytradeError``, so we cannot tell "your
credentials were refused" (permanent: retrying forever only locks the account) from "the server
had a bad minute" (retry with backoff).  An httpx response hook records the status of each
request (method, path and status only: no headers, no bodies) and ``authenticate`` classifies by
that.  The same hook registers every token the moment it arrives (access and refresh tokens from
``/oauth/token``, the streamer token from ``/api-quote-tokens``) with the redactor, before the SDK
or a server echo could put one into a log line, an error or an alert.  The SDK's own logger is turned down to INFO: at DEBUG it formats every market-data message.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import TYPE_CHECKING, Any

from brokers.availability import require
from brokers.credentials import Credentials, install_log_redaction, redact, register_secret

if TYPE_CHECKING:
    from tastytrade import Session

LOG = logging.getLogger("brokers")

TOKEN_PATH = "/oauth/token"
QUOTE_TOKEN_PATH = "/api-quote-tokens"
REFUSED = frozenset({400, 401, 403})  # OAuth: invalid_grant / invalid_client / forbidden
SDK_LOG_LEVEL = logging.INFO  # the SDK's own logger; DEBUG formats every market-data message


class AuthRefused(RuntimeError):
    """The broker refused our credentials.  Permanent until someone fixes them."""


class BrokerTransient(RuntimeError):
    """The broker could not be reached or answered with a server-side error; retry later."""


class ResponseRecorder:
    """Keeps (method, path, status) of the last responses, for error classification."""

    def __init__(self, size: int = 32):
        self._items: deque[tuple[str, str, int]] = deque(maxlen=size)

    async def hook(self, response: Any) -> None:
        req = response.request
        path, status = req.url.path, response.status_code
        self._items.append((req.method, path, status))
        if status // 100 == 2 and path.endswith((TOKEN_PATH, QUOTE_TOKEN_PATH)):
            await register_tokens(response)

    def last_status(self, path_suffix: str) -> int | None:
        for _method, path, status in reversed(self._items):
            if path.endswith(path_suffix):
                return status
        return None


async def register_tokens(response: Any) -> None:
    """Register the tokens in a token endpoint's JSON answer (``{"access_token": ...}`` or
    ``{"data": {"token": ...}}``) as secrets; an unreadable body registers nothing."""
    try:
        await response.aread()
        body = response.json()
    except Exception:  # the SDK reports a bad body itself; this hook must never break the call
        return
    for part in (body, body.get("data") if isinstance(body, dict) else None):
        if isinstance(part, dict):
            for key in ("access_token", "refresh_token", "id_token", "token"):
                value = part.get(key)
                if isinstance(value, str):
                    register_secret(value)


def configure_sdk_logging(level: int | None = None) -> None:
    """The SDK sets its logger to DEBUG at import; DEBUG records cost time on every message."""
    logging.getLogger("tastytrade").setLevel(SDK_LOG_LEVEL if level is None else level)
    install_log_redaction()


def open_session(
    credentials: Credentials, recorder: ResponseRecorder | None = None, **client_kwargs: Any
) -> Session:
    """A tastytrade ``Session`` for ``credentials`` (production or sandbox).  Create it on the
    event loop that will use it.  ``client_kwargs`` go to httpx2 (``timeout``, ``trust_env``...)."""
    require()
    from tastytrade import Session

    configure_sdk_logging()
    if recorder is not None:
        hooks = dict(client_kwargs.pop("event_hooks", {}) or {})
        hooks["response"] = [*hooks.get("response", []), recorder.hook]
        client_kwargs["event_hooks"] = hooks
    client_kwargs.setdefault("timeout", 10.0)
    return Session(
        provider_secret=credentials.provider_secret,
        refresh_token=credentials.refresh_token,
        is_test=credentials.sandbox,
        **client_kwargs,
    )


async def authenticate(session: Session, recorder: ResponseRecorder) -> None:
    """Exchange the refresh token for an access token now, classifying failures:
    ``AuthRefused`` (HTTP 400/401/403 on the token endpoint) or ``BrokerTransient``."""
    import httpx2

    try:
        await session.refresh(force=True)
    except httpx2.TransportError as exc:
        raise BrokerTransient(f"token endpoint unreachable: {type(exc).__name__}") from None
    except Exception as exc:
        status = recorder.last_status(TOKEN_PATH)
        detail = redact(str(exc)).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        if status in REFUSED:
            raise AuthRefused(f"Tastytrade refused the credentials (HTTP {status}): {detail}") from None
        raise BrokerTransient(f"token refresh failed (HTTP {status}): {detail}") from None
    register_secret(session.session_token)


def classify(exc: BaseException, recorder: ResponseRecorder | None) -> tuple[bool, str]:
    """``(permanent, reason)`` for an exception out of a session or streamer call."""
    leaves = _leaves(exc)
    for leaf in leaves:
        if isinstance(leaf, AuthRefused):
            return True, str(leaf)
    if recorder is not None:
        status = recorder.last_status(QUOTE_TOKEN_PATH)
        if status in (401, 403) and any(_is_sdk_error(e) for e in leaves):
            return True, f"streamer token refused (HTTP {status})"
    leaf = leaves[0] if leaves else exc
    text = redact(str(leaf)).strip().splitlines()[0][:200] if str(leaf).strip() else ""
    return False, f"{type(leaf).__name__}: {text}" if text else type(leaf).__name__


def _is_sdk_error(exc: BaseException) -> bool:
    return type(exc).__name__ == "TastytradeError"


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        out: list[BaseException] = []
        for e in exc.exceptions:
            out.extend(_leaves(e))
        return out
    return [exc]
