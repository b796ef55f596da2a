"""A faithful double of the LEAN API the project touches (replaces LEAN where LEAN cannot run).

Behaviour comes from LEAN's own data (market-hours-database.json) and rules; each rule carries a
comment naming the LEAN source file it mirrors.  ``install()`` makes ``import AlgorithmImports``
resolve to ``testing.lean.algorithm_imports`` and reloads the modules that imported it.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

LEAN_MODULES = ("lean_adapter.platform", "main")


@contextmanager
def installed() -> Iterator[ModuleType]:
    """``AlgorithmImports`` = the double for the duration; yields ``main`` freshly imported."""
    from testing.lean import algorithm_imports

    saved = {name: sys.modules.get(name) for name in ("AlgorithmImports", *LEAN_MODULES)}
    sys.modules["AlgorithmImports"] = algorithm_imports
    for name in LEAN_MODULES:
        sys.modules.pop(name, None)
    try:
        yield importlib.import_module("main")
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
