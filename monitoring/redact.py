"""Keeps secrets out of alerts, logs and reports.

Two nets: the exact values of secret-looking environment variables (and any value the caller
registers, such as apprise URLs, which carry tokens), and patterns that catch credentials in text
nobody registered: ``user:password@`` in URLs, ``token=...``-style pairs and bearer tokens.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

MASK = "***"
_SECRET_NAME = re.compile(
    r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE|CREDENTIAL|ALERT_URLS|APPRISE)", re.I
)
_MIN_SECRET_LEN = 4  # shorter values would mask ordinary words and digits
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(\b[a-z][a-z0-9+.\-]*://)[^/\s:@]+:[^/\s@]+@", re.I), r"\1" + MASK + "@"),
    (
        re.compile(
            r"(?i)\b(password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|auth|session)"
            r"(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;&]+)"
        ),
        r"\1\2" + MASK,
    ),
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=\-]{8,}"), r"\1 " + MASK),
)


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        for s in secrets:
            self.add(s)

    def add(self, secret: str) -> None:
        """Register a value that must never appear in output (ignored if too short to be one)."""
        value = (secret or "").strip()
        if len(value) >= _MIN_SECRET_LEN:
            self._secrets.add(value)

    def __call__(self, text: str) -> str:
        out = str(text)
        for secret in sorted(self._secrets, key=len, reverse=True):  # longest first: no partial leaks
            out = out.replace(secret, MASK)
        for pattern, repl in _PATTERNS:
            out = pattern.sub(repl, out)
        return out


def secrets_from_environment(environ: Mapping[str, str]) -> list[str]:
    """Values of variables whose names say they hold a secret (TASTYTRADE_PASSWORD, *_TOKEN, ...).
    Alert URL lists are split so each URL is masked on its own too."""
    values: list[str] = []
    for name, value in environ.items():
        if _SECRET_NAME.search(name) and value:
            values.append(value)
            values.extend(part for part in re.split(r"[\s,]+", value) if part)
    return values
