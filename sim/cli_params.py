"""``params``: every parameter config.json may hold, with its default, its rules and what it does.

The descriptions are ``Settings.describe()``'s, the rules ``Settings.constraints()``' (the same
checks start-up runs); the LEAN adapter's own parameters follow, which the offline engine accepts
and ignores.
"""

from __future__ import annotations

from core.settings import Settings
from lean_adapter.translate import ADAPTER_PARAMETERS


def params_text(prefix: str = "") -> str:
    """One block per parameter whose name starts with ``prefix``: name = default, rules, description."""
    rules = Settings.constraints()
    rows = [(name, default, rules[name], doc) for name, default, doc in Settings.describe()]
    rows += [
        (name, default, "", f"{doc} (LEAN adapter only; the offline engine ignores it)")
        for name, (default, doc) in ADAPTER_PARAMETERS.items()
    ]
    blocks = []
    for name, default, rule, doc in rows:
        if not name.startswith(prefix):
            continue
        lines = [f"{name} = {default or repr('')}"]
        if rule:
            lines.append(f"    allowed: {rule}")
        lines.append(f"    {doc}")
        blocks.append("\n".join(lines))
    return "\n".join(blocks)
