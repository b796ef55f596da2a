"""Build the market a run asked for -- synthetic, replayed history or a LEAN data folder -- together
with the facts a reader of the run needs about it (``MarketChoice.info``, written to run.json).

Why: a result is only as good as the market behind it, so every run states its market source,
what in it is real and what is modelled, which sessions are missing and why.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.ports import TradingCalendar
from core.types import MarketSnapshot
from sim.markets.lean_errors import LeanDataError

if TYPE_CHECKING:
    from sim.engine import MarketSource

MAX_STEP_MINUTES = 390  # one regular session


class MarketChoiceError(ValueError):
    """The requested market cannot be built (one line for the user)."""


@dataclass
class MarketChoice:
    market: MarketSource
    info: dict[str, Any]
    notes: list[str] = field(default_factory=list)  # lines to print before the run
    lean: Any = None  # the LeanDataMarket of a --data run (asked-for roots, for "why nothing traded")


def build_market(kind: str, data: str | None, *, seed: int, vix: float | None, step_minutes: int, start: date,
                 end: date, calendar: TradingCalendar) -> MarketChoice:  # fmt: skip
    """``kind`` is "synthetic" or "history"; ``data`` a LEAN folder (then ``kind`` must be synthetic)."""
    if not 1 <= step_minutes <= MAX_STEP_MINUTES:
        raise MarketChoiceError(f"--step-minutes must be 1..{MAX_STEP_MINUTES} (got {step_minutes})")
    if data:
        if kind != "synthetic":
            raise MarketChoiceError(
                "--data (a LEAN folder) and --market history are two different markets: pick one"
            )
        return _lean(Path(data), vix, step_minutes, start, end, calendar)
    from sim.markets.synthetic import SyntheticConfig, SyntheticMarket

    config = SyntheticConfig(seed=seed, start=start, end=end, step_minutes=step_minutes)
    defaults = {f.name: f.default for f in fields(SyntheticConfig)}
    changed = {n: getattr(config, n) for n in ("seed", "step_minutes") if getattr(config, n) != defaults[n]}
    window = {"start": start.isoformat(), "end": end.isoformat()}
    if kind == "history":
        from sim.markets.history import HistoryMarket

        market = HistoryMarket(config, calendar)
        missing = {d.isoformat(): why for d, why in sorted(market.missing_sessions.items())}
        info = {"source": "history", **window, "seed": seed, "series": market.sources, "missing_sessions": missing,
                "differs_from_defaults": changed}  # fmt: skip
        return MarketChoice(market, info, _history_notes(market.sources, missing))
    info = {"source": "synthetic", **window, "seed": seed, "anchor": config.anchor.isoformat(),
            "step_minutes": step_minutes, "differs_from_defaults": changed}  # fmt: skip
    return MarketChoice(SyntheticMarket(config, calendar), info)


def _history_notes(sources: dict[str, str], missing: dict[str, str]) -> list[str]:
    lines = ["market: real history replay; what is real and what is modelled:"]
    lines += [f"  {name:<8} {text}" for name, text in sources.items()]
    if missing:
        lines.append(
            f"missing sessions: {len(missing)}: " + ", ".join(f"{d} ({why})" for d, why in missing.items())
        )
    return lines


def _lean(root: Path, vix: float | None, step_minutes: int, start: date, end: date,
          calendar: TradingCalendar) -> MarketChoice:  # fmt: skip
    from sim.markets.lean_data import LeanDataMarket

    source = LeanDataMarket(root, vix=vix)
    notes = []
    if source.vix_series is not None:
        vix_text = f"from the data folder ({source.vix_series.where})"
        if vix is not None:
            notes.append(
                f"note: --vix {vix:g} is not used: the data folder has VIX ({source.vix_series.where})"
            )
    elif vix is None:
        raise MarketChoiceError(
            f"{root} has no VIX series (index/usa/minute/vix or index/usa/daily/vix.zip): pass --vix N to run "
            "with a constant VIX"
        )
    else:
        vix_text = f"constant {vix:g} (--vix; the data folder has no VIX series)"
    gaps = session_gaps(source.underlying_files(), source.underlying, calendar, start, end)
    market = _CalendarSteps(source, calendar, step_minutes, set(gaps))
    missing = {d.isoformat(): why for d, why in sorted(gaps.items())}
    days = [d for d in market.trading_days() if start <= d <= end]
    notes.append(f"market: LEAN data {root}: {source.underlying} with options {', '.join(source.roots) or 'none'}; "
                 f"VIX {vix_text}; {len(days)} sessions with data")  # fmt: skip
    if missing:
        notes.append(
            f"missing sessions: {len(missing)}: " + ", ".join(f"{d} ({why})" for d, why in missing.items())
        )
    info = {"source": "lean_data", "folder": str(root.resolve()), "start": start.isoformat(), "end": end.isoformat(),
            "underlying": source.underlying, "option_roots": list(source.roots), "missing_roots": source.missing_roots,
            "vix": vix_text, "step_minutes": step_minutes, "sessions_with_data": [d.isoformat() for d in days],
            "missing_sessions": missing}  # fmt: skip
    return MarketChoice(market, info, notes, lean=source)


def session_gaps(files: dict[tuple[date, str], Path], ticker: str, calendar: TradingCalendar, start: date,
                 end: date) -> dict[date, str]:  # fmt: skip
    """Trading days of the calendar in [start, end] the run cannot use, with the reason: no minute
    file, or only empty ones.  An unreadable file is an error (``LeanDataError``), not a gap."""
    out: dict[date, str] = {}
    d = start
    while d <= end:
        if calendar.is_trading_day(d):
            paths = [p for (day, tick), p in files.items() if day == d and tick in ("trade", "quote")]
            if not paths:
                out[d] = f"no {ticker} minute file"
            elif all(_is_empty(p) for p in paths):
                out[d] = "empty file " + ", ".join(p.name for p in paths)
        d += timedelta(days=1)
    return out


def _is_empty(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as zf:
            return all(zf.getinfo(n).file_size == 0 for n in zf.namelist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise LeanDataError(path, f"not a readable zip archive ({exc})") from exc


class _CalendarSteps:
    """Gives a data source without its own clock the engine's step times from the calendar; sessions
    in ``gaps`` (no usable data) are left out."""

    def __init__(self, source, calendar, step_minutes: int, gaps: set[date]) -> None:  # type: ignore[no-untyped-def]
        self.source, self.calendar, self.step = source, calendar, timedelta(minutes=step_minutes)
        self.gaps = gaps

    def trading_days(self) -> list[date]:
        return [
            d for d in self.source.trading_days() if self.calendar.is_trading_day(d) and d not in self.gaps
        ]

    def step_times(self, day: date) -> list[datetime]:
        t, close = self.calendar.session_open(day), self.calendar.session_close(day)
        times = []
        while t is not None and close is not None and t + self.step <= close:
            t = t + self.step
            times.append(t)
        return times

    def snapshot_at(self, t: datetime) -> MarketSnapshot:
        return self.source.snapshot_at(t)
