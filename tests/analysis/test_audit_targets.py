"""Filled profit targets against the rulebook's allowance (a filled ``profit_target`` realises at
least its target less one tick per leg), at the boundary, on hand-made trades.csv rows."""

from __future__ import annotations

import pytest

from analysis.audit import main
from analysis.audit_targets import shortfall, worst
from analysis.trade_log import load_trades
from core.settings import Settings
from tests.analysis.test_audit import _audit, _row

S = Settings()
# The default row: an ES strangle (2 legs, tick 0.25, 50 x) sold for 2.00 with $5 of fees; its
# target is 50% of the credit, 1.00 point a unit after fees.  It realises 2.00 - exit - 0.10.
FEE_POINTS = 5.0 / 50.0


def _strangle(exit_price: float, **over) -> dict:
    pnl = (2.0 - exit_price) * 50.0 - 5.0
    return _row(exit_price=f"{exit_price:.4f}", pnl=f"{pnl:.2f}", **over)


@pytest.mark.parametrize(
    ("ticks_short", "bad"), [(0.0, False), (1.0, False), (1.02, True), (2.0, True), (-1.0, False)]
)
def test_a_profit_target_more_than_one_tick_per_leg_short_is_a_violation(tmp_path, ticks_short, bad):
    exit_price = 1.0 - FEE_POINTS + ticks_short * 0.25 * 2  # ticks per leg x tick x legs
    rules = [v.split(":")[0] for v in _audit(tmp_path, _strangle(exit_price))]
    assert ("profit_target_fill" in rules) is bad


def test_the_shortfall_in_dollars_and_ticks_per_leg(tmp_path):
    path = tmp_path / "trades.csv"
    _audit(tmp_path, _strangle(1.0 - FEE_POINTS + 0.5))  # one tick per leg short: 0.50 points
    [t] = load_trades(path)
    short = shortfall(t, S)
    assert short is not None and short.multiplier == pytest.approx(50.0), "from the row's own P&L"
    assert short.dollars == pytest.approx(25.0) and short.ticks_per_leg == pytest.approx(1.0)
    assert not short.violation


def test_the_lt112_spread_is_measured_by_its_sale_against_150_percent_of_cost(tmp_path):
    spread = {"strategy": "lt112", "group_id": "lt112-20250305-001-spread", "campaign": "lt112-20250305-001",
              "part": "spread", "opened_at": "2025-03-05T10:05:00", "entry_price": "20.0",
              "legs": "+1xES250703P05500000 -1xES250703P05450000"}  # fmt: skip
    path = tmp_path / "trades.csv"
    for sold, bad in ((-29.5, False), (-29.45, True)):  # 150% of 20 = 30; one tick per leg = 0.50
        _audit(tmp_path, _row(**spread, exit_price=str(sold), pnl=f"{(-sold - 20.0) * 50 - 5:.2f}"))
        [t] = load_trades(path)
        short = shortfall(t, S)
        assert short is not None and short.violation is bad and short.target == pytest.approx(30.0)


def test_exits_other_than_profit_targets_are_not_judged(tmp_path):
    path = tmp_path / "trades.csv"
    _audit(tmp_path, _row(exit_reason="stop_loss", exit_price="9.0", pnl="-355"))
    assert shortfall(load_trades(path)[0], S) is None


def test_the_auditor_prints_the_worst_profit_target(tmp_path, capsys):
    rows = [
        _strangle(1.0 - FEE_POINTS),
        _strangle(1.0 - FEE_POINTS + 0.5, group_id="strangle-20250311-001"),
    ]
    _audit(tmp_path, *rows)
    found = worst(load_trades(tmp_path / "trades.csv"), S)
    assert found is not None and found.group_id == "strangle-20250311-001"
    assert main(tmp_path / "trades.csv", S, "test") == 0
    out = capsys.readouterr().out
    assert "worst profit_target exit: strangle-20250311-001, realised 0.5000 of its 1.0000 target" in out
    assert "$25.00 short, 1.00 ticks per leg (2 legs x 0.25)" in out
    _audit(tmp_path, rows[0], _strangle(1.0 - FEE_POINTS - 0.25, group_id="strangle-20250311-001"))
    main(tmp_path / "trades.csv", S, "test")
    assert (
        "strangle-20250304-001, realised 1.0000 of its 1.0000 target per unit: $0.00 above"
        in capsys.readouterr().out
    )
