"""Win rate and consecutive losses count trades as the rulebook defines them: an LT112 unit and an
IPMCC campaign are one trade (issue 15: three losing units whose spread parts won did not pause)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from core.settings import Settings
from core.types import GroupStatus, PositionGroup
from persistence.typed import from_plain, to_plain
from risk.state import RiskState
from risk.trade_units import TradeUnits
from testing.factories import WeekdayCalendar

S = Settings()
T0 = datetime(2025, 3, 5, 11, 0)


def _part(campaign: str, part: str, pnl: float, strategy: str = "lt112", reason: str = "stop_loss"):
    # realized P&L = (-entry - exit) x 1 x 100 (contract multiplier 100 for the test's SPXW legs)
    from core.types import Leg, Right
    from testing.factories import spxw

    legs = (Leg(spxw(5000.0, Right.PUT, T0.date() + timedelta(days=120)), 1),)
    return PositionGroup(f"{campaign}-{part}", strategy, legs, 1, GroupStatus.CLOSED, entry_price=0.0,
                         exit_price=-pnl / 100, exit_reason=reason, campaign=campaign, part=part)  # fmt: skip


def test_three_losing_lt112_units_whose_spreads_won_pause_the_strategy():
    state = RiskState()
    paused = []
    for i in range(3):
        campaign = f"lt112-2025030{i}-001"
        for group in (_part(campaign, "spread", +400.0), _part(campaign, "naked", -1_000.0)):
            pnl = state.units.close(group)
            if pnl is None:
                continue
            assert pnl == -600.0, "the unit's P&L is the sum of its parts"
            events = state.guard.on_trade_closed("lt112", pnl, T0 + timedelta(days=i), S, WeekdayCalendar())
            paused += [e for e in events if e.rule == "consecutive_losses"]
    assert paused, "three losing units in a row pause LT112"


def test_an_ipmcc_campaign_is_one_trade_until_its_long_call_closes_and_a_roll_continues_it():
    units = TradeUnits()
    c = "ipmcc-20250307-001"
    assert units.close(_part(c, "short_call", 50.0, "ipmcc", "profit_target")) is None
    assert units.close(_part(c, "long_call", -200.0, "ipmcc", "roll")) is None, "a rolled long continues it"
    assert units.close(_part(c, "short_call", 30.0, "ipmcc", "roll")) is None
    state = RiskState(units=units)  # the pending sum survives a restart, with the risk state
    restored = from_plain(RiskState, json.loads(json.dumps(to_plain(state)))).units
    assert restored.close(_part(c, "long_call", -100.0, "ipmcc", "stop_loss")) == -220.0


def test_a_condor_strangle_or_rung_is_its_own_trade():
    units = TradeUnits()
    assert units.close(_part("zero_dte-20250307-001", "", 120.0, "zero_dte")) == 120.0
    assert units.close(_part("leap_ladder-SPY", "", -50.0, "leap_ladder")) == -50.0
