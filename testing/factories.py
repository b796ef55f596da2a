"""Hand-built contracts, quotes, chains and contexts for unit tests (no market model involved)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from core.types import (
    AccountState,
    ExerciseStyle,
    Holding,
    Leg,
    MarketSnapshot,
    OptionChain,
    OptionContract,
    OptionQuote,
    PositionGroup,
    Right,
    SecurityKind,
    Settlement,
    UnderlyingQuote,
)


def spxw(strike: float, right: Right, expiry: date) -> OptionContract:
    return OptionContract(
        "SPXW",
        "SPX",
        right,
        strike,
        expiry,
        100.0,
        SecurityKind.INDEX_OPTION,
        ExerciseStyle.EUROPEAN,
        Settlement.CASH,
    )


def quote(
    contract: OptionContract,
    now: datetime,
    bid: float,
    ask: float,
    delta: float,
    spot: float = 5000.0,
    volume: int = 500,
    open_interest: int = 1000,
    iv: float = 0.25,
) -> OptionQuote:
    return OptionQuote(
        contract, now, bid, ask, 10, 10, volume, open_interest, spot, iv, delta, 0.001, -1.0, 0.5
    )


def zero_dte_chain(now: datetime, spot: float = 5000.0, scale: float = 1.0) -> OptionChain:
    """A plausible 0DTE SPXW chain: strikes every 5 points, deltas falling away from the money.

    ``scale`` multiplies every price (to move a position into profit or loss)."""
    quotes: list[OptionQuote] = []
    for k in range(4850, 5155, 5):
        dist = (k - spot) / 100.0  # in "standard deviations" for this toy chain
        call_delta = max(0.005, min(0.995, 0.5 - 0.42 * dist))
        put_delta = call_delta - 1.0
        call_mid = max(0.10, 12.0 * call_delta**1.5) * scale
        put_mid = max(0.10, 12.0 * (-put_delta) ** 1.5) * scale
        for right, mid, delta in ((Right.CALL, call_mid, call_delta), (Right.PUT, put_mid, put_delta)):
            half = max(0.025, 0.04 * mid)
            quotes.append(
                quote(
                    spxw(k, right, now.date()), now, round(mid - half, 2), round(mid + half, 2), delta, spot
                )
            )
    return OptionChain("SPXW", now.date(), "SPX", spot, tuple(quotes))


class FakeChains:
    def __init__(self, chains: Sequence[OptionChain]) -> None:
        self._chains = {(c.root, c.expiry): c for c in chains}

    def expiries(self, root: str) -> tuple[date, ...]:
        return tuple(sorted(e for r, e in self._chains if r == root))

    def chain(self, root: str, expiry: date) -> OptionChain | None:
        return self._chains.get((root, expiry))

    def quote(self, contract: OptionContract) -> OptionQuote | None:
        chain = self._chains.get((contract.root, contract.expiry))
        return None if chain is None else chain.at_strike(contract.right, contract.strike)


def snapshot(
    now: datetime,
    chains: Sequence[OptionChain],
    vix: float = 24.0,
    spot: float = 5000.0,
    day_open: float = 5000.0,
) -> MarketSnapshot:
    spx = UnderlyingQuote("SPX", SecurityKind.INDEX, now, spot, spot, spot)
    return MarketSnapshot(now, {"SPX": spx}, vix, {"SPX": day_open}, FakeChains(chains))


class WeekdayCalendar:
    """Mon-Fri sessions 09:30-16:00, with optional holidays and 13:00 early closes."""

    def __init__(self, holidays: Sequence[date] = (), early_closes: Sequence[date] = ()) -> None:
        self.holidays, self.early = set(holidays), set(early_closes)

    def is_trading_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.holidays

    def session_open(self, day: date) -> datetime | None:
        return datetime.combine(day, time(9, 30)) if self.is_trading_day(day) else None

    def session_close(self, day: date) -> datetime | None:
        if not self.is_trading_day(day):
            return None
        return datetime.combine(day, time(13, 0) if day in self.early else time(16, 0))

    def is_early_close(self, day: date) -> bool:
        return day in self.early


@dataclass
class FakeContext:
    account: AccountState
    calendar: WeekdayCalendar = field(default_factory=WeekdayCalendar)
    groups: list[PositionGroup] = field(default_factory=list)
    margin_per_unit: float = 2000.0
    ids: int = 0

    closed: list[PositionGroup] = field(default_factory=list)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)  # (strategy, code, message)

    def open_groups(self, strategy: str | None = None) -> Sequence[PositionGroup]:
        return [g for g in self.groups if strategy is None or g.strategy == strategy]

    def closed_groups(self, strategy: str) -> Sequence[PositionGroup]:
        return [g for g in self.closed if g.strategy == strategy]

    def groups_opened_on(self, day: date, strategy: str) -> Sequence[PositionGroup]:
        return [
            g for g in self.groups if g.strategy == strategy and g.group_id.split("-")[-2] == f"{day:%Y%m%d}"
        ]

    def new_group_id(self, strategy: str) -> str:
        self.ids += 1
        return f"{strategy}-20250101-{self.ids:03d}"

    def margin_required(self, legs: Sequence[Leg], quantity: int, snapshot: MarketSnapshot) -> float:
        return self.margin_per_unit * quantity

    def skip(self, strategy: str, code: str, message: str) -> None:
        self.skipped.append((strategy, code, message))

    def skip_codes(self) -> list[str]:
        return [code for _, code, _ in self.skipped]


def account(
    nlv: float = 100_000.0,
    bp_used: float = 0.0,
    now: datetime | None = None,
    holdings: Mapping[str, Holding] | None = None,
) -> AccountState:
    return AccountState(now or datetime(2025, 1, 3, 10, 30), nlv, nlv, bp_used, dict(holdings or {}))


def friday(hh: int = 10, mm: int = 30) -> datetime:
    return datetime(2025, 3, 7, hh, mm)  # a Friday


ONE_MINUTE = timedelta(minutes=1)
