"""Is the Tastytrade feature usable here?  Answered without crashing where it is not.

LEAN's image (QuantConnect Cloud, the LEAN-pinned test venv) has neither ``tastytrade`` nor
``websockets``.  Everything in ``brokers/`` that needs them imports them lazily, after asking this
module, so the rest of the system keeps running and reports the feature as unavailable (with the
reason) instead of failing at import time.
"""

from __future__ import annotations

import importlib
import importlib.util
from functools import lru_cache

SDK_VERSION_MAJOR = 13  # the SDK's OAuth session and streamer API used here is the 13.x one


@lru_cache(maxsize=1)
def available() -> tuple[bool, str]:
    """``(True, "tastytrade 13.x")`` when the SDK can be used, else ``(False, reason)``."""
    if importlib.util.find_spec("tastytrade") is None:
        return False, "the tastytrade SDK is not installed (pip install 'tomking-lean[broker]')"
    try:
        sdk = importlib.import_module("tastytrade")
    except Exception as exc:  # a broken install must not take the algorithm down
        return False, f"the tastytrade SDK failed to import: {type(exc).__name__}: {exc}"
    version = str(getattr(sdk, "VERSION", getattr(sdk, "__version__", "0")))
    try:
        major = int(version.split(".")[0])
    except ValueError:
        major = -1
    if major != SDK_VERSION_MAJOR:
        return False, f"tastytrade {version} is installed; this integration needs {SDK_VERSION_MAJOR}.x"
    return True, f"tastytrade {version}"


def require() -> None:
    """Raise ``BrokerUnavailable`` with the reason when the SDK cannot be used."""
    ok, reason = available()
    if not ok:
        raise BrokerUnavailable(reason)


class BrokerUnavailable(RuntimeError):
    """The Tastytrade integration cannot run in this environment (the reason says why)."""
