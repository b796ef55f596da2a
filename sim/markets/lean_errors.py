"""``LeanDataError`` on its own, so the CLI and the market chooser can catch it without importing
the LEAN data reader (and pandas with it) on synthetic and history runs."""

from __future__ import annotations

from pathlib import Path


class LeanDataError(ValueError):
    """A LEAN data file is missing or malformed; says which file, member and line."""

    def __init__(self, path: Path | str, problem: str, *, member: str | None = None, line: int | None = None):
        self.path, self.problem, self.member, self.line = Path(path), problem, member, line
        where = str(path) + (f" [{member}]" if member else "") + (f" line {line}" if line else "")
        super().__init__(f"{where}: {problem}")
