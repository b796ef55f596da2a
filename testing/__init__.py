"""Shared fakes, factories, scenarios and loopback servers for tests and benchmarks (never loaded
by LEAN or by a backtest)."""
