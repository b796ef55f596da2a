"""Market sources of the offline engine: the synthetic market and LEAN-format data."""
