"""``make lean-project`` (lean_adapter/project.py) writes a LEAN CLI workspace with a clean project,
and the repository's lean.json is one the LEAN CLI accepts (lean-cli lean/commands/lean.py: a
lean.json without an organization id stops every command as an "old Lean CLI root folder")."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lean_adapter.project import build

ROOT = Path(__file__).resolve().parents[2]
ALLOWED_TOP = {"main.py", "assembly.py", "config.json", "requirements.txt", "core", "strategies", "risk",
               "execution", "persistence", "monitoring", "brokers", "lean_adapter"}  # fmt: skip


def test_lean_json_names_an_organization_for_the_cli():
    config = json.loads((ROOT / "lean.json").read_text())
    assert config.get("organization-id"), "lean-cli organization_manager.get_organization needs it"


def test_gitignore_keeps_lean_cli_results_out_of_git():
    lines = set((ROOT / ".gitignore").read_text().split())
    assert {"backtests/", "storage/", "live/"} <= lines


def test_the_project_holds_only_what_lean_loads(tmp_path):
    project = build(tmp_path / "ws")
    assert (tmp_path / "ws" / "lean.json").exists()
    assert {p.name for p in project.iterdir()} == ALLOWED_TOP
    names = {p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file()}
    assert not [n for n in names if n.startswith(("tests/", "sim/", "analysis/", "testing/", "bench/"))]
    assert all(n.endswith(".py") or n in ("config.json", "requirements.txt") for n in names)
    assert "lean_adapter/project.py" not in names


def test_a_rebuild_keeps_the_cli_links_the_results_and_the_filled_in_lean_json(tmp_path):
    ws = tmp_path / "ws"
    project = build(ws)
    (ws / "lean.json").write_text(json.dumps({"organization-id": "0123abc"}))
    config = json.loads((project / "config.json").read_text())
    (project / "config.json").write_text(json.dumps({**config, "cloud-id": 42, "local-id": 7}))
    (project / "backtests").mkdir()
    (project / "stale.py").write_text("raise SystemExit")
    build(ws)
    assert json.loads((ws / "lean.json").read_text()) == {"organization-id": "0123abc"}
    rebuilt = json.loads((project / "config.json").read_text())
    assert (rebuilt["cloud-id"], rebuilt["local-id"]) == (42, 7) and rebuilt["parameters"]
    assert (project / "backtests").is_dir() and not (project / "stale.py").exists()


@pytest.mark.slow  # starts a Python child process (imports numpy/pandas anew)
def test_main_imports_from_the_project_copy_alone(tmp_path):
    """Every module of ours that main.py loads comes from the project folder (LEAN's only path)."""
    project = build(tmp_path / "ws")
    code = (
        "import sys; sys.path.append(sys.argv[2]);"
        "from testing.lean import installed\n"
        "with installed() as main:\n"
        "    mods = [m for m in sys.modules.values() if getattr(m, '__file__', None)]\n"
        "    ours = [m.__file__ for m in mods if m.__name__.split('.')[0] in sys.argv[3].split(',')]\n"
        "    bad = [f for f in ours if not f.startswith(sys.argv[1])]\n"
        "    print(len(ours)); assert not bad, bad"
    )
    packages = ",".join(
        sorted(
            ALLOWED_TOP - {"config.json", "requirements.txt", "main.py", "assembly.py"} | {"main", "assembly"}
        )
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(project), str(ROOT), packages],
        cwd=project,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.split()[-1]) > 50
