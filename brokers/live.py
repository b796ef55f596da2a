"""The Tastytrade link of a live LEAN algorithm: everything ``brokers/`` does, behind a few calls.

``main.py`` builds one with ``TastytradeLink.create`` (``None`` unless live, switched on and the
SDK and credentials are there) and wires it in four places: the LEAN adapter merges its DXLink
quotes into LEAN's (``lean_data`` / ``merge`` / ``quote``), the orchestrator's executor is wrapped
so intents wait out brokerage outages (``guard_executor``), and each step and each brokerage
disconnect / reconnect reaches it as a part of the step loop (``core.loop``; ``on_step``,
``on_brokerage_*``).  On a step it:

* subscribes the DXLink feed to every contract the book holds and every contract a strategy
  looked at (the adapter's merges name them), and drops expired ones;
* reconciles positions and balances with the Tastytrade API on a worker thread — after every
  reconnect before anything is released, and every ``reconcile_every`` while no order is
  working — and feeds the outcome to the ``OutageGuard`` (mismatch: halt, critical alert);
* alerts when the DXLink quotes of held contracts are older than the live staleness limit
  (``HeldQuoteWatch``), once the session has been open that long;
* pauses new entries (``TradingSystem.pauses``, only its own reasons) while the
  brokerage is down or unreconciled, or LEAN's data and the DXLink feed are both dead;
* near an expiry cut-off, with LEAN's brokerage down long enough, runs the close-only emergency
  route (dry-run unless switched to live) for short options at assignment risk.

Nothing here raises into LEAN: failures become alerts and typed states.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from brokers.availability import available
from brokers.client import BrokerClient
from brokers.credentials import Credentials, CredentialsError, redact
from brokers.dual_feed import DualFeed, DualFeedConfig
from brokers.emergency import EmergencyCloseRoute
from brokers.emergency_sweep import EmergencySweep
from brokers.feed import FeedSupervisor
from brokers.feed_status import FeedConfig, FeedState
from brokers.held_executor import HeldExecutor
from brokers.held_quotes import HeldQuoteWatch
from brokers.outage import BrokerageState, OutageGuard
from brokers.quote_cache import QuoteCache
from brokers.reconcile import ReconcileReport
from brokers.session import AuthRefused
from brokers.symbols import symbols_for
from core.ports import Executor, Severity
from core.types import Decision, OptionContract, OptionQuote

if TYPE_CHECKING:
    from core.system import TradingSystem

LOG = logging.getLogger("brokers")

ENV_FEED, CFG_FEED = "TASTYTRADE_FEED", "tastytrade-feed"
ENV_EMERGENCY_LIVE, CFG_EMERGENCY_LIVE = "TASTYTRADE_EMERGENCY_LIVE", "tastytrade-emergency-live"
CONFIG_KEYS = (
    CFG_FEED,
    CFG_EMERGENCY_LIVE,
    "tastytrade-provider-secret",
    "tastytrade-client-secret",
    "tastytrade-refresh-token",
    "tastytrade-sandbox",
    "tastytrade-environment",
    "tastytrade-account-number",
    "tastytrade-api-url",
)
# Entry pauses this module sets and may clear (never anyone else's), as reasons of PAUSE_OWNER.
PAUSE_OWNER = "tastytrade"
OWN_PAUSES = frozenset({"brokerage_reconciling", "brokerage_halted", "feeds_dead"})


@dataclass(frozen=True, slots=True)
class LinkConfig:
    feed: FeedConfig = field(default_factory=FeedConfig)
    dual: DualFeedConfig = field(default_factory=DualFeedConfig)
    intent_ttl: timedelta = timedelta(minutes=5)
    reconcile_every: timedelta = timedelta(minutes=15)
    reconcile_retry: timedelta = timedelta(minutes=1)
    emergency_live: bool = False  # False: the emergency route only reports what it would send
    emergency_after: timedelta = timedelta(minutes=10)  # LEAN's brokerage down at least this long
    emergency_window: timedelta = timedelta(minutes=45)  # ... and a cut-off at most this far ahead
    emergency_every: timedelta = timedelta(minutes=5)
    pin_zone: float = 0.01
    report_every: timedelta = timedelta(minutes=30)
    max_watched: int = 5_000  # contracts streamed because a strategy looked at them (held: always)
    disagree_min: int = 20  # comparisons in a report period before the disagreement share counts
    disagree_share: float = 0.2  # warn when field disagreements exceed this share of comparisons


def switched_on(config: Mapping[str, object], environ: Mapping[str, str], env: str, key: str) -> bool:
    raw = str(environ.get(env) or config.get(key) or "").strip().lower()
    return raw in {"1", "true", "yes", "on"}


class TastytradeLink:
    def __init__(
        self,
        credentials: Credentials,
        clock: Callable[[], datetime],
        config: LinkConfig | None = None,
        client_kwargs: Mapping[str, Any] | None = None,
    ):
        self.cfg = config or LinkConfig()
        kwargs = dict(client_kwargs or {})
        self.cache = QuoteCache(clock)
        self.feed = FeedSupervisor(credentials, self.cache, self.cfg.feed, client_kwargs=kwargs)
        self.dual = DualFeed(self.cache, self.feed.alive, self.cfg.dual)
        self.client = BrokerClient(credentials, client_kwargs=kwargs)
        self.guard = OutageGuard(self.cfg.intent_ttl)
        c = self.cfg
        route = EmergencyCloseRoute(self.client, live=c.emergency_live)
        self.sweep = EmergencySweep(
            self.client,
            self.cache,
            self.feed.subscribe,
            route,
            after=c.emergency_after,
            window=c.emergency_window,
            every=c.emergency_every,
            pin_zone=c.pin_zone,
            max_age=c.dual.max_age,
        )
        self._jobs = ThreadPoolExecutor(1, thread_name_prefix="tastytrade-jobs")
        self._job: Future[Any] | None = None
        self._job_kind = ""
        self._streamer: dict[str, str | None] = {}  # core contract symbol -> DXLink symbol
        self._contracts: dict[str, OptionContract] = {}  # DXLink symbol -> contract
        self._subscribed: set[str] = set()
        self._held: set[str] = set()  # DXLink symbols of the book's live legs
        self.held_watch = HeldQuoteWatch(self.cache, c.dual.max_age)
        self._reconcile_due: datetime | None = None  # None: at the next step
        self._reconcile_off = ""  # why reconciliation stopped for good (refused credentials)
        self._last_report = ""
        self._feed_state: FeedState | None = None
        self._reported_at: datetime | None = None
        self.over_limit = 0  # merges not streamed because the watch list was full
        self._first_step: datetime | None = None
        self._seen = (0, 0)  # (comparisons, disagreements) at the last report

    @classmethod
    def create(
        cls,
        live: bool,
        config: Mapping[str, object],
        clock: Callable[[], datetime],
        notify: Callable[[Severity, str, str], None],
        environ: Mapping[str, str] | None = None,
    ) -> TastytradeLink | None:
        """A started link, or ``None`` (with the reason told) when it is off or cannot run."""
        env = os.environ if environ is None else environ
        if not live or not switched_on(config, env, ENV_FEED, CFG_FEED):
            return None
        ok, reason = available()
        if not ok:
            notify(Severity.WARNING, "Tastytrade link unavailable", reason)
            return None
        try:
            creds = Credentials.load(config, env)
        except CredentialsError as exc:
            notify(Severity.WARNING, "Tastytrade link not started", str(exc))
            return None
        emergency_live = switched_on(config, env, ENV_EMERGENCY_LIVE, CFG_EMERGENCY_LIVE)
        link = cls(creds, clock, LinkConfig(emergency_live=emergency_live))
        link.start()
        mode = "live" if emergency_live else "dry-run"
        notify(Severity.INFO, "Tastytrade link started", f"{creds.environment}; emergency route {mode}")
        return link

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self.feed.start()

    def stop(self) -> None:
        self.feed.stop()
        self._jobs.shutdown(wait=True, cancel_futures=True)
        self.client.close()

    @property
    def busy(self) -> bool:
        """A reconciliation or emergency sweep is running on the worker thread."""
        return self._job is not None

    # --- the LEAN adapter's quote overlay ------------------------------------------------------

    def lean_data(self, now: datetime) -> None:
        """LEAN delivered option data at ``now`` (its feed is alive)."""
        self.dual.lean_data_received(now)

    def merge(self, quote: OptionQuote, now: datetime) -> OptionQuote:
        """The fresher valid one of LEAN's ``quote`` and DXLink's; LEAN's when neither is fresh
        (the data-quality rules then reject it as stale)."""
        if self._streamer_symbol(quote.contract, watch_only=True) is None:
            return quote
        merged = self.dual.merge(quote.contract, quote, now)
        return merged.quote if merged.quote is not None else quote

    def quote(self, contract: OptionContract, now: datetime) -> OptionQuote | None:
        """DXLink's quote for a contract LEAN has none for (its time is the events' own time)."""
        if self._streamer_symbol(contract, watch_only=True) is None:
            return None
        return self.dual.dxlink_quote(contract, now)

    def _streamer_symbol(self, contract: OptionContract, watch_only: bool = False) -> str | None:
        """The contract's DXLink symbol, registering it for streaming (``watch_only``: unless the
        watch list is full; held contracts always get in)."""
        key = contract.symbol
        if key not in self._streamer:
            if watch_only and len(self._contracts) >= self.cfg.max_watched:
                self.over_limit += 1
                return None
            try:
                sym: str | None = symbols_for(contract).streamer
            except ValueError as exc:  # e.g. a futures product without a known option root
                LOG.warning("no DXLink symbol for %s: %s", key, exc)
                sym = None
            self._streamer[key] = sym
            if sym is not None:
                self._contracts[sym] = contract
        return self._streamer[key]

    # --- the orchestrator's executor -----------------------------------------------------------

    def guard_executor(self, executor: Executor) -> HeldExecutor:
        return HeldExecutor(executor, self.guard)

    # --- events forwarded by main.py -----------------------------------------------------------

    def on_start(self, system: TradingSystem) -> None:
        """Nothing at start: the link works from its steps (``on_step``)."""

    def on_brokerage_disconnect(self, system: TradingSystem) -> None:
        self.guard.on_disconnect(system.platform.now(), "LEAN brokerage disconnected")

    def on_brokerage_reconnect(self, system: TradingSystem) -> None:
        """Reconnected: entries stay paused and held intents wait until a reconciliation."""
        self.guard.on_reconnect(system.platform.now())
        self._reconcile_due = None
        self._pause(system, self.entries_allowed(system.platform.now()))

    def on_step(self, system: TradingSystem) -> None:
        now = system.platform.now()
        if self._first_step is None:
            self._first_step = now
        try:
            self._subscribe(system, now)
            self._finish_job(system, now)
            self._start_reconcile(system, now)
            self._start_emergency(system, now)
            self._watch_feed(system)
            self._watch_held(system, now)
            self._report(system, now)
        except Exception as exc:  # the link must never take the algorithm down
            LOG.exception("Tastytrade link step failed")
            system.platform.notify(
                Severity.WARNING, "Tastytrade link error", redact(f"{type(exc).__name__}: {exc}")
            )
        self._pause(system, self.entries_allowed(now))

    def entries_allowed(self, now: datetime) -> Decision:
        brokerage = self.guard.entries_allowed(now)
        if not brokerage.approved:
            return brokerage
        feeds = self.dual.entries_allowed(now)
        first = self._first_step or now
        if not feeds.approved and now - first < self.cfg.dual.max_age:
            return Decision.ok("feeds_starting", "feeds starting up")  # neither died: not begun yet
        return feeds

    def _pause(self, system: TradingSystem, decision: Decision) -> None:
        pauses = system.pauses  # this link adds and clears only its own reasons (``PAUSE_OWNER``)
        if not decision.approved:
            for code in OWN_PAUSES - {decision.code}:
                pauses.clear(PAUSE_OWNER, code)
            if pauses.add(PAUSE_OWNER, decision.code, decision.message):
                system.platform.notify(Severity.WARNING, "New entries paused", decision.message)
        elif pauses.clear(PAUSE_OWNER):
            system.platform.notify(Severity.INFO, "New entries resumed", decision.message)

    # --- subscriptions -------------------------------------------------------------------------

    def _subscribe(self, system: TradingSystem, now: datetime) -> None:
        held = (self._streamer_symbol(leg.contract) for group in system.book.live() for leg in group.legs)
        self._held = {sym for sym in held if sym is not None}
        today = now.date()
        expired = {s for s, c in self._contracts.items() if c.expiry < today}
        if expired:
            self.feed.unsubscribe(expired)
            for s in expired:
                self._streamer.pop(self._contracts.pop(s).symbol, None)
            self._subscribed -= expired
            self._held -= expired
        new = set(self._contracts) - self._subscribed
        if new:
            self.feed.subscribe(sorted(new))
            self._subscribed |= new

    def _watch_feed(self, system: TradingSystem) -> None:
        st = self.feed.status()
        if st.state is self._feed_state:
            return
        previous, self._feed_state = self._feed_state, st.state
        if st.state is FeedState.FAILED:
            system.platform.notify(Severity.CRITICAL, "DXLink feed failed", st.reason)
        elif st.state is FeedState.RECONNECTING and previous is FeedState.CONNECTED:
            system.platform.notify(Severity.WARNING, "DXLink feed reconnecting", st.reason)
        elif st.state is FeedState.CONNECTED and previous is FeedState.RECONNECTING:
            system.platform.notify(Severity.INFO, "DXLink feed reconnected", st.describe())

    def _watch_held(self, system: TradingSystem, now: datetime) -> None:
        opened = system.platform.calendar.session_open(now.date())
        if opened is None or now - opened < self.cfg.dual.max_age:  # quotes wake up with the session
            return
        for severity, title, message in self.held_watch.check(self._held):
            system.platform.notify(severity, title, message)

    def _report(self, system: TradingSystem, now: datetime) -> None:
        if self._reported_at is not None and now - self._reported_at < self.cfg.report_every:
            return
        self._reported_at = now
        d = self.dual
        system.platform.log(
            f"tastytrade: feed {self.feed.status().describe()}; brokerage {self.guard.state.value}; "
            f"quotes used {d.used}; disagreements {d.disagreements} of {d.compared} compared; "
            f"{len(self._subscribed)} streamed, {self.over_limit} merges over the watch limit"
        )
        compared = d.compared - self._seen[0]
        disagreed = sum(d.disagreements.values()) - self._seen[1]
        self._seen = (d.compared, sum(d.disagreements.values()))
        if compared >= self.cfg.disagree_min and disagreed > self.cfg.disagree_share * compared:
            system.platform.notify(
                Severity.WARNING,
                "LEAN and DXLink quotes disagree",
                f"{disagreed} field disagreements in {compared} comparisons since the last report "
                f"(totals {d.disagreements}): check symbol mapping, units or a frozen feed",
            )

    # --- reconciliation and the emergency route (on the worker thread) ---------------------------

    def _start_reconcile(self, system: TradingSystem, now: datetime) -> None:
        if self._job is not None or self._reconcile_off or not self.guard.brokerage_up:
            return
        if self._reconcile_due is not None and now < self._reconcile_due:
            return
        if self.guard.state is BrokerageState.CONNECTED and system.platform.open_order_tags():
            return  # a fill between the two reads would look like a mismatch: wait for quiet
        account = system.platform.account()
        self._job, self._job_kind = self._jobs.submit(self.client.reconcile, account), "reconcile"

    def _start_emergency(self, system: TradingSystem, now: datetime) -> None:
        if self._job is not None or self.guard.brokerage_up or not self.sweep.due(now, self.guard.since):
            return
        spots = {k: q.price for k, q in system.platform.snapshot().underlyings.items()}
        self._job, self._job_kind = self._jobs.submit(self.sweep.run, now, spots), "emergency"

    def _finish_job(self, system: TradingSystem, now: datetime) -> None:
        job = self._job
        if job is None or not job.done():
            return
        self._job, kind = None, self._job_kind
        notify = system.platform.notify
        try:
            result = job.result()
        except AuthRefused as exc:
            self._reconcile_off = str(exc)
            notify(Severity.CRITICAL, f"Tastytrade {kind} stopped", redact(str(exc)))
            return
        except Exception as exc:
            self._reconcile_due = now + self.cfg.reconcile_retry
            notify(
                Severity.WARNING,
                f"Tastytrade {kind} failed; retrying",
                redact(f"{type(exc).__name__}: {exc}"),
            )
            return
        if kind == "reconcile":
            self._reconciled(system, now, result)
        else:
            self.sweep.report(system.platform.notify, *result)

    def _reconciled(self, system: TradingSystem, now: datetime, report: ReconcileReport) -> None:
        was = self.guard.state
        self.guard.on_reconciled(report.positions_ok, now, report.summary())
        self._reconcile_due = now + self.cfg.reconcile_every
        alerts = report.alerts()
        text = "\n".join(f"{s.value} {t}: {m}" for s, t, m in alerts)
        if text != self._last_report:
            self._last_report = text
            for severity, title, message in alerts:
                system.platform.notify(severity, title, message)
        if report.positions_ok and was is not BrokerageState.CONNECTED:
            system.platform.notify(
                Severity.INFO, "Broker reconciliation clean", f"positions match after {was.value}"
            )
