"""``make bench`` prints each figure next to the previous run's: the history file it keeps."""

from __future__ import annotations

from pathlib import Path

from bench import history


def test_a_run_records_its_figures_and_keeps_those_it_did_not_measure(tmp_path: Path):
    path = tmp_path / "history.json"
    history.save(
        [{"name": "backtest", "value": 50.0, "unit": "s"}, {"name": "gate", "value": 3, "unit": "ms"}], path
    )
    history.save(
        [{"name": "backtest", "value": 7.5, "unit": "s"}, {"name": "note", "value": "n/a", "unit": ""}], path
    )
    doc = history.load(path)
    assert history.previous(doc, "backtest") == 7.5
    assert history.previous(doc, "gate") == 3.0  # a subset run keeps the others' previous figures
    assert history.previous(doc, "note") is None and history.previous(doc, "never run") is None


def test_an_unreadable_history_is_reported_and_ignored(tmp_path: Path, capsys):
    path = tmp_path / "history.json"
    path.write_text("{not json", encoding="utf-8")
    assert history.load(path) == {}
    assert "ignoring unreadable history.json" in capsys.readouterr().out
