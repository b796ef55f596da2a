"""The risk layer's memory, shared by the gate and the monitors, saved under its own state key.

Persisted (small JSON, versioned): the circuit breaker, per-strategy health, the entry halt after
an underlying jump and the last price of each underlying, the last manual-reset token applied and
the assignments already handled.
Not persisted: quote history for stuck-quote detection (it rebuilds within minutes).  Persistence
by another layer can fold ``to_json()`` into its own schema; ``from_json`` rejects anything it does
not understand with a ``ValueError`` naming the problem.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from risk.breaker import CircuitBreaker
from risk.data_quality import JumpWatch, QuoteWatch
from risk.strategy_guard import StrategyGuard
from risk.trade_units import TradeUnits

STATE_KEY = "risk/state.json"
RESET_KEY = "risk/reset_request"  # write any text here (ObjectStore / state store) to reset once
VERSION = 1


@dataclass
class RiskState:
    breaker: CircuitBreaker = field(default_factory=CircuitBreaker)
    guard: StrategyGuard = field(default_factory=StrategyGuard)
    jumps: JumpWatch = field(default_factory=JumpWatch)
    quotes: QuoteWatch = field(default_factory=QuoteWatch)
    units: TradeUnits = field(default_factory=TradeUnits)  # LT112 units, IPMCC campaigns in progress
    reset_token: str = ""  # the risk_breaker_reset value already applied
    flattened: dict[str, str] = field(default_factory=dict)  # holding symbol -> ISO time handled
    portfolio: Any = None  # risk.portfolio.PortfolioCache shared by gate and monitors (not persisted)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": VERSION,
            "breaker": self.breaker.to_json(),
            "strategies": self.guard.to_json(),
            "jump_halt_until": self.jumps.halted_until.isoformat() if self.jumps.halted_until else "",
            "jump_reason": self.jumps.reason,
            "last_prices": dict(sorted(self.jumps.last.items())),
            "last_seen": {k: v.isoformat() for k, v in sorted(self.jumps.seen.items())},
            "reset_token": self.reset_token,
            "trade_units": self.units.to_json(),
            "flattened": dict(sorted(self.flattened.items())),
        }

    @staticmethod
    def from_json(d: Any) -> RiskState:
        if not isinstance(d, dict):
            raise ValueError("risk state must be a JSON object")
        if d.get("version") != VERSION:
            raise ValueError(f"risk state version {d.get('version')!r} is not {VERSION}")
        try:
            state = RiskState(
                breaker=CircuitBreaker.from_json(d["breaker"]),
                guard=StrategyGuard.from_json(d["strategies"]),
                reset_token=str(d["reset_token"]),
                flattened={str(k): str(v) for k, v in d["flattened"].items()},
            )
            until = str(d["jump_halt_until"])
            state.jumps.halted_until = datetime.fromisoformat(until) if until else None
            state.jumps.reason = str(d["jump_reason"])
            state.units = TradeUnits.from_json(d.get("trade_units", {}))
            state.jumps.last = {str(k): float(v) for k, v in d["last_prices"].items()}
            # absent in states written before the jump rule's one-session baseline: no baseline
            state.jumps.seen = {str(k): date.fromisoformat(str(v)) for k, v in d.get("last_seen", {}).items()}
        except (KeyError, TypeError, AttributeError, IndexError) as exc:
            raise ValueError(f"risk state is missing or has a malformed field: {exc!r}") from None
        return state
