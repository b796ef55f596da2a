"""The Tastytrade link as main.py wires it: real SDK against the loopback servers.

The trading system here is a small stand-in exposing exactly what the link touches (platform
clock / account / notify, the book's live groups, ``pauses``); the SDK, the feed,
the REST client and the reconciliation are the real ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest

from brokers.feed_status import FeedState
from brokers.live import LinkConfig, TastytradeLink
from core.pauses import Pauses
from core.ports import Severity
from core.types import (
    AccountState,
    GroupStatus,
    Holding,
    Leg,
    MarketSnapshot,
    OrderIntent,
    PositionGroup,
    Purpose,
    Right,
    SecurityKind,
    UnderlyingQuote,
    UpdateKind,
)
from testing.factories import quote, spxw
from tests.brokers.conftest import fast_config, need_sdk, wait_for, wall_clock

DAY = date(2025, 3, 7)
T0 = datetime(2025, 3, 7, 14, 0)
PUT = spxw(5000.0, Right.PUT, DAY)
OCC = "SPXW  250307P05000000"
STREAMER = ".SPXW250307P5000"


class Calendar:
    """Regular sessions every weekday, 09:30-16:00 (the link asks for the open only)."""

    def session_open(self, day: date) -> datetime | None:
        return datetime.combine(day, time(9, 30)) if day.weekday() < 5 else None


@dataclass
class Platform:
    t: datetime = T0
    calendar: Calendar = field(default_factory=Calendar)
    spot: float = 4990.0
    holdings: dict[str, Holding] = field(default_factory=dict)
    open_orders: list[str] = field(default_factory=list)
    alerts: list[tuple[Severity, str, str]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    def now(self) -> datetime:
        return self.t

    def notify(self, severity: Severity, title: str, message: str) -> None:
        self.alerts.append((severity, title, message))

    def log(self, message: str) -> None:
        self.lines.append(message)

    def account(self) -> AccountState:
        return AccountState(self.t, 100_000.0, 50_000.0, 10_000.0, dict(self.holdings))

    def open_order_tags(self) -> list[str]:
        return list(self.open_orders)

    def snapshot(self) -> MarketSnapshot:
        spx = UnderlyingQuote("SPX", SecurityKind.INDEX, self.t, self.spot, self.spot, self.spot)
        return MarketSnapshot(self.t, {"SPX": spx}, None, {}, None)  # type: ignore[arg-type]


class Book:
    def __init__(self, groups: list[PositionGroup]):
        self.groups = groups

    def live(self, strategy: str | None = None) -> list[PositionGroup]:
        return self.groups


@dataclass
class System:
    platform: Platform
    book: Book
    pauses: Pauses = field(default_factory=Pauses)

    def paused(self) -> str:
        """This link's pause code, or ''."""
        codes = [k.split(":", 1)[1] for k in self.pauses.reasons if k.startswith("tastytrade:")]
        return codes[0] if codes else ""


class Inner:
    """The wrapped executor: records what reaches it."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def submit(self, intent: OrderIntent, snapshot: Any) -> None:
        self.sent.append(intent.group_id)

    def on_step(self, snapshot: Any) -> list[Any]:
        return []

    def on_order_event(self, event: Any) -> list[Any]:
        return []

    def is_working(self, group_id: str) -> bool:
        return False


def short_put_group() -> PositionGroup:
    return PositionGroup("g1", "zero_dte", (Leg(PUT, -1),), 2, GroupStatus.OPEN)


def make(loopback, clock: Any = wall_clock, **cfg: Any) -> tuple[TastytradeLink, System]:
    link = TastytradeLink(
        loopback.credentials,
        clock,
        LinkConfig(feed=fast_config(), **cfg),
        client_kwargs={"trust_env": False},
    )
    platform = Platform(holdings={PUT.symbol: Holding(PUT.symbol, -2, 3.0, PUT)})
    return link, System(platform, Book([short_put_group()]))


def serve_positions(loopback, qty: float = -2) -> None:
    from testing.loopback.rest import position_json

    # Tastytrade reports SPX/SPXW options as "Equity Option" too
    loopback.rest_state.positions = [position_json(OCC, "Equity Option", qty, "SPX")]


def step_until(link: TastytradeLink, system: System, predicate, timeout: float = 10.0) -> None:
    def stepped() -> bool:
        link.on_step(system)
        return predicate()

    wait_for(stepped, timeout=timeout)


def intent(gid: str, purpose: Purpose = Purpose.CLOSE) -> OrderIntent:
    return OrderIntent(gid, "zero_dte", purpose, (Leg(PUT, 1),), 1, 2.0, 2.1, 0.0, "test", T0)


def snap(t: datetime) -> MarketSnapshot:
    return MarketSnapshot(t, {}, None, {}, None)  # type: ignore[arg-type]


@pytest.fixture
def link_and_system(loopback):
    need_sdk()
    serve_positions(loopback)  # the broker agrees with LEAN unless a test says otherwise
    link, system = make(loopback)
    link.start()
    wait_for(lambda: link.feed.status().state is FeedState.CONNECTED)
    yield link, system
    link.stop()
    assert link.feed.leftover_tasks == []


def test_create_is_off_unless_live_switched_on_and_configured():
    alerts: list[tuple[Severity, str, str]] = []

    def notify(s: Severity, t: str, m: str) -> None:
        alerts.append((s, t, m))

    on = {"TASTYTRADE_FEED": "1"}
    assert TastytradeLink.create(False, {}, wall_clock, notify, on) is None  # backtest
    assert TastytradeLink.create(True, {}, wall_clock, notify, {}) is None  # not switched on
    assert alerts == []
    secret_only = {**on, "TASTYTRADE_PROVIDER_SECRET": "provider-secret-xyz"}
    assert TastytradeLink.create(True, {}, wall_clock, notify, secret_only) is None
    ((severity, title, message),) = alerts
    assert severity is Severity.WARNING and "TASTYTRADE_REFRESH_TOKEN" in message
    assert "provider-secret-xyz" not in title + message


def test_held_contracts_are_streamed_and_fresher_dxlink_quote_wins(link_and_system):
    link, system = link_and_system
    step_until(link, system, lambda: link.cache.greeks(STREAMER) is not None and link.cache.quote(STREAMER))
    assert link.feed.status().state is FeedState.CONNECTED
    now = system.platform.t
    lean = quote(PUT, now - timedelta(seconds=30), 9.0, 9.4, -0.45)
    merged = link.merge(lean, now)
    assert merged is not lean and merged.time > lean.time  # DXLink's is fresher
    dx = link.cache.quote(STREAMER).value
    assert (merged.bid, merged.ask) == (dx.bid, dx.ask)
    assert link.dual.used["dxlink"] == 1 and link.dual.compared == 1
    assert link.quote(PUT, now) is not None
    assert system.paused() == ""  # DXLink alive: entries allowed
    for _ in range(25):  # a LEAN feed quoting something else entirely (units, mapping, frozen)
        link.merge(quote(PUT, now, 50.0, 51.0, -0.95, iv=0.9), now)
    assert link.dual.disagreements["mid"] >= 25
    system.platform.t += timedelta(minutes=31)
    link.on_step(system)
    assert any(t == "LEAN and DXLink quotes disagree" for _, t, _ in system.platform.alerts)


def test_reconnect_holds_intents_until_a_clean_reconciliation(loopback, link_and_system):
    link, system = link_and_system
    serve_positions(loopback)
    inner = Inner()
    ex = link.guard_executor(inner)
    p = system.platform
    step_until(link, system, lambda: not link.busy and link.guard.state.value == "connected")
    link.on_brokerage_disconnect(system)
    ex.submit(intent("exit1"), snap(p.t))
    assert inner.sent == [] and ex.is_working("exit1")
    p.t += timedelta(minutes=2)
    link.on_brokerage_reconnect(system)
    assert system.paused() == "brokerage_reconciling"
    ex.submit(intent("exit2"), snap(p.t))
    assert inner.sent == []  # nothing goes out before the reconciliation
    step_until(link, system, lambda: link.guard.state.value == "connected")
    ex.on_step(snap(p.t))
    assert inner.sent == ["exit1", "exit2"]
    assert system.paused() == ""
    assert any(t == "Broker reconciliation clean" for _, t, _ in p.alerts)


def test_reconciliation_mismatch_halts_and_drops_held_intents(loopback, link_and_system):
    link, system = link_and_system
    serve_positions(loopback, qty=-1)  # LEAN holds -2
    inner = Inner()
    ex = link.guard_executor(inner)
    p = system.platform
    link.on_brokerage_disconnect(system)
    ex.submit(intent("exit1"), snap(p.t))
    link.on_brokerage_reconnect(system)
    step_until(link, system, lambda: link.guard.state.value == "halted")
    assert system.paused() == "brokerage_halted"
    (update,) = ex.on_step(snap(p.t))
    assert update.group_id == "exit1" and update.kind is UpdateKind.ABANDONED
    assert "reconcile_mismatch" in update.message and inner.sent == []
    critical = [m for s, t, m in p.alerts if s is Severity.CRITICAL and "positions differ" in t]
    assert critical and "quantity_differs" in critical[0]
    serve_positions(loopback, qty=-2)  # someone fixed it: the next periodic check clears the halt
    p.t += timedelta(minutes=16)
    step_until(link, system, lambda: link.guard.state.value == "connected")
    assert system.paused() == ""


def test_intents_held_past_their_ttl_are_abandoned_with_a_reason(loopback, link_and_system):
    link, system = link_and_system
    ex = link.guard_executor(Inner())
    p = system.platform
    link.on_brokerage_disconnect(system)
    ex.submit(intent("entry", Purpose.OPEN), snap(p.t))
    (update,) = ex.on_step(snap(p.t + timedelta(minutes=6)))
    assert update.kind is UpdateKind.ABANDONED and update.message.startswith("intent_expired")


def test_both_feeds_dead_pauses_entries(loopback):
    need_sdk()
    loopback.rest_state.token_status = 401  # the DXLink side cannot start
    link, system = make(loopback)
    link.start()
    try:
        wait_for(lambda: link.feed.status().state is FeedState.FAILED)
        link.on_step(system)
        assert system.paused() == ""  # no data yet from either: starting, not dead
        link.lean_data(system.platform.t)
        link.on_step(system)
        assert system.paused() == ""  # LEAN's data alone carries on
        system.platform.t += timedelta(seconds=61)
        link.on_step(system)
        assert system.paused() == "feeds_dead"
        assert any(s is Severity.CRITICAL and t == "DXLink feed failed" for s, t, _ in system.platform.alerts)
        link.lean_data(system.platform.t)
        link.on_step(system)
        assert system.paused() == ""
        step_until(link, system, lambda: any("reconcile stopped" in t for _, t, _ in system.platform.alerts))
        text = repr(system.platform.alerts) + repr(system.platform.lines)
        creds = loopback.credentials
        assert "refused the credentials" in text
        assert creds.provider_secret not in text and creds.refresh_token not in text
    finally:
        link.stop()


def test_someone_elses_pause_is_left_alone(link_and_system):
    link, system = link_and_system
    system.pauses.add("persistence", "safe_mode", "incident")
    link.on_brokerage_disconnect(system)
    link.on_step(system)
    link.on_brokerage_reconnect(system)
    assert system.pauses.has("persistence", "safe_mode")


@pytest.mark.parametrize("live", [False, True])
@pytest.mark.filterwarnings("ignore:Use 'content=:DeprecationWarning")  # the SDK posts with data=
def test_emergency_route_near_the_cutoff_while_the_brokerage_is_down(loopback, live):
    need_sdk()
    serve_positions(loopback)
    # The server quotes the put at a fixed 2.10 / 2.20 (fresh times), so the close's limit is known
    # whenever the sweep reads it.
    loopback.dx_state.overrides[("Quote", STREAMER)] = {"bidPrice": 2.10, "askPrice": 2.20}
    link, system = make(loopback, emergency_live=live)
    link.start()
    p = system.platform
    try:
        # The first step starts a reconciliation: wait for it to end (however slow the broker is),
        # or the step at 14:05 below finds the worker busy with it.
        step_until(link, system, lambda: link.cache.quote(STREAMER) is not None and not link.busy)
        link.on_brokerage_disconnect(system)  # at 14:00; cut-off for SPXW is 15:45
        p.t = datetime(2025, 3, 7, 14, 5)
        link.on_step(system)
        assert not link.busy  # not down long enough yet, and the cut-off is too far
        p.t = datetime(2025, 3, 7, 15, 10)
        step_until(link, system, lambda: bool(link.sweep.results))
        (r,) = link.sweep.results
        assert r.request.symbol == OCC and r.request.quantity == 2 and not r.refused
        assert r.request.limit_price == 2.20  # the fresh ask, on a tick
        orders = loopback.rest_state.orders
        if live:
            assert r.sent and len(orders) == 1 and orders[0][1]["legs"][0]["action"] == "Buy to Close"
        else:
            assert r.dry_run and orders == []
        titles = [t for s, t, _ in p.alerts if s is Severity.CRITICAL]
        assert ("Emergency close sent" if live else "Emergency close (dry run, not sent)") in titles
        p.t += timedelta(minutes=6)  # the next sweep does not send the same close twice
        sweeps = link.sweep.sweeps
        step_until(link, system, lambda: link.sweep.sweeps > sweeps)
        assert len(link.sweep.results) == 1 and len(orders) == (1 if live else 0)
    finally:
        link.stop()


def test_watch_list_is_bounded_but_held_contracts_always_stream(loopback):
    need_sdk()
    serve_positions(loopback)
    link, system = make(loopback, max_watched=1)
    link.start()
    try:
        step_until(link, system, lambda: link.cache.quote(STREAMER) is not None)  # held: streamed
        other = spxw(5100.0, Right.CALL, DAY)
        lean = quote(other, system.platform.t, 1.0, 1.2, 0.2)
        assert link.merge(lean, system.platform.t) is lean and link.over_limit == 1
        system.platform.t += timedelta(minutes=31)  # the periodic status line is due
        link.on_step(system)
        assert link.feed.status().subscribed == 1
        assert any("1 merges over the watch limit" in line for line in system.platform.lines)
    finally:
        link.stop()


class FeedClock:
    """The link's cache clock and the loopback server's event clock, moved by hand."""

    def __init__(self) -> None:
        self.t = datetime(2025, 3, 7, 14, 0)

    def __call__(self) -> datetime:
        return self.t

    def ms(self) -> int:
        return round(self.t.timestamp() * 1000)


def test_stale_quotes_of_held_contracts_alert_once_then_clear(loopback):
    need_sdk()
    serve_positions(loopback)
    clock = FeedClock()
    loopback.dx_state.clock_ms = clock.ms
    link, system = make(loopback, clock)
    p = system.platform
    link.start()

    def stale_alerts() -> list[tuple[Severity, str, str]]:
        return [a for a in p.alerts if a[1].startswith("Held contracts' quotes")]

    try:
        step_until(link, system, lambda: link.cache.quote(STREAMER) is not None)
        assert stale_alerts() == []
        then = clock.ms()  # from now on the server re-sends the held contract's quote of `then`
        loopback.dx_state.overrides[("Quote", STREAMER)] = {"bidTime": then, "askTime": then}
        clock.t += timedelta(minutes=2)
        wait_for(lambda: link.cache.quote(STREAMER).received == clock.t)  # such a re-send was read
        p.t = datetime(2025, 3, 7, 9, 30, 30)  # the session opened 30 s ago: quotes still waking up
        link.on_step(system)
        assert stale_alerts() == []
        p.t = T0
        link.on_step(system)
        link.on_step(system)
        ((severity, _title, message),) = stale_alerts()  # once, not every step
        assert severity is Severity.WARNING
        assert f"1 held contract(s) without a DXLink quote newer than 60 s: {STREAMER} (120 s old)" in message
        loopback.dx_state.overrides.clear()
        step_until(link, system, lambda: len(stale_alerts()) == 2)
        assert stale_alerts()[-1][:2] == (Severity.INFO, "Held contracts' quotes fresh again")
    finally:
        link.stop()
