"""``python -m sim backtest``'s run, plain or kill-safe (``--state-dir``): one path for both.

A plain run keeps its state in memory.  A kill-safe run keeps it in the state dir - the trading
system's snapshot and journal in ``system/``, the simulated brokerage and market clock in
``world/`` - and resumes from it when run again with the same command.  The state dir is tied to
its run (seed, dates, cash, faults, data, every parameter): another run is refused with one line,
as is a second process on the same dir (a lock).  Nothing the run did not create is deleted.
Outputs go to ``--out``: events.jsonl survives kills like the state (``sim.recorder``), the
reports and ``final.json`` (what a crash must not change) are written when the run ends.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from assembly import build_monitoring
from core.ports import EventSink, StateStore, TradingCalendar
from core.settings import Settings
from monitoring.service import OrderActivity
from sim.broker.faults import FaultConfig
from sim.crash import CrashPoints, no_crash
from sim.engine import MarketSource, RunResult, run_backtest
from sim.platform import SimPlatform
from sim.recorder import RunRecorder
from sim.store import FileStore, MemoryStore, StoreError
from sim.world import WorldError

LOCK_NAME = "lock"


class RunRefused(Exception):
    """The run cannot start or go on (one line for the operator)."""


@dataclass(frozen=True)
class RunPaths:
    out: Path
    state_dir: Path | None = None


def identity(settings: Settings, faults: FaultConfig | None, market: Mapping[str, str]) -> dict[str, str]:
    """What makes two runs the same run: every parameter, the faults, and the market's source."""
    params = json.dumps(settings.as_parameters(), sort_keys=True)
    return {
        "start": settings.start_date,
        "end": settings.end_date,
        "starting_cash": f"{settings.starting_cash:g}",
        "faults": repr(faults) if faults is not None and faults.active else "none",
        "parameters_sha256": hashlib.sha256(params.encode("utf-8")).hexdigest()[:16],
        **{k: str(v) for k, v in sorted(market.items())},
    }


class StateDirLock:
    """An exclusive lock on the state dir for the life of the process (released by the OS on kill)."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / LOCK_NAME
        self._fh: IO[str] | None = None

    def acquire(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fh = self.path.open("a+", encoding="utf-8")
        except OSError as exc:
            raise RunRefused(f"cannot use state dir {self.path.parent}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "?"
            fh.close()
            raise RunRefused(f"state dir {self.path.parent} in use by pid {holder}") from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def prepare_out(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunRefused(f"cannot use output folder {out}: {exc.strerror or exc}") from None


def run(
    settings: Settings,
    market: MarketSource,
    calendar: TradingCalendar,
    paths: RunPaths,
    run_identity: Mapping[str, str],
    progress: Callable[[Iterable[date]], Iterable[date]],
    faults: FaultConfig | None = None,
    environ: Mapping[str, str] = os.environ,
    alerts: bool = False,
    listeners: Sequence[EventSink] = (),
) -> tuple[RunResult, float]:
    """Run or resume; raises ``RunRefused`` with one line when it cannot.  The run's alerts pass the
    alert router either way; with ``alerts`` they also go to ``TOMKING_ALERT_URLS``; ``listeners``
    see every recorded event (the CLI's tally of why nothing traded)."""
    lock = StateDirLock(paths.state_dir) if paths.state_dir is not None else None
    if lock is not None:
        lock.acquire()
    crash = CrashPoints.from_env() if lock is not None else None
    fsync = environ.get("TOMKING_STATE_FSYNC", "1") != "0"
    store: StateStore
    world: StateStore | None
    if paths.state_dir is not None:
        store = FileStore(paths.state_dir / "system", crash, fsync)
        world = FileStore(paths.state_dir / "world", crash, fsync)
    else:
        store, world = MemoryStore(), None
    monitoring_store = FileStore(paths.out, durable=False)  # metrics and health are outputs

    def monitor(platform: SimPlatform, recorder: RunRecorder) -> Any:
        orders = OrderActivity()  # the health snapshot's order clock watches the run's events
        recorder.subscribe(orders)
        for listener in listeners:
            recorder.subscribe(listener)
        # one health snapshot per simulated session: a backtest has no live connections to watch
        return build_monitoring(
            platform, settings, recorder, environ, live=False, connection="sim_broker",
            health_interval=timedelta(hours=12), store=monitoring_store, send=alerts, backtest=True, orders=orders,
        )  # fmt: skip

    began = time.perf_counter()
    try:
        result = run_backtest(
            settings, market, calendar, store, RunRecorder(paths.out / "events.jsonl"), progress,
            monitor=monitor, faults=faults, world_store=world, crash=crash or no_crash,
            identity=run_identity,
        )  # fmt: skip
    except (StoreError, WorldError) as exc:
        raise RunRefused(str(exc)) from None
    except OSError as exc:
        raise RunRefused(f"{exc.filename or 'output'}: {exc.strerror or exc}") from None
    finally:
        if lock is not None:
            lock.release()
    if crash is not None:
        crash.write_counts()
    return result, time.perf_counter() - began


def final_state(result: RunResult) -> dict[str, Any]:
    """What a crash must not change: the trade ledger, the broker's holdings and cash, the orders
    it received, the equity curve."""
    assert result.platform is not None and result.system is not None
    broker = result.platform.broker
    closed = sorted(result.system.book.closed(), key=lambda g: (g.closed_at or datetime.min, g.group_id))
    return {
        "trades": [
            [g.group_id, g.strategy, g.quantity, str(g.opened_at), str(g.closed_at), round(g.entry_price, 6),
             round(g.exit_price, 6), round(g.entry_fees, 4), round(g.exit_fees, 4), g.exit_reason]
            for g in closed
        ],
        "open_groups": sorted(g.group_id for g in result.system.book.live()),
        "positions": {s: [h.quantity, round(h.average_price, 6)] for s, h in sorted(broker.holdings().items())},
        "cash": round(broker.cash, 4),
        "orders_sent": sorted(broker.known_order_tags()),
        "equity": [[p.day.isoformat(), round(p.net_liquidation, 2), round(p.cash, 2)] for p in result.equity],
    }  # fmt: skip


def write_final(path: Path, result: RunResult) -> None:
    path.write_text(json.dumps(final_state(result), indent=1, sort_keys=True), encoding="utf-8")
