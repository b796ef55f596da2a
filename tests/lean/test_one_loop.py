"""Both engines drive the one step loop (``core.loop.EngineLoop``): ``TomKingAlgorithm`` on the
LEAN double (main.py forwarding LEAN's scheduled events) and the offline engine pass the same
phases, in the same order, for a step and for an end of day, heard by one listener."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from core.loop import END_OF_DAY_PHASES, STEP_PHASES
from core.settings import Settings
from sim.calendar import ExchangeCalendar
from sim.engine import run_backtest
from sim.markets.synthetic import SyntheticConfig, SyntheticMarket
from sim.recorder import RunRecorder
from sim.store import MemoryStore
from testing.lean.bench import tomking

FRIDAY = date(2026, 10, 9)
ENDS = {STEP_PHASES[-1], END_OF_DAY_PHASES[-1]}


def _runs(phases: list[str]) -> list[tuple[str, ...]]:
    """The phases cut into one tuple per step or end of day."""
    out, current = [], []
    for phase in phases:
        current.append(phase)
        if phase in ENDS:
            out.append(tuple(current))
            current = []
    assert not current, f"a step or end of day stopped half way: {current}"
    return out


def _lean_phases(lean, hours) -> list[str]:
    engine, algo = tomking(lean, hours, FRIDAY, FRIDAY, cash=400_000.0)
    engine.start()
    phases: list[str] = []
    algo.engine_loop.hear(phases.append)
    engine.run_until(datetime(2026, 10, 9, 23, 59))
    engine.finish()
    return phases


def _sim_phases() -> list[str]:
    start = end = date(2025, 1, 3)
    settings = Settings().with_overrides(start_date=start.isoformat(), end_date=end.isoformat())
    calendar = ExchangeCalendar(start - timedelta(days=7), end + timedelta(days=800))
    market = SyntheticMarket(SyntheticConfig(seed=7, start=start, end=end), calendar)
    phases: list[str] = []
    run_backtest(settings, market, calendar, MemoryStore(), RunRecorder(), listeners=[phases.append])
    return phases


def test_lean_and_the_sim_pass_the_same_phases_for_a_step_and_an_end_of_day(lean, hours):
    lean_runs, sim_runs = _runs(_lean_phases(lean, hours)), _runs(_sim_phases())
    for runs in (lean_runs, sim_runs):
        assert runs[0] == STEP_PHASES, runs[0]  # a session's first step delivers the held events first
        assert runs[-1] == END_OF_DAY_PHASES, runs[-1]
        assert len(runs) > 2 and set(runs) == {STEP_PHASES, END_OF_DAY_PHASES}
    assert set(lean_runs) == set(sim_runs)
    # every LEAN step main.py scheduled went through the loop: 09:35 .. 16:10 every 5 minutes
    assert lean_runs.count(STEP_PHASES) == 80 and lean_runs.count(END_OF_DAY_PHASES) == 1


def test_the_adapters_and_the_systems_alerts_pass_the_one_router_in_lean(lean, hours, monkeypatch):
    """LEAN gets the same AlertRouter as the sim (assembly.build_monitoring): a repeat within the
    de-duplication window reaches LEAN's log once, and a secret from the environment never does."""
    from core.ports import Severity

    monkeypatch.setenv("TOMKING_TEST_SECRET", "hunter2-value")
    engine, algo = tomking(lean, hours, FRIDAY, FRIDAY, cash=400_000.0)
    engine.start()
    engine.run_until(datetime(2026, 10, 9, 9, 40))
    for _ in range(2):  # the adapter's own alert (order flow, ObjectStore) and a layer's alert
        algo.lean_platform.alert(Severity.CRITICAL, "Cannot flatten", "'SPY': hunter2-value")
        algo.trading_system.platform.notify(Severity.WARNING, "Layer alert", "once")
    lines = "\n".join(algo.lines)
    assert "hunter2-value" not in lines and lines.count("Cannot flatten") == lines.count("Layer alert") >= 1
    stats = algo.trading_system.platform.router.stats
    assert stats.duplicates == {"critical": 1, "warning": 1}
