"""How hard execution tries: ladder, timeouts, retries and repair bounds, in one validated value.

The ladder comes from ``Settings`` (the rulebook's parameters); the rest are engineering limits
with defaults that suit both LEAN and the offline engine.  Times are ``timedelta`` of engine time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from core.settings import Settings


@dataclass(frozen=True, slots=True)
class ExecutionPolicy:
    step: timedelta = timedelta(minutes=5)  # between price improvements of an entry or exit
    max_steps: int = 3  # ladder steps from mid toward natural before an entry gives up
    max_concession: float = 1.0  # share of mid-to-natural the last entry step gives up
    ack_timeout: timedelta = timedelta(minutes=2)  # no acknowledgement by then: ask the broker
    max_attempts: int = 3  # sends of one ladder step after rejections or lost orders
    backoff_base: timedelta = timedelta(seconds=30)
    backoff_cap: timedelta = timedelta(minutes=10)
    backoff_jitter: float = 0.5  # share of each delay drawn at random (0 = none)
    repair_step: timedelta = timedelta(minutes=1)  # re-quote interval of repair orders
    repair_deadline: timedelta = timedelta(minutes=30)  # residual exposure past this: critical alert
    repair_complete_window: timedelta = timedelta(minutes=10)  # then completion gives way to unwind
    repair_slippage: float = 0.5  # completion may cost this share of the entry spread beyond natural
    repair_cushion_ticks: int = 2  # repair limits sit this many ticks through the natural price
    unexplained_alert: timedelta = timedelta(minutes=15)  # holdings we cannot explain: alert after

    def __post_init__(self) -> None:
        problems = []
        for name in ("step", "ack_timeout", "backoff_base", "backoff_cap", "repair_step", "repair_deadline"):
            if getattr(self, name) <= timedelta(0):
                problems.append(f"{name} must be positive")
        if self.max_steps < 0 or self.max_attempts < 1:
            problems.append("max_steps must be >= 0 and max_attempts >= 1")
        if not 0.0 <= self.max_concession <= 1.0 or not 0.0 <= self.backoff_jitter <= 1.0:
            problems.append("max_concession and backoff_jitter must be within [0, 1]")
        if self.repair_slippage < 0 or self.repair_cushion_ticks < 0:
            problems.append("repair_slippage and repair_cushion_ticks must be >= 0")
        if self.repair_complete_window > self.repair_deadline:
            problems.append("repair_complete_window must not exceed repair_deadline")
        if problems:
            raise ValueError("invalid execution policy: " + "; ".join(problems))

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: object) -> ExecutionPolicy:
        base: dict[str, object] = {
            "step": timedelta(minutes=settings.exec_step_minutes),
            "max_steps": settings.exec_max_steps,
            "max_concession": settings.exec_max_concession,
        }
        base.update(overrides)
        return cls(**base)  # type: ignore[arg-type]
