"""``audit`` checks against the parameters it says: an explicit --config wins over the
parameters.json the backtest wrote beside its trades, and a missing one is an error."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from sim.cli import main
from tests.analysis.test_audit import HEADER, _row


def _run_dir(tmp_path: Path) -> Path:
    trades = tmp_path / "run" / "trades.csv"
    trades.parent.mkdir()
    with trades.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, HEADER)
        writer.writeheader()
        writer.writerow(_row())  # a Tuesday strangle, by the default rules
    # the backtest ran with strangles on Wednesdays: by its parameters the Tuesday entry is wrong
    (trades.parent / "parameters.json").write_text(json.dumps({"parameters": {"strangle_weekday": "2"}}))
    return trades


def test_audit_uses_the_parameters_beside_the_trades_by_default_and_says_so(tmp_path, capsys):
    trades = _run_dir(tmp_path)
    assert main(["audit", str(trades)]) == 1
    out = capsys.readouterr().out
    assert "[entry_weekday]" in out
    assert out.rstrip().endswith(f"rules from {trades.parent / 'parameters.json'}")


def test_an_explicit_config_wins_over_parameters_json(tmp_path, capsys):
    trades = _run_dir(tmp_path)
    config = tmp_path / "tuesday.json"
    config.write_text(
        json.dumps({"parameters": {"strangle_weekday": "1", "notify_email": "ops@example.com"}})
    )
    assert main(["audit", str(trades), "--config", str(config)]) == 0
    assert capsys.readouterr().out.rstrip().endswith(f"0 violation(s); rules from {config}")


def test_audit_with_a_missing_or_bad_config_is_an_error(tmp_path, capsys):
    trades = _run_dir(tmp_path)
    assert main(["audit", str(trades), "--config", str(tmp_path / "nope.json")]) == 2
    assert capsys.readouterr().err == f"error: --config {tmp_path / 'nope.json'}: no such file\n"
    (trades.parent / "parameters.json").write_text('{"parameters": {"strangle_weekday": "6"}}')
    assert main(["audit", str(trades)]) == 2
    assert "parameters.json parameters.strangle_weekday: 6 is not a weekday" in capsys.readouterr().err
