"""``make profile``: where a backtest's time goes, per layer of the product.

Reads a py-spy ``--format raw`` profile (one line per distinct stack: frames joined by ``;``, then
the sample count) and gives each sample to the deepest frame of our own code, so time spent in
numpy or the standard library counts for the layer that called it.  Samples taken while a module
is being imported count as start-up.  The split that matters for speed work: what only the offline
engine and its reports cost (``sim``, ``analysis``) against what the layers LEAN runs cost too.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

from lean_adapter.project import PACKAGES

LEAN_LAYERS = PACKAGES  # what ``make lean-project`` copies: the packages LEAN loads
OFFLINE = ("sim", "analysis")
STARTUP = "imports"
OTHER = "other"
_FRAME_FILE = re.compile(r"\(([^()]+?)(?::\d+)?\)$")  # "name (path:line)", line optional
_IMPORTING = "_find_and_load"


def layer_samples(lines: list[str]) -> Counter[str]:
    """Samples per layer (``LEAN_LAYERS`` + ``OFFLINE`` names, ``STARTUP``, ``OTHER``: no frame of
    ours, or no Python frame at all)."""
    ours = (*LEAN_LAYERS, *OFFLINE)
    counts: Counter[str] = Counter()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        stack, _, samples = line.rstrip().rpartition(" ")
        if not samples.isdigit():
            raise ValueError(
                f"line {number}: not a py-spy raw profile line (stack;stack count): {line[:80]!r}"
            )
        frames = stack.split(";") if stack else []  # no Python frame: the sampled thread was in native code
        layer = OTHER
        if any(_IMPORTING in f for f in frames):
            layer = STARTUP
        else:
            for frame in reversed(frames):
                found = _FRAME_FILE.search(frame)
                top = found.group(1).split("/", 1)[0] if found else ""
                if top in ours:
                    layer = top
                    break
        counts[layer] += int(samples)
    return counts


def report(counts: Counter[str]) -> list[str]:
    """Lines of percentages per layer and the LEAN-run layers' total."""
    total = sum(counts.values())
    if not total:
        raise ValueError("the profile has no samples")
    lines = [f"{100 * n / total:5.1f} %  {name}" for name, n in counts.most_common()]
    lean = sum(counts[name] for name in LEAN_LAYERS)
    lines.append(
        f"{100 * lean / total:5.1f} %  layers LEAN runs ({', '.join(LEAN_LAYERS)}): the floor of the run's "
        "time even if the offline engine, its reports and start-up cost nothing"
    )
    return lines


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m bench.layers PROFILE (py-spy record --format raw)", file=sys.stderr)
        return 2
    try:
        lines = report(layer_samples(Path(argv[0]).read_text().splitlines()))
    except (OSError, ValueError) as e:
        print(f"bench.layers: {e}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
