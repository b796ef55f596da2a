"""Exact state sections for the sim's kill-and-resume runs.

The executor and the risk monitors restore themselves from their own documents assuming the
process was down for a while (orders re-checked with the broker, timers backdated).  In the sim a
restart resumes the market at the very step it stopped, so the faithful model is to restore their
in-memory state exactly, as of the system's last stable commit; their own code then runs on
unchanged.  Registered by ``sim.resume`` only; in LEAN their own restart logic applies.
"""

from __future__ import annotations

import base64
from collections import Counter, defaultdict
from datetime import date, datetime
from typing import Any

from execution.group import OrderGroup
from execution.order_manager import OrderManager
from risk.monitors import RiskMonitors, _replace_state
from risk.state import RiskState


def _rng_to_json(state: tuple) -> list:  # type: ignore[type-arg]
    version, internal, gauss = state
    return [version, list(internal), gauss]


def _rng_from_json(doc: list) -> tuple:  # type: ignore[type-arg]
    return (doc[0], tuple(doc[1]), doc[2])


class ExecutorSection:
    state_section = "executor"

    def __init__(self, manager: OrderManager) -> None:
        self.m = manager

    def to_json(self) -> Any:
        m = self.m
        return {
            "groups": {k: g.to_json() for k, g in m.groups.items()},
            "seen": dict(sorted(m._seen.items())),
            "event_ids": sorted([list(x) for x in m._event_ids]),
            "rng": _rng_to_json(m.rng.getstate()),
            "counts": dict(sorted(m.stats.counts.items())),
            "store_active": sorted(m._store.active),
            "store_sequences": dict(sorted(m._store.sequences.items())),
        }

    def load_json(self, doc: Any) -> None:
        m = self.m
        m.groups = {str(k): OrderGroup.from_json(v) for k, v in doc["groups"].items()}
        m._by_tag = {o.tag: (g, o) for g in m.groups.values() for o in g.orders}
        m._seen = defaultdict(int, {str(k): int(v) for k, v in doc["seen"].items()})
        m._event_ids = {(str(a), str(b)) for a, b in doc["event_ids"]}
        m.rng.setstate(_rng_from_json(doc["rng"]))
        m.stats.counts = Counter({str(k): int(v) for k, v in doc["counts"].items()})
        m._store.active = {str(k) for k in doc["store_active"]}
        m._store.sequences = {str(k): int(v) for k, v in doc["store_sequences"].items()}
        m._restored = True  # exact state: no "we were down" handling


_SKIP = {"s", "platform", "state", "log", "dividends"}


def _plain_attrs(obj: Any) -> dict[str, list[Any]]:
    """The simple instance attributes of ``obj`` (flags, times, counters, sets of names), tagged
    by type; collaborators and caches are not state and are skipped."""
    out: dict[str, list[Any]] = {}
    for name, value in sorted(vars(obj).items()):
        if name in _SKIP:
            continue
        if value is None or isinstance(value, bool | int | float | str):
            out[name] = ["v", value]
        elif isinstance(value, datetime):
            out[name] = ["dt", value.isoformat()]
        elif isinstance(value, date):
            out[name] = ["d", value.isoformat()]
        elif isinstance(value, set) and all(isinstance(x, str) for x in value):
            out[name] = ["set", sorted(value)]
        elif isinstance(value, bytes):
            out[name] = ["b64", base64.b64encode(value).decode("ascii")]
    return out


def _restore_attrs(obj: Any, doc: dict[str, list[Any]]) -> None:
    for name, (tag, value) in doc.items():
        if tag == "dt":
            value = datetime.fromisoformat(value)
        elif tag == "d":
            value = date.fromisoformat(value)
        elif tag == "set":
            value = set(value)
        elif tag == "b64":
            value = base64.b64decode(value)
        setattr(obj, name, value)


class RiskMonitorsSection:
    state_section = "risk_monitors"

    def __init__(self, monitors: RiskMonitors) -> None:
        self.m = monitors

    def to_json(self) -> Any:
        m = self.m
        return {
            "state": m.state.to_json(),
            "attrs": _plain_attrs(m),
            # what RiskState.to_json may leave out: stuck-quote timers and the last prices jumps are
            # measured from (a restart must not reset them, or it would judge quotes differently)
            "quotes_seen": {
                k: [b, a, since.isoformat(), u]
                for k, (b, a, since, u) in sorted(getattr(m.state.quotes, "_seen", {}).items())
            },
            "jumps_last": dict(sorted(getattr(m.state.jumps, "last", {}).items())),
        }

    def load_json(self, doc: Any) -> None:
        m = self.m
        _replace_state(m.state, RiskState.from_json(doc["state"]))
        _restore_attrs(m, doc["attrs"])
        if hasattr(m.state.quotes, "_seen"):
            m.state.quotes._seen = {
                str(k): (float(b), float(a), datetime.fromisoformat(t), float(u))
                for k, (b, a, t, u) in doc["quotes_seen"].items()
            }
        if hasattr(m.state.jumps, "last"):
            m.state.jumps.last = {str(k): float(v) for k, v in doc["jumps_last"].items()}
        m._loaded = True  # exact state: no reload from the monitors' own document


def register_exact_sections(state: Any, system: Any) -> None:
    """Exact sections for the components that lack a ``Persistable`` form of their own."""
    from persistence import is_persistable

    if isinstance(system.executor, OrderManager) and not is_persistable(system.executor):
        state.register(ExecutorSection(system.executor))
    monitors = getattr(system, "monitors", None)
    if isinstance(monitors, RiskMonitors) and not is_persistable(monitors):
        state.register(RiskMonitorsSection(monitors))
