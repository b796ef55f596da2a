"""Synthetic vs real, metric by metric: each real observation is re-quoted by the synthetic market at
the same underlying, VIX and moment, then both are averaged per bucket and checked against a
stated tolerance.  ``format_table`` prints what the suite compared (it is shown on every run).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np

from sim.markets.synthetic.probe import SurfaceProbe
from tests.calibration.real_chains import Observation

# IV tolerances in vol points, by delta band; the target is 3 points at 10-40 delta up to 45 DTE
IV_TOLERANCE = {"10-25d": 3.0, "25-40d": 3.0, "3-10d": 5.0}
WIDTH_FACTOR = 1.5  # synthetic width / real width within [1/1.5, 1.5]
DTE_BUCKETS = ((0, 0, "0DTE"), (1, 4, "1-4 DTE"), (5, 11, "5-11 DTE"), (12, 45, "12-45 DTE"),
               (46, 200, "46-200 DTE"), (201, 2000, "LEAP"))  # fmt: skip


@dataclass(frozen=True)
class Row:
    metric: str
    bucket: str
    n: int
    real: float
    synthetic: float
    tolerance: str
    ok: bool


def dte_bucket(dte: int) -> str:
    return next(name for lo, hi, name in DTE_BUCKETS if lo <= dte <= hi)


def delta_bucket(delta: float) -> str | None:
    d = abs(delta)
    if 0.03 <= d < 0.10:
        return "3-10d"
    if 0.10 <= d < 0.25:
        return "10-25d"
    if 0.25 <= d <= 0.40:
        return "25-40d"
    return None


def family(o: Observation) -> str:
    return "ES" if o.root == "ES" else "SPX/SPY"


def _spot_for(probe: SurfaceProbe, o: Observation) -> float:
    """The synthetic market's spot whose forward is the real one (SPXW minute rows carry the forward)."""
    if o.source != "SPXW minute":
        return o.underlying
    g = probe.group(o.root, o.time, o.expiry, o.underlying, o.vix)
    return o.underlying * math.exp(-(g["rate"] - g["div"]) * g["t_cal"])


def requote(probe: SurfaceProbe, obs: list[Observation]) -> list[tuple[Observation, float, float, float]]:
    """(observation, synthetic iv at the same strike, synthetic bid and ask at the same delta) per
    observation: IV is compared strike by strike, the book where a trader would trade (by delta, on
    the synthetic chain's listed strikes)."""
    out = []
    for o in obs:
        spot = _spot_for(probe, o)
        strikes = np.unique(np.append(probe.strikes(o.root, o.time, o.expiry, spot, o.vix), o.strike))
        p = probe.quotes(o.root, o.time, o.expiry, spot, o.vix, strikes, np.full(strikes.shape, o.is_call))
        same = int(np.searchsorted(strikes, o.strike))
        by_delta = int(np.argmin(np.abs(np.asarray(p.delta) - o.delta)))
        out.append((o, p.iv[same], p.bid[by_delta], p.ask[by_delta]))
    return out


def iv_rows(pairs: list[tuple[Observation, float, float, float]]) -> list[Row]:
    groups: dict[tuple[str, str, str], list[tuple[float, float]]] = defaultdict(list)
    for o, iv, _, _ in pairs:
        band = delta_bucket(o.delta)
        if band is not None:
            groups[(family(o), dte_bucket(o.dte), band)].append((o.iv, iv))
    rows = []
    for (fam, dte, band), values in sorted(groups.items(), key=lambda kv: _order(kv[0])):
        real, syn = (float(np.mean(v)) * 100.0 for v in zip(*values, strict=True))
        tol = IV_TOLERANCE[band] + (1.0 if dte == "LEAP" else 0.0)
        rows.append(Row("IV (vol pts)", f"{fam} {dte} {band}", len(values), real, syn, f"+-{tol:g}",
                        abs(syn - real) <= tol))  # fmt: skip
    return rows


def width_rows(pairs: list[tuple[Observation, float, float, float]]) -> list[Row]:
    """Mean bid/ask width as a share of mid, per product, DTE bucket and delta band (quotes only)."""
    groups: dict[tuple[str, str, str], list[tuple[float, float]]] = defaultdict(list)
    for o, _, bid, ask in pairs:
        band = delta_bucket(o.delta) or ("40-60d" if abs(o.delta) <= 0.6 else None)
        if band is None or not math.isfinite(o.bid) or ask <= 0:
            continue
        groups[(o.root, dte_bucket(o.dte), band)].append((o.width_share, (ask - bid) / (0.5 * (ask + bid))))
    rows = []
    for (root, dte, band), values in sorted(groups.items(), key=lambda kv: _order(kv[0])):
        real, syn = (float(np.mean(v)) * 100.0 for v in zip(*values, strict=True))
        ratio = syn / real
        rows.append(Row("width % of mid", f"{root} {dte} {band}", len(values), real, syn,
                        f"x1/{WIDTH_FACTOR:g}..x{WIDTH_FACTOR:g}",
                        1.0 / WIDTH_FACTOR <= ratio <= WIDTH_FACTOR))  # fmt: skip
    return rows


def spacing_rows(
    probe: SurfaceProbe, chains: list[tuple[str, date, date, float, np.ndarray]], vix: dict[date, float]
) -> list[Row]:
    """Strike spacing by distance from the underlying.  Real sample chains list a subset of strikes,
    so the finest real spacing in a band is an upper bound: the synthetic chain must be at least as
    fine there (and reach as far), and not absurdly finer (at most 5x)."""
    bands = ((-0.45, -0.15), (-0.15, -0.05), (-0.05, 0.05), (0.05, 0.15), (0.15, 0.45))
    rows = []
    for root, day, expiry, underlying, real in chains:
        when = datetime.combine(day, datetime.min.time().replace(hour=15))
        syn = probe.strikes(root, when, expiry, underlying, vix[day])
        for lo, hi in bands:
            inside = real[(real >= underlying * (1 + lo)) & (real <= underlying * (1 + hi))]
            if len(inside) < 3:
                continue
            gaps = np.diff(inside)
            real_step = float(np.min(gaps))
            at = int(
                np.argmin(gaps)
            )  # where the real chain is finest: the synthetic one must be as fine there
            near = syn[(syn >= inside[at] - 1e-9) & (syn <= inside[at + 1] + 1e-9)]
            syn_step = float(np.max(np.diff(near))) if len(near) >= 2 else math.inf
            ok = (
                real_step / 5.0 <= syn_step <= real_step + 1e-9
                and syn[0] <= inside[0]
                and syn[-1] >= inside[-1]
            )
            label = f"{root} {(expiry - day).days:>3}d {lo:+.0%}..{hi:+.0%}"
            rows.append(Row("strike step", label, len(inside), real_step, syn_step, "<= real, >= real/5", ok))
    return rows


def _order(key: tuple[str, ...]) -> tuple:
    names = [b[2] for b in DTE_BUCKETS]
    return (key[0], names.index(key[1]), key[2])


def format_table(rows: list[Row]) -> str:
    width = max(len(r.bucket) for r in rows)
    lines = [
        f"{'metric':<15} {'bucket':<{width}} {'n':>5} {'real':>8} {'synthetic':>9}  {'tolerance':<18} ok"
    ]
    for r in rows:
        lines.append(f"{r.metric:<15} {r.bucket:<{width}} {r.n:>5} {r.real:>8.2f} {r.synthetic:>9.2f}  "
                     f"{r.tolerance:<18} {'yes' if r.ok else 'NO'}")  # fmt: skip
    return "\n".join(lines)
