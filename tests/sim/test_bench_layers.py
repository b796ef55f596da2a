"""``make profile`` splits a backtest's time by layer: the figure behind "what the offline engine
costs vs what the layers LEAN runs cost" must attribute samples the way the docstring says."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import layers

# Lines in py-spy's ``record --format raw`` form (folded stacks: "function (file:line)" frames joined
# by ";", then the sample count), cut down from a real profile of ``python -m sim backtest``.
_RUNPY = "_run_module_as_main (<frozen runpy>:198);_run_code (<frozen runpy>:88);<module> (sim/__main__.py:3)"
_STEP = f"{_RUNPY};main (sim/cli.py:56);run_backtest (sim/engine.py:151);EngineLoop.step (core/loop.py:65)"
PROFILE = [
    f"{_STEP};RiskMonitors.on_step (risk/monitors.py:80);stress_loss (core/stress.py:104) 5",
    f"{_STEP};stress_loss (core/stress.py:120);_price (core/stress.py:250);ndtr (scipy/special/x.py:1) 3",
    f"{_STEP};TradingSystem.on_step (core/system.py:150);SyntheticChains.quote (sim/markets/synthetic/chains.py:80)"
    ";price_arrays (sim/markets/synthetic/pricing.py:40);exp (numpy/_core/umath.py) 4",
    f"{_RUNPY};main (sim/cli.py:40);_find_and_load (<frozen importlib._bootstrap>:1360);"
    "<module> (core/types.py:1) 2",
    f"{_RUNPY};main (sim/cli.py:99);write_html_report (analysis/html_report.py:103);"
    "draw (matplotlib/figure.py:3000) 6",
    "_run_module_as_main (<frozen runpy>:198);dumps (json/__init__.py:231) 1",
    " 2",  # py-spy's line for samples with no Python frame (the thread was in native code)
    "",
]


def test_each_sample_counts_for_the_deepest_frame_of_our_own_code():
    counts = layers.layer_samples(PROFILE)
    # numpy/scipy beneath our frame count for the layer that called them; imports are start-up
    assert counts == {"core": 8, "sim": 4, "imports": 2, "analysis": 6, "other": 3}


def test_the_report_states_the_floor_the_lean_layers_set():
    lines = layers.report(layers.layer_samples(PROFILE))
    assert lines[0] == " 34.8 %  core"  # 8 of 23 samples, the most
    assert lines[-1].startswith(" 34.8 %  layers LEAN runs")  # only core among them here


def test_a_file_that_is_not_a_raw_profile_is_refused_with_its_line(tmp_path: Path, capsys):
    path = tmp_path / "profile.svg"
    path.write_text(f"{PROFILE[0]}\n<svg version='1.1'>\n")
    assert layers.main([str(path)]) == 1
    assert "line 2: not a py-spy raw profile line" in capsys.readouterr().err
    with pytest.raises(ValueError, match="no samples"):
        layers.report(layers.layer_samples([]))
