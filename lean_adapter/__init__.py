"""The LEAN adapter: the only code that knows QuantConnect LEAN.

``platform`` implements ``core.ports.Platform`` over a running ``QCAlgorithm`` (with ``main.py``
the only modules importing ``AlgorithmImports``); ``translate`` and ``combo_events`` are its
engine-neutral helpers, unit-tested without LEAN.  Importing this package imports nothing of LEAN.
"""
