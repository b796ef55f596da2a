"""An order is never priced off a quote that fails the sanity rules, and a bad quote never raises.

Issue 13: a NaN or 1e308 bid/ask on a held contract raised ``ValueError: cannot convert float NaN
to integer`` out of ``execution.pricing`` and stopped the run; exits were priced off absurd quotes.
"""

from __future__ import annotations

import dataclasses
import math

import pytest

from core.settings import Settings
from core.types import Leg, OptionChain, OrderIntent, Purpose, UpdateKind
from execution.order_manager import OrderManager
from strategies.zero_dte import ZeroDteIronCondor
from testing.execution_fakes import ManualBroker
from testing.factories import FakeContext, account, friday, snapshot, zero_dte_chain

S = Settings()
BAD = {
    "nan": lambda b, a: (math.nan, math.nan),
    "1e308": lambda b, a: (1e308, 1e308),
    "x1000": lambda b, a: (b * 1000, a * 1000),
    "zero": lambda b, a: (0.0, 0.0),
    "negative": lambda b, a: (-b - 1, -a - 1),
    "huge_spread": lambda b, a: (0.0, a + 5000.0),
}


def _damaged(chain: OptionChain, bad) -> OptionChain:
    quotes = []
    for q in chain.quotes:
        bid, ask = bad(q.bid, q.ask)
        quotes.append(dataclasses.replace(q, bid=bid, ask=ask))
    return dataclasses.replace(chain, quotes=tuple(quotes))


def _opened() -> tuple[OrderManager, ManualBroker, OrderIntent]:
    """A condor opened and filled; returns the manager, the broker and the closing intent."""
    now = friday()
    snap = snapshot(now, [zero_dte_chain(now)])
    (intent,) = ZeroDteIronCondor(S).propose(snap, FakeContext(account(now=now)))
    broker = ManualBroker(snap)
    om = OrderManager(S, broker, jitter_seed=1)
    om.submit(intent, snap)
    om.on_order_event(broker.fill(broker.last().tag))
    close = dataclasses.replace(
        intent,
        purpose=Purpose.CLOSE,
        legs=tuple(Leg(leg.contract, -leg.ratio) for leg in intent.legs),
        reference_price=-intent.reference_price,
        natural_price=-intent.natural_price,
    )
    return om, broker, close


@pytest.mark.parametrize("bad", BAD.values(), ids=BAD.keys())
def test_an_exit_is_not_repriced_on_bad_quotes_and_nothing_raises(bad):
    om, broker, close = _opened()
    om.submit(close, broker.snap)
    first = broker.last()
    broker.advance(S.exec_step_minutes)
    broker.snap = snapshot(broker.snap.time, [_damaged(zero_dte_chain(broker.snap.time), bad)])
    om.on_step(broker.snap)  # the ladder's next price is due: cancel, then reprice
    updates = om.on_order_event(broker.confirm_cancel(first.tag))
    assert broker.last() is first, "no order priced off the bad quotes"
    (update,) = updates
    assert update.kind is UpdateKind.ABANDONED and "no usable quotes" in update.message
    # quotes are good again: the next exit is priced from them, at a sane limit
    broker.advance(S.exec_step_minutes)
    broker.snap = snapshot(broker.snap.time, [zero_dte_chain(broker.snap.time)])
    om.submit(close, broker.snap)
    resent = broker.last()
    assert resent is not first and abs(resent.limit_price) < 20


@pytest.mark.parametrize("bad", BAD.values(), ids=BAD.keys())
def test_an_exit_whose_quotes_are_bad_when_it_arrives_is_never_priced_off_its_own_marks(bad):
    om, broker, close = _opened()
    broker.snap = snapshot(broker.snap.time, [_damaged(zero_dte_chain(broker.snap.time), bad)])
    marked = dataclasses.replace(close, reference_price=math.nan, natural_price=math.nan)
    sent = len(broker.sent)
    om.submit(marked, broker.snap)
    assert len(broker.sent) == sent
    assert not om.is_working(close.group_id), "given up: the orchestrator asks again next step"
