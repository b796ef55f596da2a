"""The LEAN project files agree with the code: config.json holds exactly every Settings parameter
with its default, lean.json is a credential-free LEAN CLI workspace config, requirements.txt pins
what pyproject.toml pins, and only main.py and the LEAN adapter import AlgorithmImports."""

from __future__ import annotations

import ast
import json
import re
import tomllib
from pathlib import Path

from core.settings import Settings
from lean_adapter.translate import ADAPTER_PARAMETERS, AdapterOptions, load_parameters

ROOT = Path(__file__).resolve().parents[2]
LEAN_MODULES = {"main.py", "lean_adapter/platform.py"}


def _config() -> dict:
    return json.loads((ROOT / "config.json").read_text())


def test_config_json_is_a_python_lean_project_with_a_description():
    config = _config()
    assert config["algorithm-language"] == "Python"
    assert config["description"].strip()


def test_config_json_holds_exactly_every_settings_parameter_with_its_default():
    params = _config()["parameters"]
    defaults = {name: default for name, default, _ in Settings.describe()}
    assert params == defaults
    assert all(isinstance(v, str) for v in params.values()), "LEAN parameters are strings"


def test_config_json_parses_into_the_default_settings_with_zero_problems():
    settings, options = load_parameters(_config()["parameters"], "config.json parameters")
    assert settings == Settings()
    assert options == AdapterOptions()
    assert Settings.from_config_file(ROOT / "config.json") == Settings()  # what the offline engine reads


def test_adapter_parameters_never_collide_with_settings():
    assert not set(ADAPTER_PARAMETERS) & {name for name, _, _ in Settings.describe()}


def test_lean_json_is_valid_json_without_credentials():
    config = json.loads((ROOT / "lean.json").read_text())
    assert config["data-folder"] == "data"
    assert "backtesting" in config["environments"]
    secret = re.compile(r"password|secret|token|api-key|access|refresh|account|user-?name|user-id", re.I)

    def walk(node: object, path: str = "") -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                where = f"{path}.{key}" if path else key
                if secret.search(key):
                    assert value in ("", None), f"lean.json must not hold credentials: {where}"
                walk(value, where)

    walk(config)
    assert "parameters" not in config, "parameters belong in the project's config.json"


def _pins(lines: list[str]) -> dict[str, str]:
    pins = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[name.strip().lower()] = version.strip()
    return pins


def test_requirements_txt_pins_agree_with_pyproject_optional_dependencies():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    optional = pyproject["project"]["optional-dependencies"]
    expected = _pins(optional["broker"] + optional["alerts"])
    actual = _pins((ROOT / "requirements.txt").read_text().splitlines())
    assert actual == expected
    assert {"tastytrade", "websockets", "apprise"} <= set(actual)


def _imports_algorithm_imports(path: Path) -> bool:
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.split(".")[0] == "AlgorithmImports"
        ):
            return True
        if isinstance(node, ast.Import) and any(
            a.name.split(".")[0] == "AlgorithmImports" for a in node.names
        ):
            return True
    return False


def test_only_main_and_the_lean_adapter_import_algorithm_imports():
    offenders = []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if rel.parts[0].startswith((".venv", ".git")) or "site-packages" in rel.parts:
            continue
        if _imports_algorithm_imports(path) and rel.as_posix() not in LEAN_MODULES:
            offenders.append(rel.as_posix())
    assert offenders == []
    assert all(_imports_algorithm_imports(ROOT / name) for name in LEAN_MODULES)


def test_pyright_checks_the_lean_modules():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = set(pyproject["tool"]["pyright"]["include"])
    assert all(name in include or name.split("/")[0] in include for name in LEAN_MODULES)
