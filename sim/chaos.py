"""``python -m sim.chaos``: kill a backtest with SIGKILL at random points, resume it from its state
each time, and compare the result with an uninterrupted run of the same seed.

The backtest runs as a separate process (``python -m sim backtest --state-dir``).  Each life is
told to SIGKILL itself at the N-th crash point it passes: any point (``""``), inside an order
submission or cancel (``submit`` / ``cancel``: before or after the broker took it, before the
brokerage state was saved), or inside a state write (``store``: temp file written but not yet
renamed, or renamed but the folder not yet synced).  N is drawn from a seeded RNG so a failing
schedule can be replayed.  Identical means: same trade ledger, same broker positions and cash,
same orders sent, same equity curve; plus no order rejected as a duplicate, no safe mode entered.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

KINDS = ("", "submit", "store", "cancel", "deliver")


@dataclass
class ChaosReport:
    kills: int = 0
    lives: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    identical: bool = False
    differences: list[str] = field(default_factory=list)
    duplicate_rejections: int = 0
    safe_mode_alerts: int = 0
    seconds: float = 0.0
    trades: int = 0
    orders: int = 0

    @property
    def ok(self) -> bool:
        return self.identical and not self.duplicate_rejections and not self.safe_mode_alerts


def _backtest(args: list[str], out: Path, state: Path, env: dict[str, str], fsync: bool = True) -> int:
    cmd = [
        sys.executable,
        "-m",
        "sim",
        "backtest",
        *args,
        "--out",
        str(out),
        "--state-dir",
        str(state),
        "--quiet",
    ]
    env = {**os.environ, "TOMKING_STATE_FSYNC": "1" if fsync else "0", **env}
    proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if proc.returncode not in (0, -signal.SIGKILL):
        raise RuntimeError(f"backtest failed ({proc.returncode}): {proc.stderr.decode()[-2000:]}")
    return proc.returncode


def _steps_done(state: Path) -> int:
    path = state / "world" / "world.json"
    raw = path.read_bytes() if path.exists() else b""
    if not raw:
        return 0
    return int(json.loads(raw.partition(b"\n")[2])["cursor"]["steps"])


def _remaining(counts: dict[str, Any], kind: str, steps: int) -> int:
    done = 0
    for at, cumulative in counts["by_step"]:
        if at <= steps:
            done = cumulative.get(kind, 0)
    return max(0, counts["total"].get(kind, 0) - done)


def _compare(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    out = []
    for key in sorted(set(a) | set(b)):
        if a.get(key) != b.get(key):
            out.append(f"{key}: uninterrupted {str(a.get(key))[:300]} != killed {str(b.get(key))[:300]}")
    return out


# what the reports count from events.jsonl; restarts add their own records (start, recovered, ...)
LOGGED_TRADING = ("order_event", "trade_closed", "entry_approved", "risk_block", "risk_event")


def _trading_log(path: Path) -> list[str]:
    lines = path.read_text("utf-8").splitlines() if path.exists() else []
    return [line for line in lines if json.loads(line).get("kind") in LOGGED_TRADING]


def _log_differences(reference: Path, killed: Path) -> list[str]:
    """The killed run's event log must carry every trading record of the uninterrupted one, in order."""
    a, b = _trading_log(reference), _trading_log(killed)
    if a == b:
        return []
    first = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    return [f"events.jsonl: {len(a)} trading records uninterrupted, {len(b)} killed; first difference "
            f"at record {first + 1}"]  # fmt: skip


def _scan_events(path: Path) -> tuple[int, int]:
    duplicates = safe_mode = 0
    if not path.exists():
        return 0, 0
    for line in path.read_text("utf-8").splitlines():
        record = json.loads(line)
        if record.get("kind") == "order_event" and "duplicate tag" in str(record.get("message", "")):
            duplicates += 1
        if record.get("kind") == "alert" and "entries paused" in str(record.get("title", "")):
            safe_mode += 1
    return duplicates, safe_mode


def run(
    backtest_args: list[str], kills: int, work: Path, seed: int = 1, log: Any = print, fsync: bool = True
) -> ChaosReport:
    began = time.perf_counter()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    ref_out, ref_state, counts_path = work / "reference", work / "reference" / "state", work / "points.json"
    ref_out.mkdir()
    _backtest(backtest_args, ref_out, ref_state, {"TOMKING_CHAOS_COUNT": str(counts_path)}, fsync)
    counts = json.loads(counts_path.read_text("utf-8"))
    log(f"chaos: uninterrupted run passed {counts['total']} crash points")
    rng = random.Random(seed)
    out, state = work / "killed", work / "killed" / "state"
    out.mkdir()
    report = ChaosReport()
    code: int | None = None  # no life run yet
    while report.kills < kills:
        left = kills - report.kills
        # a kind with too few points left for the kills still to come yields to "any point"
        kinds = [k for k in KINDS if _remaining(counts, k, _steps_done(state)) > 2 * left] or [""]
        kind = kinds[report.kills % len(kinds)]
        remaining = _remaining(counts, kind, _steps_done(state))
        at = rng.randint(1, max(1, remaining // (2 * (left + 1))))
        code = _backtest(
            backtest_args, out, state, {"TOMKING_CHAOS_KILL_AT": str(at), "TOMKING_CHAOS_KIND": kind}, fsync
        )
        report.lives += 1
        if code == 0:
            log(f"chaos: life {report.lives} finished before point {at} of kind {kind or 'any'!r}")
            break
        report.kills += 1
        report.kinds[kind or "any"] = report.kinds.get(kind or "any", 0) + 1
        log(f"chaos: kill {report.kills}/{kills} at {kind or 'any'} point {at} (step {_steps_done(state)})")
    if not (out / "final.json").exists() or report.kills == 0 or code != 0:
        _backtest(backtest_args, out, state, {}, fsync)
        report.lives += 1
    reference = json.loads((ref_out / "final.json").read_text("utf-8"))
    killed = json.loads((out / "final.json").read_text("utf-8"))
    report.differences = _compare(reference, killed) + _log_differences(
        ref_out / "events.jsonl", out / "events.jsonl"
    )
    report.identical = not report.differences
    report.duplicate_rejections, report.safe_mode_alerts = _scan_events(out / "events.jsonl")
    report.trades, report.orders = len(killed["trades"]), len(killed["orders_sent"])
    report.seconds = time.perf_counter() - began
    (work / "report.json").write_text(json.dumps(asdict(report), indent=1), "utf-8")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim.chaos", description=__doc__)
    parser.add_argument("--kills", type=int, default=30)
    parser.add_argument("--start", default="2025-01-02")
    parser.add_argument("--end", default="2025-02-28")
    parser.add_argument("--seed", type=int, default=7, help="market seed")
    parser.add_argument("--chaos-seed", type=int, default=1, help="seed of the kill schedule")
    parser.add_argument("--work", default="reports/chaos")
    parser.add_argument(
        "--no-fsync", action="store_true", help="skip fsyncs (they guard power loss, not process kills)"
    )
    args = parser.parse_args(argv)
    bt = ["--start", args.start, "--end", args.end, "--seed", str(args.seed)]
    report = run(bt, args.kills, Path(args.work), args.chaos_seed, fsync=not args.no_fsync)
    print(json.dumps(asdict(report), indent=1))
    print("chaos: " + ("PASS" if report.ok and report.kills == args.kills else "FAIL"))
    return 0 if report.ok and report.kills == args.kills else 1


if __name__ == "__main__":
    raise SystemExit(main())
