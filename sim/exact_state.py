"""Exact state sections for the sim's kill-and-resume runs.

The executor and the risk monitors restore themselves from their own documents assuming the
process was down for a while (orders re-checked with the broker, timers backdated).  In the sim a
restart resumes the market at the very step it stopped, so the faithful model is to restore their
in-memory state exactly, as of the system's last stable commit; their own code then runs on
unchanged.  Registered by ``sim.resume`` only; in LEAN their own restart logic applies.
"""

from __future__ import annotations

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


class RiskMonitorsSection:
    state_section = "risk_monitors"

    def __init__(self, monitors: RiskMonitors) -> None:
        self.m = monitors

    def to_json(self) -> Any:
        m = self.m
        return {
            "state": m.state.to_json(),
            "saved": m._saved.decode("utf-8"),
            "reported": sorted(m._reported),
            "greeks_alerted": sorted(m._greeks_alerted),
            "greeks_day": m._greeks_day.isoformat() if m._greeks_day else None,
            "day": m._day.isoformat() if m._day else None,
            # what RiskState.to_json leaves out: stuck-quote timers and the last prices jumps are
            # measured from (a restart must not reset them, or it would judge quotes differently)
            "quotes_seen": {
                k: [b, a, since.isoformat(), u]
                for k, (b, a, since, u) in sorted(m.state.quotes._seen.items())
            },
            "jumps_last": dict(sorted(m.state.jumps.last.items())),
        }

    def load_json(self, doc: Any) -> None:
        m = self.m
        _replace_state(m.state, RiskState.from_json(doc["state"]))
        m._saved = str(doc["saved"]).encode("utf-8")
        m._reported = {str(k) for k in doc["reported"]}
        m._greeks_alerted = set(doc["greeks_alerted"])
        m._greeks_day = date.fromisoformat(doc["greeks_day"]) if doc["greeks_day"] else None
        m._day = date.fromisoformat(doc["day"]) if doc["day"] else None
        m.state.quotes._seen = {
            str(k): (float(b), float(a), datetime.fromisoformat(t), float(u))
            for k, (b, a, t, u) in doc["quotes_seen"].items()
        }
        m.state.jumps.last = {str(k): float(v) for k, v in doc["jumps_last"].items()}
        m._loaded = True


def register_exact_sections(state: Any, system: Any) -> None:
    """Exact sections for the components that lack a ``Persistable`` form of their own."""
    from persistence import is_persistable

    if isinstance(system.executor, OrderManager) and not is_persistable(system.executor):
        state.register(ExecutorSection(system.executor))
    monitors = getattr(system, "monitors", None)
    if isinstance(monitors, RiskMonitors) and not is_persistable(monitors):
        state.register(RiskMonitorsSection(monitors))
