"""Opt-in, close-only emergency route through the SDK, for when LEAN's brokerage stays down.

Near expiry a short option in the money (or in the pin zone) must be closed before the cut-off or
it gets assigned.  If LEAN's brokerage connection is down then, the normal order path is gone.
This route sends single-leg closing limit orders straight through the tastytrade SDK, and is
built to be incapable of doing harm:

* close-only: an order must reduce an existing broker position (fetched fresh from the API, not
  LEAN's possibly stale view), on the opposite side, by at most the position's size; anything
  that would open or increase a position is refused with a reason;
* the order asks the API for ``strict-position-effect-validation``, so if the position vanished in
  the meantime Tastytrade discards it instead of turning it into an opening order;
* dry-run by default: it returns the exact JSON it would send and sends nothing; live sending needs
  the explicit ``live=True`` opt-in at construction.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from brokers.client import BrokerClient
from brokers.futures_symbols import parse_tastytrade_future_option
from brokers.occ import INDEX_OPTION_ROOTS, OptionId, parse_occ
from brokers.quote_cache import QuoteValue
from brokers.reconcile import BrokerPosition

FUTURES_TYPES = {"Future"}
OPTION_TYPES = {"Equity Option", "Index Option"}
# STRATEGY_RULES: close short options in the money or in the pin zone by 15:00 on their last
# trading day, 15:45 for cash-settled index options (no early assignment).
CUTOFF_SHARES, CUTOFF_CASH = time(15, 0), time(15, 45)


@dataclass(frozen=True, slots=True)
class CloseRequest:
    symbol: str  # Tastytrade symbol, as in the broker's positions
    instrument_type: str  # "Equity Option", "Future Option", "Future", "Equity"
    quantity: int  # signed order quantity: + buys (closing a short), - sells (closing a long)
    limit_price: float  # per unit, positive
    tag: str = ""  # deterministic external identifier (strategy, group, leg, attempt)


@dataclass(frozen=True, slots=True)
class EmergencyResult:
    request: CloseRequest
    dry_run: bool
    sent: bool
    refused: str = ""  # reason, when refused
    order: Mapping[str, Any] = field(default_factory=dict)  # JSON sent, or that would be sent
    order_id: int | None = None


def close_only_problem(request: CloseRequest, position: float) -> str:
    """Why ``request`` is not a pure close of ``position`` (signed broker quantity); "" if it is."""
    q = request.quantity
    if q == 0:
        return "zero quantity"
    if not math.isfinite(request.limit_price) or request.limit_price <= 0:
        return "limit price must be a positive number"
    if position == 0:
        return f"no broker position in {request.symbol.strip()}: refusing to open one"
    if (q > 0) == (position > 0):
        return f"order {q:+d} would increase the {position:+g} position"
    if abs(q) > abs(position):
        return f"order {q:+d} exceeds the {position:+g} position (would reverse it)"
    return ""


def should_flatten(
    now: datetime,
    brokerage_down_since: datetime | None,
    cutoff: datetime,
    down_for: timedelta,
    window: timedelta,
) -> bool:
    """Use the route only when LEAN's brokerage has been down ``down_for`` and the assignment
    cut-off (e.g. 15:00 on expiry day) is within ``window``."""
    if brokerage_down_since is None:
        return False
    return now - brokerage_down_since >= down_for and timedelta(0) <= cutoff - now <= window


def cutoff_for(oid: OptionId, day: date) -> datetime:
    return datetime.combine(day, CUTOFF_CASH if oid.root in INDEX_OPTION_ROOTS else CUTOFF_SHARES)


def tick_up(price: float) -> float:
    """Round a buy limit up to a valid option tick (0.05 below 3.00, 0.10 from 3.00; both are
    valid on penny-pilot classes too)."""
    tick = 0.05 if price < 3.0 else 0.10
    return round(math.ceil(round(price / tick, 6)) * tick, 2)


@dataclass(frozen=True, slots=True)
class Plan:
    requests: tuple[CloseRequest, ...]
    skipped: tuple[str, ...]  # why a position at risk got no order (each a full sentence)


def plan_assignment_closes(
    positions: Iterable[BrokerPosition],
    now: datetime,
    spot: Callable[[OptionId], float | None],
    quote: Callable[[str], QuoteValue | None],
    pin_zone: float = 0.01,
) -> Plan:
    """Closing orders for the broker's short options expiring today that are in the money or
    within ``pin_zone`` of the strike (unknown spot counts as at risk), each priced at the fresh
    DXLink ask rounded up to a tick (``quote(streamer symbol)`` returns only fresh, valid
    quotes); a position without one is skipped with a reason, never priced from stale data."""
    today = now.date()
    requests: list[CloseRequest] = []
    skipped: list[str] = []
    for p in positions:
        if p.quantity >= 0:
            continue
        if p.instrument_type not in OPTION_TYPES:
            if p.instrument_type == "Future Option" and _fop_expiry(p.symbol, today) == today:
                skipped.append(f"{p.symbol.strip()}: futures options are not handled by the emergency route")
            continue
        oid = parse_occ(p.symbol)
        if oid.expiry != today or now > cutoff_for(oid, today):
            continue
        s = spot(oid)
        if s is not None and s > 0:
            itm = s > oid.strike if oid.right.value == "C" else s < oid.strike
            if not itm and abs(s - oid.strike) > pin_zone * oid.strike:
                continue
        q = quote(oid.streamer)
        if q is None or not q.valid or q.ask <= 0:
            skipped.append(f"{p.symbol.strip()}: no fresh DXLink quote to price the close")
            continue
        tag = f"emergency:{oid.root}:{oid.expiry:%y%m%d}:{oid.right.value}{oid.strike:g}"
        requests.append(CloseRequest(p.symbol, p.instrument_type, round(-p.quantity), tick_up(q.ask), tag))
    return Plan(tuple(requests), tuple(skipped))


def _fop_expiry(symbol: str, today: date) -> date | None:
    try:
        return parse_tastytrade_future_option(symbol, today).expiry
    except ValueError:
        return None


class EmergencyCloseRoute:
    def __init__(self, client: BrokerClient, live: bool = False):
        self._client = client
        self.live = live
        self.history: list[EmergencyResult] = []

    def build_order(self, request: CloseRequest) -> Any:
        """The SDK order object for ``request`` (limit, day, strict position effect)."""
        from tastytrade.order import AdvancedInstructions, InstrumentType, Leg, LimitOrder, OrderAction

        buy = request.quantity > 0
        if request.instrument_type in FUTURES_TYPES:
            action = OrderAction.BUY if buy else OrderAction.SELL
        else:
            action = OrderAction.BUY_TO_CLOSE if buy else OrderAction.SELL_TO_CLOSE
        price = Decimal(str(round(request.limit_price, 4)))
        return LimitOrder(
            legs=[
                Leg(
                    instrument_type=InstrumentType(request.instrument_type),
                    symbol=request.symbol,
                    action=action,
                    quantity=abs(request.quantity),
                )
            ],
            price=-price if buy else price,  # SDK sign: negative = debit (we pay), positive = credit
            advanced_instructions=AdvancedInstructions(strict_position_effect_validation=True),
            external_identifier=request.tag or None,
        )

    def close(self, request: CloseRequest, positions: Mapping[str, float] | None = None) -> EmergencyResult:
        """Refuse, dry-run, or (``live``) send one closing order.  ``positions`` (broker symbol ->
        signed quantity) defaults to a fresh read from the API."""
        if positions is None:
            positions = {p.symbol: p.quantity for p in self._client.fetch_account().positions}
        problem = close_only_problem(request, float(positions.get(request.symbol, 0.0)))
        if problem:
            return self._record(EmergencyResult(request, not self.live, False, refused=problem))
        order = self.build_order(request)
        payload = json.loads(order.model_dump_json(exclude_none=True, by_alias=True))  # what the SDK posts
        if not self.live:
            return self._record(EmergencyResult(request, True, False, order=payload))
        account = self._client.call(lambda s: _account(s, self._client))
        response = self._client.call(lambda s: account.place_order(s, order, dry_run=False))
        return self._record(EmergencyResult(request, False, True, order=payload, order_id=response.order.id))

    def _record(self, result: EmergencyResult) -> EmergencyResult:
        self.history.append(result)
        return result


async def _account(session: Any, client: BrokerClient) -> Any:
    from tastytrade import Account

    number = client.account_number
    return await Account.get(session, number) if number else (await Account.get(session))[0]
