"""The previous ``make bench`` figures, so each run prints its values next to the last ones.

``bench/history.json`` maps a benchmark's name to its last value and unit (and when, which commit).
Figures depend on the machine; the file is committed so a clone starts with the last figures the
team measured, and a run rewrites it with its own.
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

PATH = Path(__file__).with_name("history.json")


def load(path: Path = PATH) -> dict[str, dict]:
    """Previous figures by benchmark name; an unreadable file is reported once and ignored."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        print(f"bench: ignoring unreadable {path.name} ({exc})")
        return {}
    return doc if isinstance(doc, dict) else {}


def save(rows: list[dict], path: Path = PATH) -> None:
    """Keep the previous figures of benchmarks this run did not measure (a subset run)."""
    doc = load(path)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%MZ")
    commit = _commit()
    for r in rows:
        if isinstance(r["value"], int | float):
            doc[r["name"]] = {"value": r["value"], "unit": r["unit"], "at": stamp, "commit": commit}
    path.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def previous(doc: dict[str, dict], name: str) -> float | None:
    value = doc.get(name, {}).get("value") if isinstance(doc.get(name), dict) else None
    return float(value) if isinstance(value, int | float) else None


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False,
            cwd=PATH.parent,
        )  # fmt: skip
    except OSError:
        return ""
    return out.stdout.strip()
