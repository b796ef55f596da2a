"""The team's code rules as checks anyone runs in ``make test``: no module over 450 lines (product
and tests), and no private attribute or name of another module read anywhere (``obj._x`` across
modules, and in product code no ``from m import _x``; ``self._x`` and ``cls._x`` are the
object's own business).

A private name counts as the module's own when the module defines it (assigns, declares or
defines it), so ``other._x`` inside the class that owns ``_x`` (``__eq__``, ``merge``) is fine."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 450
# Over the limit when the rule became a check, each with its owner: may shrink, never grow.
# Remove a line when the module is split.
KNOWN_LONG: dict[str, int] = {}
# underscore names that are public API of the standard library
# (argparse offers no public way to list a parser's options: the help tests walk ``_actions``)
STDLIB_PUBLIC = {"_replace", "_asdict", "_fields", "_field_defaults", "_make", "_exit", "_getframe",
                 "_actions", "_SubParsersAction"}  # fmt: skip
# Found when the rule became a check, in other helpers' files: fix, then remove the line.
ALLOWED_READS: set[tuple[str, str]] = set()


def _python_files() -> list[str]:
    try:
        listed = subprocess.run(
            ["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the rules are checked on the repository's files")
    return [f for f in listed if (ROOT / f).exists()]


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__") and name not in STDLIB_PUBLIC


def _defined(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


def private_reads(path: str, source: str) -> list[str]:
    """Where ``source`` reads a private attribute or imports a private name it does not own."""
    tree = ast.parse(source, path)
    own = _defined(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr) and node.attr not in own:
            if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                continue
            if (path, node.attr) not in ALLOWED_READS:
                found.append(f"{path}:{node.lineno}: reads .{node.attr} of another module")
        elif (
            isinstance(node, ast.ImportFrom) and node.module != "__future__" and not path.startswith("tests/")
        ):
            found += [
                f"{path}:{node.lineno}: imports {a.name} from {node.module}"
                for a in node.names
                if _private(a.name)
            ]
    return found


def test_no_module_is_over_450_lines():
    too_long = []
    for path in _python_files():
        lines = len((ROOT / path).read_text(encoding="utf-8").splitlines())
        if lines > KNOWN_LONG.get(path, MAX_LINES):
            too_long.append(f"{path}: {lines} lines (limit {KNOWN_LONG.get(path, MAX_LINES)})")
    assert too_long == [], "split these modules:\n" + "\n".join(too_long)


@pytest.mark.slow  # parses every module's AST
def test_no_private_attribute_of_another_module_is_read():
    found = []
    for path in _python_files():
        found += private_reads(path, (ROOT / path).read_text(encoding="utf-8"))
    assert found == [], "use or add a public member instead:\n" + "\n".join(found)


def test_the_private_read_check_catches_what_it_must():
    source = "from a import _helper\n\ndef f(o):\n    self = o\n    return o._state, o.__dict__\n"
    assert private_reads("m.py", source) == [
        "m.py:1: imports _helper from a",
        "m.py:5: reads ._state of another module",
    ]
    own = "class A:\n    def __init__(self):\n        self._x = 1\n    def same(self, other):\n        return other._x\n"
    assert private_reads("m.py", own) == [], "the module that owns _x may read it on any instance"
