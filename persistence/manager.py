"""``StateManager``: snapshot + journal persistence, crash recovery and reconciliation.

How a crash anywhere is survived:

* **Stable commits.**  At the end of every step, applied order event and expiry run, the state of
  every section is diffed against the last commit and the delta journaled.  Recovery = the last
  snapshot + every commit delta after it: the state as of the last stable point.
* **Acts are written ahead.**  Every order and cancel is journaled before the engine is called
  (``GuardedPlatform``).  Acts after the last commit are *in flight* at recovery: the engine
  re-delivers the interrupted input (an order event, or the step), the system re-derives the same
  acts deterministically, and the in-flight ones the engine already has are re-attached instead of
  sent again.  Any that are never re-derived are orphans: fail closed.
* **Inputs are applied once.**  Order events carry a digest; one already applied in a committed
  state is ignored when delivered again; a step already committed is not run again.
* **Reconciliation** on the first step after every start: the book's positions against the
  engine's holdings, our working orders against its open orders.  Anything unexplained pauses new
  entries, raises a critical alert with the evidence and says what the operator must do.
* **Bad state** (corrupt, truncated, tampered, foreign version, unloadable section) is copied to
  ``<prefix>/quarantine/`` before anything else is written, and the system starts in safe mode.
  Safe mode is itself saved, so a restart does not quietly clear it: the operator acknowledges the
  incident by saving its id at ``<prefix>/operator_ack``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from core.book import contract_to_json
from core.ports import EventSink, Persistable, Platform, Severity, StateStore
from core.types import ComboOrder, OrderEvent, OrderStatus
from persistence import delta
from persistence.codec import StateError, decode, dumps, encode_payload
from persistence.guard import GuardedPlatform
from persistence.journal import Journal, parse
from persistence.reconcile import Reconciliation, reconcile
from persistence.schema import LEGACY_BOOK_KEY, SCHEMA_VERSION, migrate
from persistence.sections import BookSection, KeyValueSection

SNAPSHOT_KIND = "snapshot"
_TERMINAL = (OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED)
_NO_HISTORY: set[str] = set()  # an engine that cannot list its past orders
_SEEN_KEEP = 4000  # event digests remembered (far more than can be re-delivered after a crash)

OPERATOR_ACTION = (
    "Compare the evidence with the brokerage account; close or adopt any position the book does not "
    "explain and cancel foreign orders by hand; keep the quarantined state for the post-mortem. "
    "Then acknowledge by saving the incident id under the key {ack} in the state store "
    "(ObjectStore in LEAN, the state folder in the sim) and restart: new entries resume only then."
)


def is_persistable(component: object) -> bool:
    return (
        isinstance(getattr(component, "state_section", None), str)
        and callable(getattr(component, "to_json", None))
        and callable(getattr(component, "load_json", None))
    )


def order_to_json(order: ComboOrder) -> dict[str, Any]:
    return {
        "tag": order.tag,
        "legs": [{"contract": contract_to_json(leg.contract), "ratio": leg.ratio} for leg in order.legs],
        "quantity": order.quantity,
        "limit_price": order.limit_price,
        "submitted": order.submitted.isoformat(),
    }


def event_digest(event: OrderEvent) -> str:
    fills = [(f.contract.symbol, f.quantity, f.price, f.fee) for f in event.fills]
    text = json.dumps([event.tag, event.status.value, event.time.isoformat(), event.message, fills])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


class _SystemSection:
    """Bookkeeping of the persistence layer itself: steps done, events applied, counters, incident."""

    state_section = "system"

    def __init__(self) -> None:
        self.last_step: str | None = None
        self.seen: list[str] = []  # appended (small journal deltas); trimmed at each snapshot
        self.seen_set: set[str] = set()
        self.counters: dict[str, int] = {}
        self.incident: dict[str, Any] | None = None

    def see(self, digest: str) -> None:
        self.seen.append(digest)
        self.seen_set.add(digest)

    def trim(self) -> bool:
        if len(self.seen) <= _SEEN_KEEP:
            return False
        self.seen = self.seen[-_SEEN_KEEP:]
        self.seen_set = set(self.seen)
        return True

    def to_json(self) -> Any:
        return {
            "last_step": self.last_step,
            "seen": list(self.seen),
            "counters": dict(sorted(self.counters.items())),
            "incident": self.incident,
        }

    def load_json(self, doc: Any) -> None:
        self.last_step = doc["last_step"]
        self.seen = [str(d) for d in doc["seen"]]
        self.seen_set = set(self.seen)
        self.counters = {str(k): int(v) for k, v in doc["counters"].items()}
        self.incident = doc["incident"]


class _OrdersSection:
    """Our orders the engine has not finished (the pending intents), by tag."""

    state_section = "orders"

    def __init__(self) -> None:
        self.working: dict[str, dict[str, Any]] = {}

    def to_json(self) -> Any:
        return {tag: dict(v) for tag, v in sorted(self.working.items())}

    def load_json(self, doc: Any) -> None:
        if not isinstance(doc, dict):
            raise ValueError("orders section is not a mapping")
        self.working = {str(k): dict(v) for k, v in doc.items()}


class _RestoredInPlace:
    """``Persistable`` for a component with ``to_json`` and a ``from_json`` constructor: loading
    builds a new instance and copies its attributes onto the one the system holds."""

    def __init__(self, component: Any) -> None:
        self.component = component
        self.state_section = re.sub(r"(?<!^)(?=[A-Z])", "_", type(component).__name__).lower()

    def to_json(self) -> Any:
        return self.component.to_json()

    def load_json(self, doc: Any) -> None:
        restored = type(self.component).from_json(doc)
        self.component.__dict__.update(vars(restored))


class _AuditSink:
    """Forwards records to the real sink and keeps the counters section (kinds, risk codes)."""

    def __init__(self, sink: EventSink, counters: _SystemSection) -> None:
        self._sink = sink
        self._section = counters

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sink, name)

    def record(self, kind: str, time: Any, payload: Mapping[str, Any]) -> None:
        counters = self._section.counters
        counters[kind] = counters.get(kind, 0) + 1
        if kind == "risk_block":
            code = f"risk_block:{payload.get('code')}"
            counters[code] = counters.get(code, 0) + 1
        self._sink.record(kind, time, payload)


class StateManager:
    def __init__(self, store: StateStore, prefix: str = "state", compact_after: int = 64) -> None:
        self.store = store
        self.prefix = prefix
        self.snapshot_key = f"{prefix}/snapshot"
        self.ack_key = f"{prefix}/operator_ack"
        self.journal = Journal(store, f"{prefix}/journal")
        self.compact_after = compact_after
        self.kv = KeyValueSection()
        self.orders = _OrdersSection()
        self.sys = _SystemSection()
        self._sections: dict[str, Any] = {}
        self._orphans: dict[str, Any] = {}  # saved sections no component claims (kept, never dropped)
        self._committed: dict[str, Any] = {}
        self._texts: dict[str, tuple[bytes, Any]] = {}  # section -> (canonical JSON, parsed) last seen
        self._seq = 0  # last journal sequence folded into the committed state
        self._in_flight: list[tuple[str, str]] = []
        self._in_flight_time: dict[tuple[str, str], str] = {}  # when each in-flight act was sent
        self._reconcile_due = False
        self.system: Any = None
        self.last_reconciliation: Reconciliation | None = None
        self.recovery_notes: list[str] = []
        for section in (self.orders, self.sys, self.kv):
            self.register(section)

    # --- wiring ------------------------------------------------------------------------------------
    def register(self, component: Persistable) -> None:
        name = component.state_section
        if name in self._sections and self._sections[name] is not component:
            raise ValueError(f"two components claim state section {name!r}")
        self._sections[name] = component

    def register_if_persistable(self, *components: object) -> None:
        """Register every component with state: ``Persistable`` ones, and ones with ``to_json`` and
        a ``from_json`` constructor (restored in place).  Others have no state to keep."""
        for c in components:
            if is_persistable(c):
                self.register(c)  # type: ignore[arg-type]
            elif callable(getattr(c, "to_json", None)) and callable(getattr(type(c), "from_json", None)):
                self.register(_RestoredInPlace(c))

    def guard(self, platform: Platform) -> Any:
        """The platform to give execution: orders and cancels journaled before they are sent."""
        return GuardedPlatform(platform, self)

    def audit(self, sink: EventSink) -> EventSink:
        return _AuditSink(sink, self.sys)

    @property
    def in_safe_mode(self) -> bool:
        return self.sys.incident is not None

    # --- StateKeeper -------------------------------------------------------------------------------
    def recover(self, system: Any) -> None:
        self.system = system
        self.register(BookSection(system))
        problems: list[StateError] = []
        body, entries, epoch = self._read(problems)
        state = body["sections"] if body else {}  # freshly decoded: ours to modify
        seq = body["seq"] if body else 0
        last_commit = -1
        for i, entry in enumerate(entries):
            if entry["type"] == "commit":
                try:
                    state = delta.apply_in_place(state, entry["delta"])
                except (ValueError, KeyError) as exc:
                    problems.append(
                        StateError("corrupt", f"journal entry {entry['seq']}: {exc}", self.journal.key)
                    )
                    entries = entries[:i]
                    break
                last_commit = i
        for entry in entries[last_commit + 1 :]:
            act = (entry["kind"], str(entry["payload"].get("tag", "")))
            self._in_flight.append(act)
            self._in_flight_time[act] = str(entry.get("time") or "")
        if entries and last_commit >= 0:
            seq = entries[last_commit]["seq"]
        self._load_sections(state, problems)
        self._seq = seq
        self._committed = state  # what is durable; the next commit journals any difference
        carried_incident = self.sys.incident is not None
        if problems:
            self._quarantine_and_restart(problems, epoch)
        elif body is None:  # first start: a snapshot of the empty state for the journal to follow
            self._committed = self._collect()
            self._snapshot()
        else:
            self.journal.resume(epoch, entries, (entries[-1]["seq"] if entries else seq) + 1)
        if self._in_flight:
            self.recovery_notes.append(f"in flight at the crash: {self._in_flight}")
        if carried_incident:
            self._check_ack()
        self._reconcile_due = True
        self._assert_safe_mode()

    def begin_step(self) -> bool:
        if self._reconcile_due:
            self._reconcile_due = False
            self._reconcile()
        self._assert_safe_mode()
        now = self.system.platform.now().isoformat()
        return self.sys.last_step is None or now > self.sys.last_step

    def admit(self, event: OrderEvent) -> bool:
        digest = event_digest(event)
        if digest in self.sys.seen_set:
            return False
        self.sys.see(digest)
        if event.status in _TERMINAL:
            self.orders.working.pop(event.tag, None)
        return True

    def commit(self, kind: str) -> None:
        # An act sent in a step before this one that the re-run did not re-derive is an orphan.
        now = self._now() or ""
        orphans = [a for a in self._in_flight if self._in_flight_time.get(a, "") < now]
        if kind == "step" and orphans:
            self._in_flight = [a for a in self._in_flight if a not in orphans]
            self._fail_closed(
                "orphan_acts",
                "Orders sent before the crash were not re-derived after it",
                {"acts": [list(a) for a in orphans]},
            )
        current = self._collect()
        ops = delta.diff(self._committed, current)
        if not ops:
            return
        if kind == "step":
            self.sys.last_step = self.system.platform.now().isoformat()
            current["system"] = self.sys.to_json()
            ops = delta.diff(self._committed, current)
        self._seq = self.journal.append({"type": "commit", "kind": kind, "time": self._now(), "delta": ops})
        self._committed = current
        if len(self.journal.entries) >= self.compact_after and not self._in_flight:
            self._snapshot()

    def checkpoint(self) -> None:
        self.commit("checkpoint")
        if not self._in_flight:
            self._snapshot()

    # --- acts (called by GuardedPlatform) ------------------------------------------------------------
    def before_submit(self, order: ComboOrder) -> bool:
        """Journal the order; False if it is an in-flight order the engine already has."""
        self.orders.working[order.tag] = {"order": order_to_json(order), "cancel": False}
        if ("submit", order.tag) in self._in_flight:
            self._in_flight.remove(("submit", order.tag))
            known = self._engine_known_tags()
            if order.tag in known or order.tag in set(self.system.platform.open_order_tags()):
                self._note("order_reattached", {"tag": order.tag})
                return False
            if known is _NO_HISTORY:
                # Not open, and the engine keeps no order history: it may have filled while we were
                # down.  Sending it again could double the position, so fail closed instead.
                self._fail_closed(
                    "unconfirmed_order",
                    "An order sent before the crash cannot be confirmed with the engine",
                    {"order": order_to_json(order)},
                )
                return False
        self.journal.append(
            {"type": "act", "kind": "submit", "time": self._now(), "payload": order_to_json(order)}
        )
        return True

    def before_cancel(self, tag: str) -> bool:
        if tag in self.orders.working:
            self.orders.working[tag]["cancel"] = True
        if ("cancel", tag) in self._in_flight:
            self._in_flight.remove(("cancel", tag))
            if tag not in set(self.system.platform.open_order_tags()):
                self._note("cancel_reattached", {"tag": tag})
                return False
        self.journal.append({"type": "act", "kind": "cancel", "time": self._now(), "payload": {"tag": tag}})
        return True

    # --- internals -----------------------------------------------------------------------------------
    def _read(self, problems: list[StateError]) -> tuple[dict[str, Any] | None, list[dict[str, Any]], int]:
        """(snapshot body, journal entries after it, epoch); bad pieces become problems."""
        body: dict[str, Any] | None = None
        raw = self.store.load(self.snapshot_key)
        if raw is None:
            legacy = self.store.load(LEGACY_BOOK_KEY)
            if legacy is not None:
                try:
                    body = migrate(1, json.loads(legacy.decode("utf-8")))
                    self.recovery_notes.append(f"migrated {LEGACY_BOOK_KEY} from schema 1")
                except (StateError, ValueError) as exc:
                    problems.append(_as_state_error(exc, LEGACY_BOOK_KEY))
        else:
            try:
                schema, doc = decode(raw, SNAPSHOT_KIND, SCHEMA_VERSION, self.snapshot_key)
                body = migrate(schema, doc)
            except StateError as exc:
                exc.key = exc.key or self.snapshot_key
                problems.append(exc)
        epoch = body["epoch"] if body else 0
        seq = body["seq"] if body else 0
        raw_journal = self.store.load(self.journal.key)
        if raw_journal is None:
            return body, [], epoch
        if body is None and not problems:
            problems.append(
                StateError("orphan_journal", "a journal without the snapshot it follows", self.journal.key)
            )
            return body, [], epoch
        try:
            journal_epoch, entries = parse(raw_journal, self.journal.key)
        except StateError as exc:
            problems.append(exc)
            return body, [], epoch
        if problems:  # a journal means nothing without the snapshot it follows
            problems.append(
                StateError("orphan_journal", "journal kept aside with its snapshot", self.journal.key)
            )
            return body, [], max(epoch, journal_epoch)
        if journal_epoch > epoch:
            problems.append(
                StateError(
                    "foreign_format",
                    f"journal epoch {journal_epoch} after snapshot epoch {epoch}",
                    self.journal.key,
                )
            )
            return body, [], journal_epoch
        entries = [e for e in entries if e["seq"] > seq]
        if entries and (journal_epoch < epoch or entries[0]["seq"] != seq + 1):
            problems.append(
                StateError("corrupt", f"journal does not continue snapshot sequence {seq}", self.journal.key)
            )
            return body, [], epoch
        return body, entries, epoch

    def _load_sections(self, state: dict[str, Any], problems: list[StateError]) -> None:
        for name, data in state.items():
            component = self._sections.get(name)
            if component is None:
                self._orphans[name] = data
                continue
            try:
                component.load_json(data)
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                problems.append(
                    StateError("unloadable_section", f"section {name!r}: {exc!r}", self.snapshot_key)
                )

    def _collect(self) -> dict[str, Any]:
        """Every section as plain JSON (tuples become lists, as stored); a section whose text is
        unchanged since the last call returns the same object, so diffing it costs nothing."""
        out = dict(self._orphans)
        for name, component in self._sections.items():
            canonical = getattr(component, "canonical", None)
            if callable(canonical):  # cheap text and plain-JSON value (the book: cached per group)
                text = canonical()
                cached = self._texts.get(name)
                if cached is None or cached[0] != text:
                    cached = self._texts[name] = (text, component.to_json())
            else:
                text = dumps(component.to_json())
                cached = self._texts.get(name)
                if cached is None or cached[0] != text:
                    cached = self._texts[name] = (text, json.loads(text))
            out[name] = cached[1]
        return out

    def _quarantine_and_restart(self, problems: list[StateError], epoch: int) -> None:
        kept = []
        for key in dict.fromkeys([p.key or self.snapshot_key for p in problems] + [self.journal.key]):
            raw = self.store.load(key)
            if raw is not None:
                kept.append(self._quarantine(key, raw))
        reasons = "; ".join(f"{p.code}: {p}" for p in problems)
        self._open_incident(
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

    def _quarantine(self, key: str, raw: bytes) -> str:
        name = key.replace("/", "_")
        for n in range(1, 10_000):
            target = f"{self.prefix}/quarantine/{n:04d}-{name}"
            if self.store.load(target) is None:
                self.store.save(target, raw)
                return target
        raise RuntimeError("quarantine is full: 9999 kept states; clear it after the post-mortem")

    def _snapshot(self) -> None:
        if self.sys.trim():
            self._committed = self._collect()
        epoch = self.journal.epoch + 1
        # The canonical body, assembled from each section's cached canonical text where it is the
        # committed one (equal to ``dumps(body)``, without encoding the whole state again).
        parts = []
        for name in sorted(self._committed):
            value, cached = self._committed[name], self._texts.get(name)
            text = cached[0] if cached is not None and cached[1] is value else dumps(value)
            parts.append(dumps(name) + b":" + text)
        payload = b'{"epoch":%d,"sections":{%s},"seq":%d}' % (epoch, b",".join(parts), self._seq)
        self.store.save(self.snapshot_key, encode_payload(SNAPSHOT_KIND, SCHEMA_VERSION, payload))
        self.journal.start(epoch, self._seq + 1)

    def _reconcile(self) -> None:
        platform = self.system.platform
        result = reconcile(
            self.system.book.live(),
            self.orders.working,
            platform.account().holdings,
            platform.open_order_tags(),
            [tag for kind, tag in self._in_flight if kind == "submit"],
            [tag for kind, tag in self._in_flight if kind == "cancel"] + self._undelivered(),
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

    def _fail_closed(self, code: str, title: str, evidence: dict[str, Any]) -> None:
        self._open_incident(code, title, evidence, json.dumps(evidence, sort_keys=True, default=str))

    def _open_incident(self, code: str, title: str, evidence: dict[str, Any], detail: str) -> None:
        when = self._now() or "start"
        incident = {"id": f"{code}@{when}", "code": code, "title": title, "evidence": evidence}
        if self.sys.incident is None:
            self.sys.incident = incident
        self._assert_safe_mode()
        action = OPERATOR_ACTION.format(ack=self.ack_key)
        self._alert(f"{title}; new entries paused", f"{detail}\nIncident {incident['id']}. {action}")

    def _check_ack(self) -> None:
        if self.sys.incident is None:
            return
        raw = self.store.load(self.ack_key)
        if raw is not None and raw.decode("utf-8", "replace").strip() == self.sys.incident["id"]:
            self._note("incident_acknowledged", {"id": self.sys.incident["id"]})
            self.sys.incident = None
            return
        self._alert(
            "Safe mode continues; new entries paused",
            f"Open incident {self.sys.incident['id']}: {self.sys.incident['title']}. "
            + OPERATOR_ACTION.format(ack=self.ack_key),
        )

    def _assert_safe_mode(self) -> None:
        if self.sys.incident is not None and not self.system.entries_paused_reason:
            self.system.entries_paused_reason = f"safe_mode: {self.sys.incident['code']}"

    def _undelivered(self) -> list[str]:
        """Tags whose final order event the engine has produced but not delivered yet (the sim's
        outbox after a restart): gone from the open orders, with the news still on its way."""
        undelivered = getattr(self.system.platform, "undelivered_order_tags", None)
        return list(undelivered()) if callable(undelivered) else []

    def _engine_known_tags(self) -> set[str]:
        """Every order tag the engine has seen (its order history), or ``_NO_HISTORY``."""
        known = getattr(self.system.platform, "known_order_tags", None)
        return set(known()) if callable(known) else _NO_HISTORY

    def _now(self) -> str | None:
        try:
            return self.system.platform.now().isoformat()
        except RuntimeError:
            return None

    def _note(self, kind: str, payload: dict[str, Any]) -> None:
        now = self.system.platform.now()
        self.system.sink.record(kind, now, payload)

    def _alert(self, title: str, message: str) -> None:
        platform = self.system.platform
        platform.notify(Severity.CRITICAL, title, message)
        self.system.sink.record(
            "alert", platform.now(), {"severity": Severity.CRITICAL.value, "title": title, "message": message}
        )


def _as_state_error(exc: Exception, key: str) -> StateError:
    if isinstance(exc, StateError):
        exc.key = exc.key or key
        return exc
    return StateError("corrupt", f"unreadable: {exc}", key)
