"""A backtest that can be killed at any instant and resumed: ``python -m sim backtest --state-dir``.

Two separate durable stores, as in real life:

* ``<state-dir>/world`` plays the brokerage and the market clock: the simulated broker's cash,
  holdings and working orders, the order events it produced that the system has not consumed yet
  (the outbox), the step the market is at, and the equity curve.  It is saved after every broker
  action and every consumed event, so it is always at least as far along as the system.
* ``<state-dir>/system`` is the trading system's own state (``persistence.StateManager``:
  snapshot + journal), from which it recovers and which it reconciles against the broker.

On restart the market resumes at the saved step; an interrupted step or event is delivered again
and the system, recovered to its last stable point, re-derives the same decisions (orders the
broker already has are re-attached, never sent twice).  The market is a pure function of its
configuration and the time, so the resumed run sees exactly the quotes the first run saw.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Callable, Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from assembly import build_system
from core.book import contract_from_json, contract_to_json
from core.ports import MarginModel, StateStore, TradingCalendar
from core.settings import Settings
from core.system import TradingSystem
from core.types import ComboOrder, Leg, LegFill, OrderEvent, OrderStatus, SecurityKind
from persistence import StateManager
from persistence.codec import StateError, decode, encode
from sim.broker import SimBroker, SimMargin, TastytradeFees
from sim.broker.book import Position
from sim.broker.broker import _Working
from sim.engine import EquityPoint, MarketSource, RunResult
from sim.exact_state import register_exact_sections
from sim.platform import SimPlatform
from sim.recorder import RunRecorder
from sim.store import FileStore

WORLD_KEY = "world.json"
WORLD_KIND = "sim-world"


class CrashPoints:
    """Chaos injection: SIGKILL this process at the N-th crash point passed (``TOMKING_CHAOS_KILL_AT``),
    optionally counting only points whose name starts with ``TOMKING_CHAOS_KIND``."""

    def __init__(self, kill_at: int = 0, kind: str = "") -> None:
        self.kill_at, self.kind, self.passed = kill_at, kind, 0
        self.counts: dict[str, int] = {}  # points passed per kind prefix ("submit", "store", ...)
        self.by_step: list[tuple[int, dict[str, int]]] = []  # (world steps, counts) at each day end

    @classmethod
    def from_env(cls) -> CrashPoints | None:
        at = int(os.environ.get("TOMKING_CHAOS_KILL_AT", "0") or 0)
        counting = bool(os.environ.get("TOMKING_CHAOS_COUNT"))
        return cls(at, os.environ.get("TOMKING_CHAOS_KIND", "")) if at > 0 or counting else None

    def __call__(self, name: str) -> None:
        prefix = name.split(".", 1)[0]
        self.counts[prefix] = self.counts.get(prefix, 0) + 1
        self.counts[""] = self.counts.get("", 0) + 1
        if self.kind and not name.startswith(self.kind):
            return
        self.passed += 1
        if self.passed == self.kill_at:
            if os.environ.get("TOMKING_CHAOS_DEBUG"):  # where exactly, for replaying a failure
                import traceback

                print(f"chaos kill at {name}:\n{''.join(traceback.format_stack()[-8:-1])}", file=sys.stderr)
                sys.stderr.flush()
            os.kill(os.getpid(), signal.SIGKILL)

    def day_done(self, steps: int) -> None:
        self.by_step.append((steps, dict(self.counts)))


def _noop(name: str) -> None:
    return None


# --- serialising the simulated brokerage -------------------------------------------------------------
def _order_json(o: ComboOrder) -> dict[str, Any]:
    return {
        "tag": o.tag,
        "legs": [{"contract": contract_to_json(x.contract), "ratio": x.ratio} for x in o.legs],
        "quantity": o.quantity,
        "limit": o.limit_price,
        "submitted": o.submitted.isoformat(),
    }


def _order_from(d: dict[str, Any]) -> ComboOrder:
    legs = tuple(Leg(contract_from_json(x["contract"]), int(x["ratio"])) for x in d["legs"])
    return ComboOrder(
        d["tag"], legs, int(d["quantity"]), float(d["limit"]), datetime.fromisoformat(d["submitted"])
    )


def _event_json(e: OrderEvent) -> dict[str, Any]:
    return {
        "tag": e.tag,
        "status": e.status.value,
        "time": e.time.isoformat(),
        "message": e.message,
        "event_id": getattr(e, "event_id", ""),
        "fills": [
            {"contract": contract_to_json(f.contract), "quantity": f.quantity, "price": f.price, "fee": f.fee}
            for f in e.fills
        ],
    }


def _event_from(d: dict[str, Any]) -> OrderEvent:
    fills = tuple(
        LegFill(contract_from_json(f["contract"]), int(f["quantity"]), float(f["price"]), float(f["fee"]))
        for f in d["fills"]
    )
    extra = (
        {"event_id": d["event_id"]}
        if d.get("event_id") and "event_id" in OrderEvent.__dataclass_fields__
        else {}
    )
    return OrderEvent(
        d["tag"], OrderStatus(d["status"]), datetime.fromisoformat(d["time"]), fills, d["message"], **extra
    )


def broker_to_json(broker: SimBroker) -> dict[str, Any]:
    book = broker.book
    return {
        "cash": book.cash,
        "positions": [
            {
                "symbol": p.symbol,
                "kind": p.kind.value,
                "multiplier": p.multiplier,
                "quantity": p.quantity,
                "average_price": p.average_price,
                "contract": None if p.contract is None else contract_to_json(p.contract),
            }
            for p in book.positions()
        ],
        "marks": dict(sorted(book._marks.items())),
        "working": [
            {"order": _order_json(w.order), "reserved": w.reserved} for w in broker._working.values()
        ],
        "known_tags": sorted(broker._known_tags),
    }


def broker_load(broker: SimBroker, d: dict[str, Any]) -> None:
    book = broker.book
    book.cash = float(d["cash"])
    book._positions = {
        p["symbol"]: Position(
            p["symbol"],
            SecurityKind(p["kind"]),
            float(p["multiplier"]),
            float(p["quantity"]),
            float(p["average_price"]),
            None if p["contract"] is None else contract_from_json(p["contract"]),
        )
        for p in d["positions"]
    }
    book._marks = {str(k): float(v) for k, v in d["marks"].items()}
    broker._working = {}
    for w in d["working"]:
        order = _order_from(w["order"])
        broker._working[order.tag] = _Working(order, float(w["reserved"]))
    broker._known_tags = set(d["known_tags"])


class World:
    """The brokerage's durable state plus the market cursor (day index, step index, phase)."""

    def __init__(self, store: StateStore, broker: SimBroker, platform: DurableSimPlatform) -> None:
        self.store, self.broker, self.platform = store, broker, platform
        self.day, self.step, self.phase, self.steps = 0, 0, "start", 0
        self.equity: list[EquityPoint] = []

    def load(self) -> bool:
        raw = self.store.load(WORLD_KEY)
        if raw is None:
            return False
        try:
            _, d = decode(raw, WORLD_KIND, 1, WORLD_KEY)
        except StateError as exc:  # the simulated brokerage itself is never allowed to be lost
            raise SystemExit(f"sim world state unusable ({exc.code}): {exc}") from None
        broker_load(self.broker, d["broker"])
        self.platform.queue([_event_from(e) for e in d["outbox"]])
        self.day, self.step, self.phase, self.steps = d["day"], d["step"], d["phase"], d["steps"]
        self.equity = [EquityPoint(date.fromisoformat(e[0]), e[1], e[2], e[3]) for e in d["equity"]]
        return True

    def save(self) -> None:
        body = {
            "broker": broker_to_json(self.broker),
            "outbox": [_event_json(e) for e in self.platform._pending],
            "day": self.day,
            "step": self.step,
            "phase": self.phase,
            "steps": self.steps,
            "equity": [
                [p.day.isoformat(), p.net_liquidation, p.cash, p.buying_power_used] for p in self.equity
            ],
        }
        self.store.save(WORLD_KEY, encode(WORLD_KIND, 1, body))

    def deliver(self, system: TradingSystem, crash: Callable[[str], None]) -> None:
        """Hand queued events to the system one at a time; each leaves the outbox only once consumed."""
        for _ in range(10_000):
            if not self.platform._pending:
                return
            event = self.platform._pending[0]
            system.on_order_event(event)
            crash("deliver.consumed")
            self.platform._pending.pop(0)
            self.save()
        raise RuntimeError("order events kept generating new events: a feedback loop in execution")


class DurableSimPlatform(SimPlatform):
    """``SimPlatform`` whose broker actions are durable the moment they happen, like a brokerage's."""

    def __init__(
        self,
        calendar: TradingCalendar,
        store: StateStore,
        broker: SimBroker,
        margin: MarginModel,
        crash: Callable[[str], None],
    ) -> None:
        super().__init__(calendar, store, broker, margin)
        self.world: World | None = None
        self._crash = crash

    def submit_combo(self, order: ComboOrder) -> None:
        self._crash("submit.before_broker")
        super().submit_combo(order)
        self._crash("submit.after_broker")
        self._save()

    def cancel(self, tag: str) -> None:
        self._crash("cancel.before_broker")
        super().cancel(tag)
        self._crash("cancel.after_broker")
        self._save()

    def undelivered_order_tags(self) -> list[str]:
        """Orders whose final event is in the outbox, not yet handed to the system."""
        final = (OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED)
        return sorted({e.tag for e in self._pending if e.status in final})

    def known_order_tags(self) -> list[str]:
        """Every order the broker ever accepted (its order history), for re-attaching after a crash."""
        return sorted(self.broker._known_tags)

    def _save(self) -> None:
        if self.world is not None:
            self.world.save()


def run_resumable(
    settings: Settings,
    market: MarketSource,
    calendar: TradingCalendar,
    state_dir: Path,
    recorder: RunRecorder,
    progress: Callable[[Iterable[date]], Iterable[date]] = lambda days: days,
    crash: Callable[[str], None] | None = None,
    fsync: bool = True,
) -> RunResult:
    """``sim.engine.run_backtest``'s loop, resumable from ``state_dir`` at any point."""
    crash = crash or _noop
    margin = SimMargin()
    broker = SimBroker(settings.starting_cash, TastytradeFees(), margin)
    platform = DurableSimPlatform(
        calendar, FileStore(state_dir / "system", crash, fsync), broker, margin, crash
    )
    state = StateManager(platform.store)
    system = build_system(platform, settings, recorder, state)
    register_exact_sections(state, system)
    world = World(FileStore(state_dir / "world", crash, fsync), broker, platform)
    world.load()
    platform.world = world
    result = RunResult(recorder, system=system, platform=platform)
    start, end = date.fromisoformat(settings.start_date), date.fromisoformat(settings.end_date)
    days = [d for d in market.trading_days() if start <= d <= end]
    started = False
    first = world.day
    for index, day in enumerate(progress(days[first:]), start=first):
        times = market.step_times(day)
        last = None
        for i in range(world.step, len(times)):
            last = market.snapshot_at(times[i])
            platform.advance(last)
            broker._snapshot = last
            if not started:
                system.on_start()
                started = True
            # The world is saved when the broker changes (here, in every order action, for every
            # consumed event), not on every step: a restart replays quiet steps, which is harmless.
            # Marks (the price a holding is valued at when a quote is missing) follow every step,
            # including steps a restart replays without running the system again.
            broker.account(last)
            if world.phase == "start":
                events = broker.process(last)
                world.phase = "processed"
                if events:
                    platform.queue(events)
                    world.save()
            # Events are delivered in the order they were produced: the broker's fills before the
            # system's step, the answers to the step's own orders after it.  "stepping" (saved with
            # any order the step sends) marks outbox events that belong after a re-run of the step.
            if world.phase == "processed":
                world.deliver(system, crash)
                world.phase = "stepping"
            if world.phase == "stepping":
                system.on_step()
                crash("step.done")
                world.phase = "stepped"
            world.deliver(system, crash)
            world.step, world.phase, world.steps = i + 1, "start", world.steps + 1
        if not times:
            world.day, world.step = index + 1, 0
            continue
        if last is None:  # resumed inside the end of the day
            last = market.snapshot_at(times[-1])
            platform.advance(last)
            broker._snapshot = last
            if not started:
                system.on_start()
                started = True
        if world.phase != "settled":
            broker.settle_expiries(day, last)
            world.phase = "settled"
            world.save()
        system.on_expiry(day, {s: q.price for s, q in last.underlyings.items()})
        system.on_end_of_day(day)
        account = broker.account(last)
        world.equity.append(
            EquityPoint(day, account.net_liquidation, account.cash, account.buying_power_used)
        )
        world.day, world.step, world.phase = index + 1, 0, "start"
        world.save()
        if isinstance(crash, CrashPoints):
            crash.day_done(world.steps)
    if not started and days and market.step_times(days[-1]):  # resumed after the last day: load only
        platform.advance(market.snapshot_at(market.step_times(days[-1])[-1]))
        system.on_start()
    result.steps, result.equity = world.steps, world.equity
    recorder.trades = sorted(system.book.closed(), key=lambda g: (g.closed_at or datetime.min, g.group_id))
    recorder.close()
    return result


def final_state(result: RunResult) -> dict[str, Any]:
    """What a crash must not change: the trade ledger, the broker's holdings and cash, the equity."""
    assert result.platform is not None and result.system is not None
    broker = result.platform.broker
    return {
        "trades": [
            [g.group_id, g.strategy, g.quantity, str(g.opened_at), str(g.closed_at), round(g.entry_price, 6),
             round(g.exit_price, 6), round(g.entry_fees, 4), round(g.exit_fees, 4), g.exit_reason]
            for g in result.recorder.trades
        ],
        "open_groups": sorted(g.group_id for g in result.system.book.live()),
        "positions": {s: [h.quantity, round(h.average_price, 6)] for s, h in sorted(broker.holdings().items())},
        "cash": round(broker.cash, 4),
        "orders_sent": sorted(broker._known_tags),
        "equity": [[p.day.isoformat(), round(p.net_liquidation, 2), round(p.cash, 2)] for p in result.equity],
    }  # fmt: skip


def write_final(path: Path, result: RunResult) -> None:
    path.write_text(json.dumps(final_state(result), indent=1, sort_keys=True), encoding="utf-8")


def run_from_cli(
    settings: Settings,
    market: MarketSource,
    calendar: TradingCalendar,
    out: Path,
    state_dir: Path,
    progress: Callable[[Iterable[date]], Iterable[date]],
    quiet: bool = False,
) -> int:
    """``python -m sim backtest --state-dir DIR``: run or resume; reports and ``final.json`` in ``out``."""
    import time

    from sim.report import summary_text, write_reports

    recorder = RunRecorder(out / "events.jsonl", append=True)  # a resumed run continues the log
    began = time.perf_counter()
    crash = CrashPoints.from_env()
    fsync = os.environ.get("TOMKING_STATE_FSYNC", "1") != "0"
    result = run_resumable(settings, market, calendar, state_dir, recorder, progress, crash, fsync)
    count_path = os.environ.get("TOMKING_CHAOS_COUNT")
    if crash is not None and count_path:
        Path(count_path).write_text(json.dumps({"total": crash.counts, "by_step": crash.by_step}), "utf-8")
    wall = time.perf_counter() - began
    write_reports(out, result, wall)
    write_final(out / "final.json", result)
    if not quiet:
        print(summary_text(result, wall))
    return 0
