"""Expiry, pin and early-exercise rules: which open groups must be closed now, and why.

- ``expiry_itm`` / ``pin_risk``: a short option on its last trading day that is in the money or
  within ``risk_pin_zone`` of its strike is closed by ``risk_pin_close_time`` (15:00), or
  ``risk_pin_close_time_cash`` (15:45) for cash-settled index options, which cannot be assigned
  early.  On a half day both deadlines move earlier by the hours the session is shortened.
  ``pre_holiday_pin`` is the same rule on a Friday or the day before a holiday (the reason code
  says so, because after-hours exercise decisions over a long closure are the worst case).
- ``early_exercise_risk``: a short American call in the money whose extrinsic value is below the
  dividend of an ex-date on the next trading day is closed the day before (by the 15:00 deadline).

Closing starts ``risk_pin_lead_minutes`` before the deadline, and never later than the exit ladder
needs to reach the natural price and fill ((``exec_max_steps`` + 2) x ``exec_step_minutes``), so the exit
fills before the deadline whatever the execution settings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta

from core.ports import TradingCalendar
from core.settings import Settings
from core.types import (
    ExerciseStyle,
    MarketSnapshot,
    OptionContract,
    OptionQuote,
    PositionGroup,
    Settlement,
)

_REGULAR_CLOSE = time(16, 0)


def last_trading_day(expiry: date, calendar: TradingCalendar) -> date:
    d = expiry
    for _ in range(14):
        if calendar.is_trading_day(d):
            return d
        d -= timedelta(days=1)
    return expiry


def next_trading_day(day: date, calendar: TradingCalendar) -> date | None:
    d = day
    for _ in range(14):
        d += timedelta(days=1)
        if calendar.is_trading_day(d):
            return d
    return None


def deadline(day: date, configured: time, calendar: TradingCalendar) -> datetime:
    """``configured`` on a normal day; as far before an early close as it is before 16:00."""
    target = datetime.combine(day, configured)
    close = calendar.session_close(day)
    if close is None:
        return target
    shortened = datetime.combine(day, _REGULAR_CLOSE) - close
    return target - max(timedelta(0), shortened)


def _precedes_closure(day: date, calendar: TradingCalendar) -> bool:
    nxt = next_trading_day(day, calendar)
    return nxt is None or (nxt - day).days > 1 or day.weekday() == 4


def _underlying(q: OptionQuote, snapshot: MarketSnapshot) -> float:
    price = snapshot.price(q.contract.underlying)
    return price if price is not None and price > 0 else q.underlying_price


def expiry_reason(
    group: PositionGroup,
    snapshot: MarketSnapshot,
    calendar: TradingCalendar,
    s: Settings,
    dividends: Mapping[str, Sequence[tuple[date, float]]],
) -> tuple[str, dict[str, float | str]] | None:
    """(reason code, values) when a short leg of ``group`` must be closed now, else None."""
    now = snapshot.time
    today = now.date()
    lead = timedelta(minutes=max(s.risk_pin_lead_minutes, (s.exec_max_steps + 2) * s.exec_step_minutes))
    for leg in group.legs:
        if leg.ratio >= 0:
            continue
        c = leg.contract
        if (c.expiry - today).days > 1 and not dividends.get(c.underlying):
            continue
        q = snapshot.chains.quote(c)
        if q is None:
            continue
        spot = _underlying(q, snapshot)
        if spot <= 0:
            continue
        values: dict[str, float | str] = {"contract": c.symbol, "underlying": spot, "strike": c.strike}
        if today == last_trading_day(c.expiry, calendar) and (c.expiry - today).days <= 1:
            itm = c.intrinsic(spot) > 0
            near = abs(spot / c.strike - 1.0) <= s.risk_pin_zone
            cash = c.settlement is Settlement.CASH
            when = deadline(today, s.risk_pin_close_time_cash if cash else s.risk_pin_close_time, calendar)
            if (itm or near) and now >= when - lead:
                code = "expiry_itm" if itm else "pin_risk"
                if _precedes_closure(today, calendar):
                    code = "pre_holiday_pin" if not itm else code
                return code, {**values, "deadline": when.isoformat(), "itm": float(itm)}
        reason = _early_exercise(c, q, spot, today, now, lead, calendar, s, dividends)
        if reason is not None:
            return reason, values
    return None


def _early_exercise(
    c: OptionContract,
    q: OptionQuote,
    spot: float,
    today: date,
    now: datetime,
    lead: timedelta,
    calendar: TradingCalendar,
    s: Settings,
    dividends: Mapping[str, Sequence[tuple[date, float]]],
) -> str | None:
    if not c.is_call or c.style is not ExerciseStyle.AMERICAN or c.intrinsic(spot) <= 0:
        return None
    nxt = next_trading_day(today, calendar)
    for ex_date, amount in dividends.get(c.underlying, ()):
        if nxt is None or ex_date != nxt or c.expiry < ex_date:
            continue
        extrinsic = max(0.0, q.mid - c.intrinsic(spot))
        if extrinsic < amount and now >= deadline(today, s.risk_pin_close_time, calendar) - lead:
            return "early_exercise_risk"
    return None
