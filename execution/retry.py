"""Rejections classified (retry or give up) and the capped, jittered exponential backoff.

A rejection that another try cannot fix (buying power, an invalid order, a closed account or a
restriction) is permanent: re-sending it only spams the broker and may trip its own limits.
Anything that reads like a busy or unreachable broker is transient.  A message we do not recognise
is treated as permanent for orders that add risk (fail closed) and transient for orders that reduce
it (a position that must close keeps trying, within the attempt limit).
"""

from __future__ import annotations

import random
import re
from datetime import timedelta
from enum import StrEnum

_PERMANENT = re.compile(
    r"insufficient|buying power|margin|invalid|not allowed|not permitted|restricted|closing only|"
    r"duplicate|unknown symbol|no such|halted|expired|account",
    re.IGNORECASE,
)
_TRANSIENT = re.compile(
    r"timeout|timed out|temporar|busy|rate limit|throttl|try again|unavailable|connection|disconnect|"
    r"gateway|internal error|server error|5\d\d|reject.*retry",
    re.IGNORECASE,
)


class Rejection(StrEnum):
    TRANSIENT = "transient"
    PERMANENT = "permanent"


def classify_rejection(message: str, reduces_risk: bool = False) -> Rejection:
    if _PERMANENT.search(message or ""):
        return Rejection.PERMANENT
    if _TRANSIENT.search(message or ""):
        return Rejection.TRANSIENT
    return Rejection.TRANSIENT if reduces_risk else Rejection.PERMANENT


def backoff_delay(
    attempt: int, base: timedelta, cap: timedelta, jitter: float, rng: random.Random
) -> timedelta:
    """Delay before send number ``attempt + 1`` (``attempt`` >= 1 sends have failed).

    ``min(cap, base * 2**(attempt-1))`` with the ``jitter`` share of it drawn uniformly, so
    many groups rejected together do not all come back at the same instant.
    """
    if attempt < 1:
        return timedelta(0)
    full = min(cap.total_seconds(), base.total_seconds() * 2 ** min(attempt - 1, 30))
    fixed = full * (1.0 - jitter)
    return timedelta(seconds=fixed + rng.uniform(0.0, full * jitter))
