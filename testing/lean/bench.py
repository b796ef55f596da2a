"""Ready-made set-ups on the LEAN double: ``TomKingAlgorithm`` itself, or a small algorithm that
subscribes a few roots and builds the LEAN adapter, both driven by ``testing.lean.engine``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from testing.lean.algorithm import QCAlgorithm
from testing.lean.engine import Engine
from testing.lean.hours import MarketHoursDatabase
from testing.lean.market import Market
from testing.lean.object_store import LocalObjectStore
from testing.lean.symbols import Symbol

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


def parameters(start: date, end: date, cash: float = 150_000.0, **overrides: str) -> dict[str, str]:
    """config.json's parameters with the run's dates and cash."""
    params = json.loads((ROOT / "config.json").read_text())["parameters"]
    params.update(
        start_date=start.isoformat(), end_date=end.isoformat(), starting_cash=str(cash), **overrides
    )
    return params


def tomking(
    main: Any,
    hours: MarketHoursDatabase,
    start: date,
    end: date,
    market: Market | None = None,
    live: bool = False,
    store: LocalObjectStore | None = None,
    cash: float = 150_000.0,
    **overrides: str,
) -> tuple[Engine, Any]:
    """``main.TomKingAlgorithm`` on the double (``main`` from ``testing.lean.installed()``)."""
    algo = main.TomKingAlgorithm()
    algo.live_mode = algo.transactions.live = live
    engine = Engine(algo, market or Market(), hours, parameters(start, end, cash, **overrides), store)
    return engine, algo


@dataclass
class Adapter:
    engine: Engine
    algorithm: QCAlgorithm
    platform: Any
    spx: Symbol

    def events(self) -> list[Any]:
        """Core order events so far: those LEAN delivered through ``on_order_event`` (main.py's
        path) and those the adapter held for the loop (``drain``)."""
        out = [*self.algorithm.core_events, *drain(self.platform)]  # type: ignore[attr-defined]
        self.algorithm.core_events.clear()  # type: ignore[attr-defined]
        return out


def drain(platform: Any) -> list[Any]:
    """Take the order events the adapter holds for the loop, as ``core.loop`` delivers them."""
    events = list(platform.pending_events())
    for event in events:
        platform.consumed(event)
    return events


def adapter(
    platform_module: Any, hours: MarketHoursDatabase, day: date, live: bool = False, bands: Any = None
) -> Adapter:
    """A small algorithm: SPX, VIX, SPXW (band filter), SPY equity + options, ES futures + options,
    and a ``LeanPlatform`` over it; started, not yet run."""
    from lean_adapter.translate import AdapterOptions, StrikeBand

    mod = platform_module
    spxw_bands = bands or (StrikeBand(0, 3, 0.9, 1.1),)

    class Small(QCAlgorithm):
        core_events: list[Any]

        def on_order_event(self, order_event: Any) -> None:
            self.core_events += self.platform.on_order_event(order_event)

        def on_data(self, data: Any) -> None:
            self.platform.on_data(data)

        def initialize(self) -> None:
            self.core_events = []
            self.set_start_date(day.year, day.month, day.day)
            self.set_end_date(day.year, day.month, day.day)
            self.set_cash(100_000)
            spx = self.add_index("SPX")
            vix = self.add_index("VIX")
            self.add_index_option(spx.symbol, "SPXW").set_filter(mod.band_filter(spxw_bands))
            spy = self.add_equity("SPY")
            self.add_option(spy.symbol).set_filter(mod.band_filter((StrikeBand(0, 40, 0.9, 1.1),)))
            es = self.add_future("ES")
            self.add_future_option(es.symbol, mod.band_filter((StrikeBand(0, 200, 0.8, 1.2),)))
            self.spx_symbol = spx.symbol
            under = {"SPX": spx.symbol, "VIX": vix.symbol, "SPY": spy.symbol}
            self.platform = mod.LeanPlatform(
                self, AdapterOptions("ops@example.com"), spx, vix.symbol, under, {"ES": es}
            )

    algo = Small()
    algo.live_mode = live
    engine = Engine(algo, Market(), hours, {})
    engine.start()
    return Adapter(engine, algo, algo.platform, algo.spx_symbol)


def at(day: date, hh: int, mm: int) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm)
