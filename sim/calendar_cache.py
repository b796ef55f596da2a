"""An on-disk copy of the exchange calendar's sessions: one JSON file per exchange, year and
``exchange_calendars`` release.

Why: building XNYS sessions means importing exchange_calendars (and pandas with it) and evaluating
its holiday rules, about 0.9 s of CPU: most of a short backtest's fixed cost, paid again by every
process of a study.  A year's sessions change only with the library release, so the release is
part of the file name (another release reads and writes other files); ``CBOE_OVERRIDES`` are
applied after reading and never stored.  A malformed file is logged and rebuilt from the library;
a folder that cannot be written is logged once and the run goes on without the copy.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Callable, Mapping
from datetime import date, datetime
from importlib import metadata
from pathlib import Path

log = logging.getLogger("sim.calendar")

FORMAT = 1
CACHE_ENV = "TOMKING_CACHE_DIR"
Sessions = dict[date, tuple[datetime, datetime]]


def default_cache_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """``$TOMKING_CACHE_DIR``, else ``$XDG_CACHE_HOME/tomking``, else ``~/.cache/tomking``."""
    if environ.get(CACHE_ENV):
        return Path(environ[CACHE_ENV])
    base = Path(environ["XDG_CACHE_HOME"]) if environ.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return base / "tomking"


def installed_library_version() -> str | None:
    """The installed exchange_calendars release, or None when it is not installed."""
    try:
        return metadata.version("exchange_calendars")
    except metadata.PackageNotFoundError:
        return None


class SessionCache:
    """Sessions of one exchange and year, as the library built them (before any override)."""

    def __init__(self, folder: Path, library_version: Callable[[], str | None] | None = None):
        self._folder = folder
        self._version = (library_version or installed_library_version)()
        self._unwritable = False

    def load(self, exchange: str, year: int) -> Sessions | None:
        """None when there is no usable copy (absent, another release, malformed: logged)."""
        path = self._path(exchange, year)
        if path is None or not path.is_file():
            return None
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            key = (doc["format"], doc["exchange"], doc["year"], doc["library"])
            if key != (FORMAT, exchange, year, self._version):
                raise ValueError(f"written for {key}")
            sessions = {}
            for day, opens, closes in doc["sessions"]:
                d, o, c = (
                    date.fromisoformat(day),
                    datetime.fromisoformat(opens),
                    datetime.fromisoformat(closes),
                )
                if d.year != year or not o.date() == c.date() == d or not o < c:
                    raise ValueError(f"bad session {day} {opens}..{closes}")
                sessions[d] = (o, c)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("calendar cache %s unreadable (%s): rebuilt from exchange_calendars", path, exc)
            return None
        return sessions

    def store(self, exchange: str, year: int, sessions: Sessions) -> None:
        path = self._path(exchange, year)
        if path is None or self._unwritable:
            return
        rows = [[d.isoformat(), o.isoformat(), c.isoformat()] for d, (o, c) in sorted(sessions.items())]
        doc = {
            "format": FORMAT,
            "exchange": exchange,
            "year": year,
            "library": self._version,
            "sessions": rows,
        }
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(doc, separators=(",", ":")) + "\n", encoding="utf-8")
            os.replace(tmp, path)  # readers see the old file or the whole new one
        except OSError as exc:
            self._unwritable = True
            log.warning("calendar cache %s not writable (%s): sessions are not cached", self._folder, exc)
            with contextlib.suppress(OSError):
                tmp.unlink()

    def _path(self, exchange: str, year: int) -> Path | None:
        if self._version is None:  # no library: nothing to trust a copy against
            return None
        return self._folder / f"sessions-{exchange}-{year}-exchange_calendars-{self._version}.json"
