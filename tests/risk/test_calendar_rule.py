"""The gate's calendar rule on the offline engine's exchange calendar: holidays and early closes,
including the Cboe override table (half days such as 3 July and 24 December, the 2025-01-09 closure)."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time

import pytest

from core.settings import Settings
from risk.gate import EntryGate
from sim.calendar import CBOE_OVERRIDES, ExchangeCalendar
from strategies.zero_dte import ZeroDteIronCondor
from testing.factories import FakeContext, account, friday, snapshot, zero_dte_chain

S = Settings()


@pytest.fixture(scope="module")
def calendar() -> ExchangeCalendar:
    return ExchangeCalendar(date(2023, 1, 1), date(2026, 12, 31))


@pytest.mark.parametrize(("day", "close"), sorted(CBOE_OVERRIDES.items()))
def test_every_override_is_what_the_calendar_answers(calendar, day, close):
    if close is None:
        assert not calendar.is_trading_day(day) and calendar.session_close(day) is None
    else:
        assert calendar.session_close(day) == datetime.combine(day, close) and calendar.is_early_close(day)


@pytest.mark.parametrize("day", [date(2025, 7, 3), date(2025, 12, 24), date(2026, 12, 24), date(2024, 7, 3)])
def test_gate_allows_entries_before_an_early_close_and_none_from_it(calendar, day):
    gate = EntryGate(S, calendar)
    base = friday()
    (intent,) = ZeroDteIronCondor(S).propose(
        snapshot(base, [zero_dte_chain(base)]), FakeContext(account(now=base))
    )

    def at(hh: int, mm: int):
        now = datetime.combine(day, time(hh, mm))
        chain = zero_dte_chain(now)
        legs = tuple(
            dataclasses.replace(leg, contract=dataclasses.replace(leg.contract, expiry=day))
            for leg in intent.legs
        )
        return gate.evaluate(
            dataclasses.replace(intent, legs=legs), snapshot(now, [chain]), FakeContext(account(now=now))
        )

    assert at(12, 55).code not in ("calendar_closed", "calendar_after_close")
    for hh, mm in ((13, 0), (13, 5), (15, 55)):
        decision = at(hh, mm)
        assert decision.code == "calendar_after_close" and "early close" in decision.message


@pytest.mark.parametrize("day", [date(2025, 1, 9), date(2025, 7, 4), date(2025, 12, 25), date(2025, 4, 18)])
def test_gate_blocks_every_entry_on_a_holiday(calendar, day):
    gate = EntryGate(S, calendar)
    now = datetime.combine(day, time(11))
    (intent,) = ZeroDteIronCondor(S).propose(
        snapshot(friday(), [zero_dte_chain(friday())]), FakeContext(account(now=friday()))
    )
    decision = gate.evaluate(intent, snapshot(now, [zero_dte_chain(now)]), FakeContext(account(now=now)))
    assert decision.code == "calendar_closed" and str(day) in decision.message
