"""``StateManager``: the one owner of the system's saved state - snapshot + journal, crash recovery
and reconciliation, for both engines.

How a crash anywhere is survived:

* **One state.**  Every stateful component exposes one typed state dataclass (``core.ports.Stateful``);
  ``TradingSystem.state_parts`` lists them and this manager alone encodes (``persistence.typed``),
  diffs, journals, snapshots, migrates and quarantines them.  No component touches the store.
* **Stable commits.**  At the end of every step, applied order event and expiry run, the state is
  diffed against the last commit and the delta journaled.  Recovery = the last snapshot + every
  commit delta after it: the state as of the last stable point, restored exactly.  A store no
  process will recover from (``recoverable=False``) journals nothing: a snapshot per checkpoint.
* **Acts are written ahead.**  Every order, cancel and liquidation is journaled before the engine
  is called (``GuardedPlatform``).  Acts after the last commit are *in flight* at recovery: the
  engine re-delivers the interrupted input (an order event, or the step), the system re-derives the
  same acts deterministically, and the in-flight ones the engine already has are re-attached
  instead of sent again.  Any that are never re-derived are orphans: fail closed.
* **Inputs are applied once.**  Order events carry a digest; one already applied in a committed
  state is ignored when delivered again; a step already committed is not run again.
* **Reconciliation** on the first step after every start: the book's positions against the
  engine's holdings, our working orders against its open orders.  The sim restarts through exactly
  this path ("down for 0 s"); LEAN after a real outage.
* **One corruption policy** (``persistence.incident``): quarantine, fail closed, critical alert,
  evidence kept - for bad documents, mistyped parts and unexplained differences alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from core.ports import EventSink, Platform, Severity, StatePart, StateStore
from core.types import ComboOrder, OrderEvent, OrderStatus
from persistence import crosscheck, delta
from persistence.bookkeeping import Bookkeeping, WorkingOrder, event_digest
from persistence.codec import StateError, encode
from persistence.guard import AuditSink, GuardedPlatform
from persistence.incident import SafeMode
from persistence.journal import Journal
from persistence.reconcile import Reconciliation, reconcile
from persistence.recovery import SNAPSHOT_KIND, read
from persistence.schema import SCHEMA_VERSION
from persistence.typed import DecodeError, Encoder, from_plain, to_plain

_TERMINAL = (OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED)
RESET_KEY = "risk/reset_request"  # write any text here (ObjectStore / state folder) to reset the breakers
OWN_PART = "persistence"


class StateManager:
    def __init__(
        self,
        store: StateStore,
        prefix: str = "state",
        compact_after: int = 32,
        check: bool | None = None,
        recoverable: bool = True,
    ) -> None:
        self.store = store
        # False for a store no process will ever recover from (the sim's plain backtest keeps its
        # brokerage in memory, so no restart could reconcile with it): nothing reads its journal,
        # so commits and acts journal nothing and only advance the bookkeeping; each checkpoint
        # (end of day) still encodes the whole state into a snapshot (``_save_only``).
        self.recoverable = recoverable
        # Cross-check every commit against a full encoding (``persistence.crosscheck``; slow).
        self.check = crosscheck.enabled_by_environment() if check is None else check
        self.prefix = prefix
        self.snapshot_key = f"{prefix}/snapshot"
        self.journal = Journal(store, f"{prefix}/journal")
        self.compact_after = compact_after
        self.books = Bookkeeping()
        self.safe = SafeMode(store, prefix, self._alert, self._note)
        self.system: Any = None
        self.last_reconciliation: Reconciliation | None = None
        self.recovery_notes: list[str] = []
        self._parts: list[StatePart[Any]] = []
        self._encoders: dict[str, Encoder] = {}  # one per part: each keeps its own memory
        self._encoded: dict[str, tuple[object, Any]] = {}  # part -> (change stamp, plain form)
        self._committed: dict[str, Any] = {}
        self._orphans: dict[str, Any] = {}  # saved parts no component claims (kept, never dropped)
        self._seq = 0  # last journal sequence folded into the committed state
        self._in_flight: list[tuple[str, str]] = []
        self._in_flight_time: dict[tuple[str, str], str] = {}  # when each in-flight act was sent
        self._reconcile_due = False

    # --- its own part ------------------------------------------------------------------------------
    def state(self) -> Bookkeeping:
        return self.books

    def restore(self, state: Bookkeeping) -> None:
        self.books = state

    # --- wiring ------------------------------------------------------------------------------------
    def guard(self, platform: Platform) -> GuardedPlatform:
        """The platform to give execution and risk: every order journaled before it is sent."""
        return GuardedPlatform(platform, self)

    def audit(self, sink: EventSink) -> EventSink:
        """The sink to give the system: records also count into the saved counters."""
        return AuditSink(sink, lambda: self.books)

    def has_saved_state(self) -> bool:
        """Whether a previous process left state here (a restart, not a first start)."""
        return self.store.load(self.snapshot_key) is not None or self.store.load(self.journal.key) is not None

    def working_orders(self) -> dict[str, dict[str, Any]]:
        """Our orders still working, by tag, in their journal form (the LEAN adapter matches
        LEAN's restored untagged orders to them)."""
        return {tag: to_plain(working) for tag, working in self.books.working.items()}

    @property
    def ack_key(self) -> str:
        return self.safe.ack_key

    # --- StateKeeper -------------------------------------------------------------------------------
    def recover(self, system: Any) -> None:
        self.system = system
        self._encoded.clear()  # stamps are read afresh once the parts are restored
        self._parts = [*system.state_parts(), StatePart(OWN_PART, Bookkeeping, self)]
        names = [p.name for p in self._parts]
        if len(set(names)) != len(names):
            raise ValueError(f"two components claim one state part: {sorted(names)}")
        found = read(self.store, self.snapshot_key, self.journal.key)
        self.recovery_notes += found.notes
        # What decodes is restored even when something else is bad (exits keep managing the book);
        # a bad snapshot yields no parts at all.
        problems = [*found.problems, *self._restore_parts(found.parts)]
        self._orphans = {k: v for k, v in found.parts.items() if k not in names}
        self._seq = found.seq
        self._committed = found.parts
        carried_incident = self.books.incident is not None
        if problems:
            self._quarantine_and_restart(problems, found.epoch)
        elif found.fresh:  # first start: a snapshot of the empty state for the journal to follow
            self._committed = self._collect()
            self._snapshot()
        else:
            entries = found.entries
            self.journal.resume(found.epoch, entries, (entries[-1].seq if entries else found.seq) + 1)
            for entry in found.in_flight:
                act = (entry.kind, entry.tag)
                self._in_flight.append(act)
                self._in_flight_time[act] = entry.time or ""
        if not found.fresh:
            self._note_restart(found.last_time)
        if carried_incident:
            self.safe.check_ack(self.books, system.pauses)
        self._reconcile_due = True
        self.safe.assert_pause(self.books, system.pauses)

    def begin_step(self) -> bool:
        if self._reconcile_due:
            self._reconcile_due = False
            self._reconcile()
        self._operator_reset()
        self.safe.assert_pause(self.books, self.system.pauses)
        last = self.books.last_step
        return last is None or self.system.platform.now() > last

    def admit(self, event: OrderEvent) -> bool:
        digest = event_digest(event)
        if digest in self.books.seen_set:
            return False
        self.books.see(digest)
        if event.status in _TERMINAL:
            self.books.working.pop(event.tag, None)
        return True

    def commit(self, kind: str) -> None:
        if kind == "step" and self._in_flight:
            self._fail_orphans()
        if self._save_only:
            if kind == "step":
                self.books.last_step = self.system.platform.now()
            return
        current = self._collect()
        ops = self._diff(current)
        if ops and kind == "step":
            now_step = self.system.platform.now()
            self.books.last_step = now_step
            stamp = now_step.isoformat()
            current[OWN_PART]["last_step"] = stamp  # freshly built (no change stamp): ours to edit
            path = [OWN_PART, "last_step"]
            ops = [op for op in ops if op[1] != path] + [["set", path, stamp]]
        if self.check:
            crosscheck.verify(self._committed, ops, current, self._full())
        if not ops:
            return
        self._seq = self.journal.append("commit", kind, self._now(), delta=ops)
        self._committed = current
        if len(self.journal.entries) >= self.compact_after and not self._in_flight:
            self._snapshot()

    def checkpoint(self) -> None:
        if self._save_only:  # no journal to follow the snapshot: nothing to commit first
            self._committed = self._collect()
        else:
            self.commit("checkpoint")
        if not self._in_flight:
            self._snapshot()

    @property
    def _save_only(self) -> bool:
        """Whether only checkpoints encode the state (an unrecoverable store, not cross-checked)."""
        return not (self.recoverable or self.check)

    # --- acts (called by GuardedPlatform) ------------------------------------------------------------
    def before_submit(self, order: ComboOrder) -> bool:
        """Journal the order; False if it is an in-flight order the engine already has."""
        self.books.working[order.tag] = WorkingOrder(order)
        if not self._sent_before_crash("submit", order.tag, {"order": to_plain(order)}):
            return False
        self._act("submit", lambda: to_plain(order))
        return True

    def before_cancel(self, tag: str) -> bool:
        working = self.books.working.get(tag)
        if working is not None:
            working.cancel = True
        if ("cancel", tag) in self._in_flight:
            self._in_flight.remove(("cancel", tag))
            if tag not in set(self.system.platform.open_order_tags()):
                self._note("cancel_reattached", {"tag": tag})
                return False
        self._act("cancel", lambda: {"tag": tag})
        return True

    def before_liquidate(self, symbol: str, quantity: float, tag: str) -> bool:
        """Journal the market order that flattens an assigned holding before it is sent."""
        payload = {"tag": tag, "symbol": symbol, "quantity": quantity}
        if not self._sent_before_crash("liquidate", tag, payload):
            return False
        self._act("liquidate", lambda: payload)
        return True

    def _act(self, kind: str, payload: Callable[[], dict[str, Any]]) -> None:
        """Journal an act before it is sent (unless no process will ever read the journal)."""
        if not self._save_only:
            self.journal.append("act", kind, self._now(), payload=payload())

    def _sent_before_crash(self, kind: str, tag: str, evidence: dict[str, Any]) -> bool:
        """False when ``tag`` was in flight at the crash and the engine has it, or cannot say."""
        if (kind, tag) not in self._in_flight:
            return True
        self._in_flight.remove((kind, tag))
        platform = self.system.platform
        known = platform.known_order_tags()
        if (known is not None and tag in known) or tag in set(platform.open_order_tags()):
            self._note("order_reattached", {"tag": tag})
            return False
        if known is None:
            # Not open, and the engine keeps no order history: it may have filled while we were
            # down.  Sending it again could double the position, so fail closed instead.
            self._fail_closed(
                "unconfirmed_order",
                "An order sent before the crash cannot be confirmed with the engine",
                evidence,
            )
            return False
        return True

    # --- internals -----------------------------------------------------------------------------------
    def _fail_orphans(self) -> None:
        """An act sent in a step before this one that the re-run did not re-derive is an orphan."""
        now = self._now() or ""
        orphans = [a for a in self._in_flight if self._in_flight_time.get(a, "") < now]
        if orphans:
            self._in_flight = [a for a in self._in_flight if a not in orphans]
            self._fail_closed(
                "orphan_acts",
                "Orders sent before the crash were not re-derived after it",
                {"acts": [list(a) for a in orphans]},
            )

    def _restore_parts(self, parts: dict[str, Any]) -> list[StateError]:
        """Decode and restore every saved part; a part that does not decode stays as it started."""
        problems = []
        for part in self._parts:
            data = parts.get(part.name)
            if data is None:
                continue  # a part new since the state was saved starts empty
            try:
                value = from_plain(part.type, data, part.name)
            except DecodeError as exc:
                problems.append(StateError("invalid_types", str(exc), self.snapshot_key))
                continue
            part.owner.restore(value)
        return problems

    def _collect(self) -> dict[str, Any]:
        """Every part as plain JSON; a part whose change stamp is the one of its last encoding, and
        unchanged immutable values inside a part, come back as the same objects, so diffing them
        costs nothing."""
        out = dict(self._orphans)
        for part in self._parts:
            stamp = part.version() if part.version is not None else None
            cached = self._encoded.get(part.name)
            if stamp is not None and cached is not None and cached[0] == stamp:
                out[part.name] = cached[1]
                continue
            encoder = self._encoders.setdefault(part.name, Encoder())
            out[part.name] = encoder.encode(part.owner.state())
            if stamp is not None:
                self._encoded[part.name] = (stamp, out[part.name])
        return out

    def _full(self) -> dict[str, Any]:
        """Every part encoded from scratch (no stamps, no memory): what ``_collect`` must equal."""
        return {**self._orphans, **{part.name: to_plain(part.owner.state()) for part in self._parts}}

    def _diff(self, current: dict[str, Any]) -> list[list[Any]]:
        """The delta from the last commit, part by part with each part's own encoder's atoms (the
        flat frozen values ``delta.diff`` puts field by field instead of walking)."""
        if current.keys() != self._committed.keys():  # a part appeared or went: diff the whole
            atoms = set().union(*(e.atoms for e in self._encoders.values()))
            return delta.diff(self._committed, current, atoms=atoms)
        ops: list[list[Any]] = []
        for name, value in current.items():
            encoder = self._encoders.get(name)
            ops += delta.diff(self._committed[name], value, [name], encoder.atoms if encoder else frozenset())
        return ops

    def _quarantine_and_restart(self, problems: list[StateError], epoch: int) -> None:
        kept = self.safe.quarantine([p.key or self.snapshot_key for p in problems] + [self.journal.key])
        reasons = "; ".join(f"{p.code}: {p}" for p in problems)
        self.safe.open(
            self.books,
            self.system.pauses,
            self._now() or "start",
            f"state_{problems[0].code}",
            "Saved state unusable; started in safe mode",
            {
                "problems": [{"code": p.code, "key": p.key, "message": p.message} for p in problems],
                "kept": kept,
            },
            f"{reasons}. Kept aside: {', '.join(kept) or 'nothing'}.",
        )
        self._in_flight = []
        self.journal.epoch = epoch
        self._committed = self._collect()
        self._snapshot()

    def _snapshot(self) -> None:
        if self.books.trim():
            self._committed = self._collect()
        epoch = self.journal.epoch + 1
        body = {"epoch": epoch, "parts": self._committed, "seq": self._seq, "time": self._now()}
        self.store.save(self.snapshot_key, encode(SNAPSHOT_KIND, SCHEMA_VERSION, body))
        self.journal.start(epoch, self._seq + 1)

    def _note_restart(self, last_time: str) -> None:
        now = self.system.platform.now()
        try:
            down = max(0.0, (now - datetime.fromisoformat(last_time)).total_seconds()) if last_time else None
        except ValueError:
            down = None
        in_flight = [list(a) for a in self._in_flight]
        self.recovery_notes.append(f"restarted: last stable point {last_time or 'unknown'}, down {down} s")
        self._note("recovered", {"last_stable": last_time, "down_seconds": down, "in_flight": in_flight})

    def _reconcile(self) -> None:
        platform = self.system.platform
        undelivered = [e.tag for e in platform.pending_events() if e.status in _TERMINAL]
        result = reconcile(
            self.system.book.live(),
            self.books.working,
            platform.account().holdings,
            platform.open_order_tags(),
            [tag for kind, tag in self._in_flight if kind == "submit"],
            [tag for kind, tag in self._in_flight if kind == "cancel"] + undelivered,
        )
        self.last_reconciliation = result
        self._note(
            "reconciled",
            {"ok": result.ok, "reattached": list(result.reattached), "findings": len(result.findings)},
        )
        if not result.ok:
            self._fail_closed(
                "reconciliation_mismatch",
                "Engine does not match the saved state",
                {"findings": [asdict(f) for f in result.findings]},
            )

    def _operator_reset(self) -> None:
        """A manual risk reset requested through the state store (the operator writes the key)."""
        request = self.store.load(RESET_KEY)
        if request and request.strip():
            self.store.save(RESET_KEY, b"")
            self.system.request_risk_reset(f"state key {RESET_KEY}")

    def _fail_closed(self, code: str, title: str, evidence: dict[str, Any]) -> None:
        self.safe.open(self.books, self.system.pauses, self._now() or "start", code, title, evidence)

    def _now(self) -> str | None:
        try:
            return self.system.platform.now().isoformat()
        except RuntimeError:
            return None

    def _note(self, kind: str, payload: dict[str, Any]) -> None:
        self.system.sink.record(kind, self.system.platform.now(), payload)

    def _alert(self, title: str, message: str) -> None:
        platform = self.system.platform
        platform.notify(Severity.CRITICAL, title, message)
        self.system.sink.record(
            "alert", platform.now(), {"severity": Severity.CRITICAL.value, "title": title, "message": message}
        )
