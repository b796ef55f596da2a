"""The robustness lab: Monte Carlo paths, parameter sweeps and walk-forward folds of the trading
system, each task one backtest on a Ray worker (``python -m sim lab --help``, docs/LAB.md)."""
