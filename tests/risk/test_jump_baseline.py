"""The jump rule compares the same instrument no more than one session apart (STRATEGY_RULES.md,
data quality): a weekend or holiday gap counts, a weeks-old observation is no baseline."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from core.settings import Settings
from persistence.typed import from_plain, to_plain
from risk.data_quality import JumpWatch
from risk.state import RiskState
from testing.factories import WeekdayCalendar

S = Settings()
FRIDAY_CLOSE = datetime(2025, 3, 14, 15, 55)


@pytest.mark.parametrize(
    ("later", "calendar", "halts"),
    [
        (datetime(2025, 3, 17, 9, 35), None, True),  # Monday: the weekend gap is one session
        (datetime(2025, 3, 18, 9, 35), None, False),  # Tuesday: Monday's session was missed
        (datetime(2025, 3, 18, 9, 35), WeekdayCalendar(holidays=[datetime(2025, 3, 17).date()]), True),
        (datetime(2025, 4, 1, 9, 35), None, False),  # weeks later (the CLK25 false halt)
    ],
)
def test_jump_baseline_across_a_weekend_a_holiday_and_weeks(later, calendar, halts):
    watch = JumpWatch()
    assert watch.observe("CLK25", 77.46, FRIDAY_CLOSE, S, calendar) == ""
    message = watch.observe("CLK25", 87.73, later, S, calendar)
    assert bool(message) is halts
    if halts:
        assert "since 2025-03-14" in message and watch.halted_until is not None
    # the new observation is the baseline from now on
    assert watch.observe("CLK25", 87.80, later.replace(minute=40), S, calendar) == ""


def _restarted(state: RiskState, drop: str = "") -> RiskState:
    """The risk state through the persistence codec, as a restart sees it (``drop``: a field an
    older state did not have)."""
    plain = json.loads(json.dumps(to_plain(state)))
    if drop:
        del plain["jumps"][drop]
    return from_plain(RiskState, plain)


def test_the_baseline_day_survives_a_restart_and_an_old_state_has_none():
    state = RiskState()
    state.jumps.observe("SPX", 5000.0, FRIDAY_CLOSE, S)
    assert _restarted(state).jumps.observe("SPX", 5400.0, datetime(2025, 3, 17, 9, 35), S)
    old = _restarted(state, drop="seen")  # written before the one-session rule: no baseline day
    assert old.jumps.observe("SPX", 5400.0, datetime(2025, 3, 17, 9, 35), S) == ""
