"""``run.log``: every line carries the simulated time of the step being run beside the wall time,
so a warning names its trading day.

The engine asks its market for each step's snapshot before it advances the platform's clock to
that time, so a market wrapped in ``ClockedMarket`` knows the simulated time of every step in both
the plain and the resumable loop.  Python warnings go to the log too, not to the terminal.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from core.types import MarketSnapshot

if TYPE_CHECKING:
    from sim.engine import MarketSource

LOG_FORMAT = "%(asctime)s sim=%(sim_time)s %(levelname)s %(name)s %(message)s"


class ClockedMarket:
    """A market source that remembers the simulated time of the last step the engine asked for."""

    def __init__(self, source: MarketSource) -> None:
        self.source = source
        self.now: datetime | None = None

    def trading_days(self) -> list[date]:
        return self.source.trading_days()

    def step_times(self, day: date) -> list[datetime]:
        return self.source.step_times(day)

    def snapshot_at(self, t: datetime) -> MarketSnapshot:
        self.now = t
        return self.source.snapshot_at(t)


class SimTimeFilter(logging.Filter):
    """Adds ``sim_time`` (``2025-03-04T10:05``, or ``-`` before the first step) to each record."""

    def __init__(self, market: ClockedMarket | None = None) -> None:
        super().__init__()
        self.market = market

    def filter(self, record: logging.LogRecord) -> bool:
        now = self.market.now if self.market is not None else None
        record.sim_time = now.isoformat(timespec="minutes") if now is not None else "-"
        return True


@contextlib.contextmanager
def run_log(path: Path, sim_time: SimTimeFilter) -> Iterator[None]:
    """INFO and above into ``path`` (overwritten) for the duration of one run."""
    handler = logging.FileHandler(path, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(sim_time)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)
    try:
        yield
    finally:
        logging.captureWarnings(False)
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()
