"""``make lean-project``: a LEAN CLI workspace holding a clean copy of this project.

LEAN compiles every ``.py`` file of a project folder and ``lean cloud push`` uploads every file, so
the project gets only what LEAN loads: ``main.py``, ``assembly.py``, ``config.json``,
``requirements.txt`` and the packages ``main.py`` imports - never tests/, sim/, analysis/,
testing/, bench/, docs or reports.  Layout (what the LEAN CLI expects, lean-cli
lean/components/config/lean_config_manager.py): ``<out>/lean.json`` (the workspace config, copied
once from the repository and never overwritten, so the organization id you fill in stays) and
``<out>/<name>/`` (the project, rebuilt each time; the ``cloud-id``/``local-id`` the CLI wrote into
its config.json, and its ``backtests/`` and ``live/`` results, are kept).  Standard library only.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FILES = ("main.py", "assembly.py", "config.json", "requirements.txt")
PACKAGES = ("core", "strategies", "risk", "execution", "persistence", "monitoring", "brokers", "lean_adapter")
KEPT_DIRS = ("backtests", "live", "optimizations")
CLI_KEYS = ("cloud-id", "local-id", "organization-id", "python-venv")  # written by the LEAN CLI
SKIP = {"project.py"}  # this builder is not loaded by LEAN


def build(out: Path, name: str = "TomKing", root: Path = ROOT) -> Path:
    project = out / name
    out.mkdir(parents=True, exist_ok=True)
    if not (out / "lean.json").exists():
        shutil.copy2(root / "lean.json", out / "lean.json")
    kept: dict[str, object] = {}
    if (project / "config.json").exists():
        old = json.loads((project / "config.json").read_text())
        kept = {k: old[k] for k in CLI_KEYS if k in old}
    if project.exists():
        for child in project.iterdir():
            if child.name not in KEPT_DIRS:
                shutil.rmtree(child) if child.is_dir() else child.unlink()
    project.mkdir(exist_ok=True)
    for file in FILES:
        shutil.copy2(root / file, project / file)
    for package in PACKAGES:
        for source in sorted((root / package).rglob("*.py")):
            if source.name in SKIP or "__pycache__" in source.parts:
                continue
            target = project / source.relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    if kept:
        config = json.loads((project / "config.json").read_text())
        config.update(kept)
        (project / "config.json").write_text(json.dumps(config, indent=4) + "\n")
    return project


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Write a LEAN CLI workspace with a clean copy of the project."
    )
    parser.add_argument("out", nargs="?", default="build/lean-project", help="workspace folder to write")
    parser.add_argument("--name", default="TomKing", help="project folder name inside the workspace")
    args = parser.parse_args(argv)
    project = build(Path(args.out), args.name)
    print(f"LEAN project written to {project} (workspace {project.parent}); see docs/LEAN.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
