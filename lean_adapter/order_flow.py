"""LEAN's per-leg order events -> core order events of our combo tags, with LEAN's live gaps.

Receives LEAN objects (tickets, events) from ``lean_adapter.platform`` and imports nothing of LEAN.
Facts it copes with (docs/LEAN.md section 8):
* every leg order of a combo carries the combo's tag and LEAN sets ``order_event.ticket``;
  ``ticket.cancel(tag)`` would overwrite the tag, so cancels never pass one; a ticket still New
  cannot be cancelled (BrokerageTransactionHandler: InvalidNewStatus);
* Tastytrade's live brokerage never reports a rejection (TastytradeBrokerage.Brokerage.cs: only
  Routed/Live, Filled, Cancelled and Expired produce events): an order that stays Submitted with
  nothing filled past ``deadline`` is suspect - a critical alert, and its group stays blocked
  (the executor sees it working and sends nothing else for it) until a person looks;
* after a live restart LEAN restores open orders without tags: they are matched to the journal by
  legs and limit (``lean_adapter.restored``) or cancelled, never reported as unknown fills.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from core.ports import Severity
from core.types import ComboOrder, OptionContract, OrderEvent, OrderStatus
from lean_adapter.combo_events import ComboEventAggregator, LegStatus, LegUpdate
from lean_adapter.combos import normalise
from lean_adapter.restored import Combo, match

FLATTEN_PREFIX = "risk|flatten|"


@dataclass(frozen=True)
class LeanNames:
    """The LEAN names this module needs, handed over by ``lean_adapter.platform``."""

    make_leg: Callable[[Any, int], Any]  # Leg.create
    leg_status: Mapping[Any, LegStatus]
    not_cancellable: Collection[Any]
    invalid: Any  # OrderStatus.INVALID
    exercise: Any  # OrderType.OPTION_EXERCISE
    future: Any  # SecurityType.FUTURE
    option_types: tuple[Any, ...]


class OrderFlow:
    def __init__(
        self,
        algorithm: Any,
        names: LeanNames,
        contract: Callable[[Any], OptionContract],
        notify: Callable[[Severity, str, str], None],
        now: Callable[[], datetime],
        deadline: timedelta,
    ) -> None:
        self._algo = algorithm
        self._lean = names
        self._contract = contract
        self._notify = notify
        self._now = now
        self._leg_status = names.leg_status
        self._not_cancellable = names.not_cancellable
        self._deadline = deadline
        self.aggregator = ComboEventAggregator()
        self._adopted: dict[int, str] = {}  # LEAN order id of a restored order -> our tag
        self._submitted: dict[str, datetime] = {}  # live: tag -> when LEAN reported it submitted
        self._suspects: set[str] = set()
        self._pending: list[OrderEvent] = []
        self._calls = 0  # > 0 while inside a LEAN order call: its events wait in ``_pending``

    def _is_option(self, symbol: Any) -> bool:
        return symbol.security_type in self._lean.option_types

    # --- sending ---------------------------------------------------------------------------------
    def submit_combo(self, order: ComboOrder, symbols: Mapping[str, Any]) -> None:
        """``combo_limit_order`` with GCD-1 leg ratios (``lean_adapter.combos``).  LEAN's own refusals
        - an ArgumentException, or an Invalid ticket from its pre-order checks, which comes with no
        order event - become a REJECTED event carrying LEAN's message at once."""
        suspect = next((t for t in sorted(self._suspects) if _group(t) == _group(order.tag)), None)
        if suspect is not None:  # it may have filled at the broker: fail closed for its group
            self._reject(
                order.tag,
                f"{suspect} is unconfirmed by the brokerage: its group sends nothing until it is resolved",
            )
            return
        keys = [leg.contract.symbol for leg in order.legs]
        missing = [k for k in keys if k not in symbols]
        if missing or len(set(keys)) != len(keys):
            self._reject(
                order.tag, f"no LEAN symbol for {missing}" if missing else "a contract appears in two legs"
            )
            return
        self.aggregator.register(
            order.tag, {leg.contract.symbol: (leg.contract, leg.ratio * order.quantity) for leg in order.legs}
        )
        ratios, quantity, limit = normalise(
            [leg.ratio for leg in order.legs], order.quantity, order.limit_price
        )
        legs = [self._lean.make_leg(symbols[k], r) for k, r in zip(keys, ratios, strict=True)]
        self._calls += 1
        try:
            tickets = list(self._algo.combo_limit_order(legs, quantity, limit, tag=order.tag))
            invalid = [t for t in tickets if t.status == self._lean.invalid]
            why = str(invalid[0].submit_request.response.error_message) if invalid else ""
        except Exception as exc:  # LEAN refused the call itself (ArgumentException)
            tickets, why = [], str(exc) or type(exc).__name__
        finally:
            self._calls -= 1
        if (why or not tickets) and self.aggregator.outcome(order.tag) is None:
            self.aggregator.forget(order.tag)
            self._reject(order.tag, why or "LEAN returned no order tickets")

    def _reject(self, tag: str, why: str) -> None:
        self._pending.append(OrderEvent(tag, OrderStatus.REJECTED, self._now(), (), why))

    def liquidate(self, symbol: str, quantity: float, tag: str, key_of: Callable[[Any], str]) -> None:
        """Market order for a stock / futures holding: the risk layer flattens assignments with it.
        A stock whose exchange is closed is not sent: LEAN would turn the market order into
        MarketOnOpen (QCAlgorithm.Trading.cs), which Tastytrade refuses; the risk layer retries."""
        for h in self._algo.portfolio.values():
            if not h.invested or self._is_option(h.symbol) or key_of(h.symbol) != symbol:
                continue
            exchange = self._algo.securities[h.symbol].exchange
            if h.symbol.security_type != self._lean.future and not exchange.exchange_open:
                self._notify(
                    Severity.WARNING, "Flatten deferred", f"{symbol}: exchange closed, retried while open"
                )
                return
            self._calls += 1
            try:
                self._algo.market_order(h.symbol, quantity, tag=tag)
            finally:
                self._calls -= 1
            return
        self._notify(Severity.CRITICAL, "Cannot flatten", f"{symbol!r}: no such stock or futures holding")

    def pending_events(self) -> list[OrderEvent]:
        """Events held for the loop to deliver: orders that could not be sent, and LEAN's events
        that arrived while the system was inside an order call (a backtest reports synchronously)."""
        return list(self._pending)

    def consumed(self, event: OrderEvent) -> None:
        if self._pending and self._pending[0] is event:
            self._pending.pop(0)

    # --- tags ------------------------------------------------------------------------------------
    def tag_of(self, ticket: Any) -> str:
        if ticket is None:
            return ""
        return self._adopted.get(int(ticket.order_id), str(ticket.tag or ""))

    def tickets(self, tag: str) -> list[Any]:
        return [t for t in self._algo.transactions.get_open_order_tickets() if self.tag_of(t) == tag]

    def open_tags(self) -> list[str]:
        tags = (self.tag_of(t) for t in self._algo.transactions.get_open_order_tickets())
        return list(dict.fromkeys(t for t in tags if t))

    def cancel(self, tag: str) -> None:
        self._calls += 1
        try:
            for ticket in self.tickets(tag):
                if ticket.status not in self._not_cancellable:
                    ticket.cancel()
        finally:
            self._calls -= 1

    # --- restored orders (live restart) ----------------------------------------------------------
    def adopt_restored(
        self, journal: list[Combo], symbol_of: Callable[[Any], str], group_of: Callable[[Any], Any]
    ) -> None:
        """Match untagged open orders to the journal's working orders; cancel the rest."""
        untagged = [t for t in self._algo.transactions.get_open_order_tickets() if not t.tag]
        combos: dict[str, list[Any]] = {}
        for t in untagged:
            group = group_of(t)
            combos.setdefault(str(group.id) if group is not None else f"o{t.order_id}", []).append(t)
        restored = []
        for key, tickets in combos.items():
            group = group_of(tickets[0])
            limit = float(group.limit_price) if group is not None else 0.0
            totals = {symbol_of(t): round(t.quantity) for t in tickets}
            restored.append(Combo(key, tuple(sorted(totals.items())), round(limit, 6)))
        matched = match(restored, journal)
        for key, tickets in combos.items():
            tag = matched.get(key)
            if tag is not None:
                for t in tickets:
                    self._adopted[int(t.order_id)] = tag
                self.aggregator.register(
                    tag,
                    {c.symbol: (c, round(t.quantity)) for t in tickets for c in [self._contract(t.symbol)]},
                )
                continue
            for t in tickets:
                if t.status not in self._not_cancellable:
                    t.cancel()
            legs = ", ".join(f"{round(t.quantity):+d} {t.symbol.value}" for t in tickets)
            self._notify(
                Severity.CRITICAL,
                "Restored order cancelled",
                f"an open order without a tag ({legs}) matched no journal entry",
            )

    # --- events ----------------------------------------------------------------------------------
    def on_event(self, event: Any, now: datetime) -> list[OrderEvent]:
        """LEAN's per-leg event -> core events of the combo's tag (often none until all legs report)."""
        ticket = event.ticket
        if event.is_assignment or (ticket is not None and ticket.order_type == self._lean.exercise):
            self._exercise(event)
            return []
        events = self._translate(event, now)
        if self._calls:
            self._pending += events
            return []
        return events

    def _translate(self, event: Any, now: datetime) -> list[OrderEvent]:
        ticket = event.ticket
        tag = self.tag_of(ticket)
        if tag.startswith(FLATTEN_PREFIX):  # the risk layer's market order for an assigned holding
            self._algo.log(
                f"{tag}: {event.status} {event.fill_quantity:g} @ {event.fill_price:g} {event.message}"
            )
            return []
        status = self._leg_status.get(event.status, LegStatus.OTHER)
        if not self.aggregator.is_known(tag) and not self._register_from_tickets(tag):
            if status in (LegStatus.FILLED, LegStatus.PARTIALLY_FILLED):
                what = (
                    "Fill of a restored order"
                    if ticket is not None and int(ticket.order_id) in self._adopted
                    else "Fill of an unknown order"
                )
                self._notify(Severity.CRITICAL, what, f"{tag!r}: {event.symbol.value}")
            return []
        was_open = self.aggregator.outcome(tag) is None
        update = LegUpdate(
            order_id=int(event.order_id),
            leg=self._contract(event.symbol).symbol if self._is_option(event.symbol) else "",
            status=status,
            fill_quantity=round(event.fill_quantity),
            fill_price=float(event.fill_price),
            fee=float(event.order_fee.value.amount),
            message=event.message or "",
        )
        events = self.aggregator.on_leg_event(tag, now, update)
        if status is LegStatus.SUBMITTED:
            self._submitted.setdefault(tag, now)
        elif status is not LegStatus.OTHER:
            self._submitted.pop(tag, None)
            self._suspects.discard(tag)
        if was_open and self.aggregator.outcome(tag) is OrderStatus.REJECTED:
            self.cancel(tag)  # an invalid leg voids the combo: no leg may stay working
        if not was_open and events:
            self._notify(Severity.CRITICAL, "Fill after order ended", f"{tag}: {events[-1].message}")
        return events

    def _register_from_tickets(self, tag: str) -> bool:
        """After a restart LEAN still knows our working combos: rebuild their legs from tickets."""
        if not tag:
            return False
        tickets = self._algo.transactions.get_order_tickets(lambda t: self.tag_of(t) == tag)
        legs = [(t.symbol, round(t.quantity)) for t in tickets]
        if not legs or any(not self._is_option(s) or q == 0 for s, q in legs):
            return False
        self.aggregator.register(
            tag, {c.symbol: (c, q) for c, q in ((self._contract(s), q) for s, q in legs)}
        )
        return True

    def _exercise(self, event: Any) -> None:
        text = (
            f"{event.symbol.value} qty {event.fill_quantity:g} @ {event.fill_price:g} "
            f"itm={event.is_in_the_money} {event.message or ''}"
        )
        if event.is_assignment:
            self._algo.log(f"assignment order event: {text}")  # alerted by on_assignment
        elif event.is_in_the_money and event.fill_quantity != 0:
            self._notify(Severity.WARNING, "Option exercised", text)
        else:
            self._algo.log(f"option expiry: {text}")

    def on_assignment(self, event: Any) -> None:
        self._notify(
            Severity.CRITICAL,
            "Option assignment",
            f"{event.symbol.value} qty {event.fill_quantity:g} @ {event.fill_price:g} {event.message or ''}",
        )

    # --- live watch ------------------------------------------------------------------------------
    def watch(self, now: datetime) -> list[str]:
        """Tags Submitted past the deadline with nothing filled: alerted once each (live only)."""
        new = []
        for tag, since in sorted(self._submitted.items()):
            if (
                tag in self._suspects
                or now - since < self._deadline
                or self.aggregator.outcome(tag) is not None
            ):
                continue
            if any(t.quantity_filled != 0 for t in self.tickets(tag)):
                continue
            self._suspects.add(tag)
            new.append(tag)
            self._notify(
                Severity.CRITICAL,
                "Order unconfirmed by the brokerage",
                f"{tag}: submitted at {since:%H:%M:%S}, no fill or status since (Tastytrade does not report "
                "rejections); its group sends nothing more until it is resolved at the broker",
            )
        return new


def _group(tag: str) -> str:
    """The group of an order tag (``group|purpose|n``, execution.group.order_tag)."""
    return tag.rsplit("|", 2)[0]
