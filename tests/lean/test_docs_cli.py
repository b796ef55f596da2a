"""Every `lean ...` command the docs show uses options lean-cli really has.

The option lists are facts from lean-cli's source (QuantConnect/lean-cli lean/commands/*.py,
lean/click.py backtest_parameter_option, lean/components/config/cli_config_manager.py for
`lean config set` keys); a brokerage's own `--tastytrade-...` options come from the CLI's module
list at run time and are not written in the docs."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OPTIONS = {
    "backtest": "--output --detach --debug --data-provider-historical --download-data --data-purchase-limit "
    "--release --image --python-venv --update --backtest-name --addon-module --extra-config "
    "--extra-docker-config --no-update --parameter",
    "live deploy": "--environment --output --detach --brokerage --data-provider-live --data-provider-historical "
    "--release --image --python-venv --live-cash-balance --live-holdings --update --show-secrets "
    "--addon-module --extra-config --extra-docker-config --no-update --no-browser",
    "cloud backtest": "--name --push --open",
    "cloud live deploy": "--brokerage --data-provider-live --node --auto-restart --notify-order-events "
    "--notify-insights --notify-emails --notify-webhooks --notify-sms --notify-telegram --live-cash-balance "
    "--live-holdings --push --open --show-secrets --no-browser",
    "cloud push": "--project --encrypt --decrypt --key --force",
    "cloud pull": "--project --pull-bootcamp --encrypt --decrypt --key",
    "init": "--organization --language",
    "login": "--user-id --api-token --show-secrets",
    "data download": "--data-provider-historical --dataset --overwrite --force --yes --data-type --resolution "
    "--security-type --market --ticker --start --end --image --update --no-update --project",
    "whoami": "",
    "config set": "",
}
CONFIG_KEYS = {
    "user-id",
    "api-token",
    "default-language",
    "engine-image",
    "research-image",
    "database-update-frequency",
}


def _commands() -> list[str]:
    out = []
    for doc in ("LEAN.md", "TASTYTRADE.md"):
        text = (ROOT / "docs" / doc).read_text().replace("\\\n", " ")
        out += re.findall(r"`(lean [^`]+)`", text)
        out += [line.split("#")[0].strip() for line in text.splitlines() if line.strip().startswith("lean ")]
    return out


def test_documented_lean_commands_use_real_options():
    seen = 0
    for command in _commands():
        words = shlex.split(command.replace("...", "x"))[1:]
        name = next(
            (n for n in sorted(OPTIONS, key=len, reverse=True) if words[: len(n.split())] == n.split()), None
        )
        if name is None:
            continue
        seen += 1
        bad = [w for w in words if w.startswith("--") and w not in [*OPTIONS[name].split(), "--help"]]
        assert not bad, f"{command!r}: lean {name} has no {bad}"
        if name == "config set" and len(words) > 2:
            assert words[2] in CONFIG_KEYS, f"{command!r}: lean config set has no key {words[2]!r}"
    assert seen >= 10
