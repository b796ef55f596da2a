"""Entries on bad underlying, VIX or option prices are blocked by the gate's data-quality rules, each
with its own reason code and recorded as a risk event (issue 13: underlying NaN -> 5 entries,
0 -> 8; VIX NaN -> 3, -20 -> 8; quotes /1000 -> an LT112 entered at a -0.037 credit)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from core.quote_screen import QuoteScreen
from core.settings import Settings
from core.types import OptionChain, UnderlyingQuote
from risk.events import RiskLog
from risk.gate import EntryGate
from strategies.zero_dte import ZeroDteIronCondor
from testing.factories import FakeContext, WeekdayCalendar, account, friday, snapshot, zero_dte_chain

S = Settings()
NOW = friday()


def _gate() -> tuple[EntryGate, RiskLog]:
    log = RiskLog(None)
    return EntryGate(S, WeekdayCalendar(), log=log, screen=QuoteScreen(S)), log


def _intent():
    chain = zero_dte_chain(NOW)
    (intent,) = ZeroDteIronCondor(S).propose(snapshot(NOW, [chain]), FakeContext(account(now=NOW)))
    return intent


def _scaled(chain: OptionChain, factor: float) -> OptionChain:
    quotes = tuple(dataclasses.replace(q, bid=q.bid * factor, ask=q.ask * factor) for q in chain.quotes)
    return dataclasses.replace(chain, quotes=quotes)


def _evaluate(gate: EntryGate, snap, intent=None):
    return gate.evaluate(intent or _intent(), snap, FakeContext(account(now=snap.time)))


@pytest.mark.parametrize("vix", [float("nan"), -20.0, 0.0, None, float("inf"), 24_000.0])
def test_an_unusable_vix_blocks_every_entry_and_is_recorded(vix):
    gate, log = _gate()
    decision = _evaluate(gate, snapshot(NOW, [zero_dte_chain(NOW)], vix=vix))  # type: ignore[arg-type]
    assert decision.code == "dq_vix_invalid" and not decision.approved
    (event,) = log.events
    assert event.rule == "dq_vix_invalid" and event.action.value == "block_entry"


def test_a_vix_jump_blocks_until_it_has_held_for_the_halt_window():
    gate, log = _gate()
    assert _evaluate(gate, snapshot(NOW, [zero_dte_chain(NOW)], vix=24.0)).approved
    later = NOW + timedelta(minutes=5)
    assert _evaluate(gate, snapshot(later, [zero_dte_chain(later)], vix=120.0)).code == "dq_vix_jump"
    assert _evaluate(gate, snapshot(later, [zero_dte_chain(later)], vix=25.0)).approved, "a glitch, gone"
    spike = NOW + timedelta(minutes=10)
    assert _evaluate(gate, snapshot(spike, [zero_dte_chain(spike)], vix=110.0)).code == "dq_vix_jump"
    held = spike + timedelta(minutes=S.dq_jump_halt_minutes + 1)
    assert _evaluate(gate, snapshot(held, [zero_dte_chain(held)], vix=110.0)).code != "dq_vix_jump"
    assert [e.rule for e in log.events][:2] == ["dq_vix_jump", "dq_vix_jump"]


@pytest.mark.parametrize("price", [float("nan"), 0.0, -5000.0])
def test_an_unusable_underlying_blocks_the_entry(price):
    gate, log = _gate()
    snap = snapshot(NOW, [zero_dte_chain(NOW)])
    bad = dataclasses.replace(
        snap,
        underlyings={"SPX": UnderlyingQuote("SPX", snap.underlyings["SPX"].kind, NOW, price, price, price)},
    )
    decision = _evaluate(gate, bad)
    assert decision.code == "dq_underlying_invalid" and "SPX" in decision.message
    assert log.events[-1].rule == "dq_underlying_invalid"


def test_quotes_divided_by_1000_never_open_a_credit_structure_at_a_debit():
    gate, log = _gate()  # no history: the quotes' own values must give them away
    intent = _intent()
    decision = _evaluate(gate, snapshot(NOW, [_scaled(zero_dte_chain(NOW), 1 / 1000)]), intent)
    assert decision.code == "entry_wrong_sign" and "debit" in decision.message
    assert log.events[-1].values["expected_credit"] < 0


def test_quotes_that_jumped_against_the_last_good_ones_block_the_entry():
    gate, _ = _gate()
    intent = _intent()
    assert _evaluate(gate, snapshot(NOW, [zero_dte_chain(NOW)]), intent).approved
    later = NOW + timedelta(minutes=5)
    for factor in (1 / 1000, 1000):
        decision = _evaluate(gate, snapshot(later, [_scaled(zero_dte_chain(later), factor)]), intent)
        assert decision.code in ("dq_quote_jump", "dq_out_of_bounds"), decision
    assert _evaluate(gate, snapshot(later, [zero_dte_chain(later)]), intent).approved, "good again"
