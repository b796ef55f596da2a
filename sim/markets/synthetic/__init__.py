"""The offline engine's synthetic market: SPX/VIX-driven paths, listed futures and lazily priced options.

``SyntheticMarket(SyntheticConfig(...), calendar)`` gives ``trading_days()``, ``step_times(day)`` and
``snapshot_at(t)``; the same config and calendar give byte-identical snapshots, and a seed has one
path whatever window is run (``daily.py``).  Calibrated against LEAN's real chains: tests/calibration.
"""

from sim.markets.synthetic.config import SyntheticConfig
from sim.markets.synthetic.market import SyntheticMarket

__all__ = ["SyntheticConfig", "SyntheticMarket"]
