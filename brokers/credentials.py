"""Tastytrade OAuth credentials, from the environment or LEAN's config, and nowhere else.

Tastytrade's API (SDK 13.x) authenticates with an OAuth *provider secret* and a long-lived *refresh
token*; the SDK exchanges them for a short-lived access token.  Both are secrets: they are read
only from environment variables or from LEAN's own config values (never from files in the repo),
and they never reach logs, state, reports or alerts.  The ``repr`` is redacted, and every secret
seen at run time (including access and streamer tokens) is registered with ``redact`` so a
``RedactingFilter`` can scrub it from any log record or message that would otherwise carry it.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

ENV_SECRET = "TASTYTRADE_PROVIDER_SECRET"
ENV_REFRESH = "TASTYTRADE_REFRESH_TOKEN"
ENV_SANDBOX = "TASTYTRADE_SANDBOX"
ENV_ACCOUNT = "TASTYTRADE_ACCOUNT_NUMBER"

# LEAN config keys (``lean.json`` / ``config.json`` values handed over by the adapter).
CFG_SECRET = ("tastytrade-provider-secret", "tastytrade-client-secret")
CFG_REFRESH = ("tastytrade-refresh-token",)
CFG_SANDBOX = ("tastytrade-sandbox",)
CFG_ENVIRONMENT = ("tastytrade-environment",)  # "sandbox" / "cert" / "paper" or "live" / "production"
CFG_ACCOUNT = ("tastytrade-account-number",)
CFG_API_URL = ("tastytrade-api-url",)  # LEAN's brokerage setting: a cert URL means sandbox

_TRUE = {"1", "true", "yes", "y", "on"}
_FALSE = {"0", "false", "no", "n", "off", ""}
_MIN_SECRET_LEN = 6  # shorter strings would redact ordinary text


class CredentialsError(ValueError):
    """Credentials are missing or malformed.  The message names variables, never values."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """What the SDK session needs.  ``sandbox`` selects Tastytrade's cert environment."""

    provider_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)
    sandbox: bool = False
    account_number: str | None = None

    def __post_init__(self) -> None:
        for name in ("provider_secret", "refresh_token"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise CredentialsError(f"{name} is empty")
        register_secret(self.provider_secret)
        register_secret(self.refresh_token)

    def __repr__(self) -> str:
        account = "None" if self.account_number is None else _mask(self.account_number)
        env = "sandbox" if self.sandbox else "production"
        return f"Credentials(provider_secret=***, refresh_token=***, environment={env}, account={account})"

    __str__ = __repr__

    @property
    def environment(self) -> str:
        return "sandbox" if self.sandbox else "production"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Credentials:
        """Read ``TASTYTRADE_PROVIDER_SECRET``, ``TASTYTRADE_REFRESH_TOKEN`` and optionally
        ``TASTYTRADE_SANDBOX`` (1/true/yes) and ``TASTYTRADE_ACCOUNT_NUMBER``."""
        env = os.environ if environ is None else environ
        missing = [n for n in (ENV_SECRET, ENV_REFRESH) if not env.get(n, "").strip()]
        if missing:
            raise CredentialsError(f"missing environment variable(s): {', '.join(missing)}")
        return cls(
            provider_secret=env[ENV_SECRET].strip(),
            refresh_token=env[ENV_REFRESH].strip(),
            sandbox=_flag(env.get(ENV_SANDBOX, ""), ENV_SANDBOX),
            account_number=(env.get(ENV_ACCOUNT) or "").strip() or None,
        )

    @classmethod
    def from_config(cls, values: Mapping[str, object]) -> Credentials:
        """Read LEAN config values (``tastytrade-provider-secret``, ``tastytrade-refresh-token``,
        ``tastytrade-sandbox`` or ``tastytrade-environment``, ``tastytrade-account-number``); without
        an explicit environment, LEAN's ``tastytrade-api-url`` pointing at the cert API means sandbox."""
        secret = _first(values, CFG_SECRET)
        refresh = _first(values, CFG_REFRESH)
        missing = [keys[0] for keys, v in ((CFG_SECRET, secret), (CFG_REFRESH, refresh)) if not v]
        if missing:
            raise CredentialsError(f"missing LEAN config value(s): {', '.join(missing)}")
        sandbox_raw = _first(values, CFG_SANDBOX)
        environment = _first(values, CFG_ENVIRONMENT).lower()
        if sandbox_raw:
            sandbox = _flag(sandbox_raw, CFG_SANDBOX[0])
        elif environment:
            if environment not in {"sandbox", "cert", "paper", "live", "production"}:
                raise CredentialsError(f"{CFG_ENVIRONMENT[0]} must be sandbox or production")
            sandbox = environment in {"sandbox", "cert", "paper"}
        else:
            sandbox = ".cert." in _first(values, CFG_API_URL).lower()
        return cls(secret, refresh, sandbox, _first(values, CFG_ACCOUNT) or None)

    @classmethod
    def load(cls, config: Mapping[str, object] | None = None, environ: Mapping[str, str] | None = None):
        """Environment first (deployments override config), then LEAN config."""
        env = os.environ if environ is None else environ
        if env.get(ENV_SECRET) or env.get(ENV_REFRESH):
            return cls.from_env(env)
        if config:
            return cls.from_config(config)
        raise CredentialsError(
            f"no Tastytrade credentials: set {ENV_SECRET} and {ENV_REFRESH} "
            f"(or LEAN config {CFG_SECRET[0]} and {CFG_REFRESH[0]})"
        )


def _first(values: Mapping[str, object], keys: tuple[str, ...]) -> str:
    for k in keys:
        v = values.get(k)
        if v is not None and str(v).strip():
            return str(v).strip()
    return ""


def _flag(raw: str, name: str) -> bool:
    v = raw.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise CredentialsError(f"{name} must be a boolean (1/0, true/false)")


def _mask(value: str) -> str:
    return value[:2] + "***" if len(value) > 4 else "***"


# --- redaction -------------------------------------------------------------------------------

_SECRETS: set[str] = set()
_SECRETS_LOCK = threading.Lock()


def register_secret(value: str | None) -> None:
    """Remember a secret value (credential or token) so ``redact`` scrubs it everywhere."""
    if value and len(value) >= _MIN_SECRET_LEN:
        with _SECRETS_LOCK:
            _SECRETS.add(value)


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by ``***``."""
    if not _SECRETS:
        return text
    with _SECRETS_LOCK:
        secrets = sorted(_SECRETS, key=len, reverse=True)
    for s in secrets:
        if s in text:
            text = text.replace(s, "***")
    return text


class RedactingFilter(logging.Filter):
    """Scrubs registered secrets from records at WARNING and above, and at any level on the
    ``brokers`` and ``tastytrade`` loggers: the SDK logs every server message at DEBUG, and a
    server may echo the streamer token in one.  (The SDK's logger runs at INFO unless someone turns
    it up to debug, so formatting its per-message DEBUG records here costs nothing in production;
    httpx2's DEBUG records name requests, never bodies or headers.)"""

    def filter(self, record: logging.LogRecord) -> bool:
        if _SECRETS and (record.levelno >= logging.WARNING or record.name.startswith(_ALWAYS)):
            message = record.getMessage()
            clean = redact(message)
            if clean != message:
                record.msg, record.args = clean, None
        return True


_ALWAYS = ("brokers", "tastytrade")


def install_log_redaction(*names: str) -> None:
    """Attach one ``RedactingFilter`` to each named logger (idempotent)."""
    # A logger's filters see only records logged on that very logger, so children are listed.
    default = (
        "brokers",
        "tastytrade",
        "httpx2",
        *(f"httpcore2.{n}" for n in ("connection", "http11", "http2")),
    )
    for name in names or default:
        lg = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in lg.filters):
            lg.addFilter(RedactingFilter())
