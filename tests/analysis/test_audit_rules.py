"""The auditor's checks of the rules of 2026-12-02, each at its boundary."""

from __future__ import annotations

import pytest

from tests.analysis.test_audit import _audit, _row


def _rules(tmp_path, **over) -> list[str]:
    return [v.split(":")[0] for v in _audit(tmp_path, _row(**over))]


@pytest.mark.parametrize(("after", "bad"), [(20_000.0, False), (20_000.02, True)])
def test_an_entry_past_the_stress_limit_is_a_violation(tmp_path, after, bad):
    rules = _rules(tmp_path, notes={"gate_stress_after": after, "gate_stress_limit": 20_000.0})
    assert ("stress_limit" in rules) is bad
    hedge = {"gate_stress_after": after, "gate_stress_limit": 20_000.0, "gate_stress_before": after + 1}
    assert "stress_limit" not in _rules(tmp_path, notes=hedge), "it lowered a loss already beyond the limit"


LT112 = {"strategy": "lt112", "group_id": "lt112-20250305-001-spread", "campaign": "lt112-20250305-001",
         "part": "spread", "opened_at": "2025-03-05T10:05:00", "exit_reason": "dte_exit",
         "legs": "1xES250703P05500000 -1xES250703P05450000"}  # fmt: skip


@pytest.mark.parametrize(("short", "bad"), [(5450, False), (5440, False), (5460, False), (5439.75, True)])
def test_lt112_width_50_within_10_points(tmp_path, short, bad):
    notes = {"strike_0": 5500, "strike_1": short, "dte": 120, "delta_0": -0.25, "delta_2": -0.05,
             "signal_minute": 600, "exit_dte": 21}  # fmt: skip
    assert ("lt112_width" in _rules(tmp_path, notes=notes, **LT112)) is bad


IPMCC_SHORT = {"strategy": "ipmcc", "group_id": "ipmcc-20250307-002", "campaign": "ipmcc-20250307-001",
               "part": "short_call", "opened_at": "2025-03-07T10:05:00", "legs": "-1xIWM250314C00230000"}  # fmt: skip


@pytest.mark.parametrize(("strike", "bad"), [(230.0, False), (229.99, True)])
def test_ipmcc_weekly_at_or_above_the_break_even(tmp_path, strike, bad):
    notes = {"strike_0": strike, "break_even": 230.0, "long_strike": 190.0, "long_paid": 41.0,
             "weekly_kept": 1.0, "dte": 7, "delta_0": 0.2, "nlv": 100_000}  # fmt: skip
    assert ("ipmcc_break_even" in _rules(tmp_path, notes=notes, **IPMCC_SHORT)) is bad


@pytest.mark.parametrize(("pnl", "bad"), [(-800.0, False), (-799.0, True)])
def test_ipmcc_campaign_stop_at_20_percent_of_the_long_call_cost(tmp_path, pnl, bad):
    notes = {"exit_campaign_pnl": pnl, "exit_cost": 40.0, "dte": 365, "delta_0": 0.8, "extrinsic": 2.0,
             "underlying": 220.0, "cost": 4_000.0, "exit_dte": 300}  # fmt: skip
    row = {**IPMCC_SHORT, "part": "long_call", "group_id": "ipmcc-20250307-001", "exit_reason": "stop_loss",
           "legs": "1xIWM260320C00190000"}  # fmt: skip
    rules = _rules(tmp_path, notes=notes, **row)
    assert ("exit_reason" in rules) is bad


@pytest.mark.parametrize(("margin", "bad"), [(3_000.0, False), (3_000.02, True)])
def test_leap_rung_margin_3_percent_of_nlv(tmp_path, margin, bad):
    notes = {"margin": margin, "nlv": 100_000, "dte": 365, "delta_0": -0.12, "target_delta": 0.12,
             "signal_minute": 600}  # fmt: skip
    row = {"strategy": "leap_ladder", "group_id": "leap_ladder-20250303-001", "opened_at": "2025-03-03T10:05:00",
           "campaign": "leap_ladder-SPY", "exit_reason": "roll", "legs": "-1xSPY260320P00500000"}  # fmt: skip
    assert ("size" in _rules(tmp_path, notes={**notes, "exit_dte": 150}, **row)) is bad


@pytest.mark.parametrize(("ladder", "bad"), [(25_000.0, False), (25_000.02, True)])
def test_leap_ladder_margin_with_the_new_rung_25_percent_of_nlv(tmp_path, ladder, bad):
    notes = {"margin": 2_000.0, "ladder_margin": ladder, "nlv": 100_000, "dte": 365, "delta_0": -0.12,
             "target_delta": 0.12, "signal_minute": 600, "exit_dte": 150}  # fmt: skip
    row = {"strategy": "leap_ladder", "group_id": "leap_ladder-20250303-001", "opened_at": "2025-03-03T10:05:00",
           "campaign": "leap_ladder-SPY", "exit_reason": "roll", "legs": "-1xSPY260320P00500000"}  # fmt: skip
    assert ("size" in _rules(tmp_path, notes=notes, **row)) is bad


@pytest.mark.parametrize(("loss_usd", "bad"), [(5_000.0, False), (4_999.98, True)])
def test_a_stop_short_of_its_multiple_is_right_only_at_the_max_risk_of_the_entry_nlv(tmp_path, loss_usd, bad):
    """A strangle stopped at a loss of 1.5 credits (its rule: 2.5) is right only when the loss reached
    5% of the NLV the entry was approved at ($100,000)."""
    notes = {"exit_profit": -3.0, "exit_credit": 2.0, "exit_loss_usd": loss_usd}
    assert ("exit_reason" in _rules(tmp_path, exit_reason="stop_loss", notes=notes)) is bad
