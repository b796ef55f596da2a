"""Broker simulator: combo fills at the quotes once the limit is reached, LEAN's Tastytrade fees, cash, expiry settlement,
margin and order rejections.  Every expected number is worked by hand in the comment above it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

import pytest

from core.types import (
    ComboOrder,
    ExerciseStyle,
    Leg,
    MarketSnapshot,
    OptionChain,
    OptionContract,
    OptionQuote,
    OrderStatus,
    Right,
    SecurityKind,
    Settlement,
    UnderlyingQuote,
)
from sim.broker import SimBroker, SimMargin, TastytradeFees
from sim.broker.book import Book

P, C = Right.PUT, Right.CALL
EXP = date(2026, 3, 20)  # a Friday
T0 = datetime(2026, 3, 20, 10, 30)
T1 = datetime(2026, 3, 20, 10, 35)
T2 = datetime(2026, 3, 20, 10, 40)
CLOSE = datetime(2026, 3, 20, 16, 0)


def spxw(strike: float, right: Right) -> OptionContract:
    return OptionContract(
        "SPXW",
        "SPX",
        right,
        strike,
        EXP,
        100.0,
        SecurityKind.INDEX_OPTION,
        ExerciseStyle.EUROPEAN,
        Settlement.CASH,
    )


def spy(strike: float, right: Right) -> OptionContract:
    return OptionContract(
        "SPY",
        "SPY",
        right,
        strike,
        EXP,
        100.0,
        SecurityKind.EQUITY_OPTION,
        ExerciseStyle.AMERICAN,
        Settlement.SHARES,
    )


def es(strike: float, right: Right) -> OptionContract:
    return OptionContract(
        "ES",
        "ESH26",
        right,
        strike,
        EXP,
        50.0,
        SecurityKind.FUTURE_OPTION,
        ExerciseStyle.AMERICAN,
        Settlement.FUTURE,
    )


class Chains:
    """A tiny ChainSource: quotes looked up by contract symbol."""

    def __init__(self, quotes: Mapping[str, OptionQuote]) -> None:
        self.quotes = dict(quotes)

    def expiries(self, root: str) -> tuple[date, ...]:
        return tuple(sorted({q.contract.expiry for q in self.quotes.values() if q.contract.root == root}))

    def chain(self, root: str, expiry: date) -> OptionChain | None:
        return None

    def quote(self, contract: OptionContract) -> OptionQuote | None:
        return self.quotes.get(contract.symbol)


def q(contract: OptionContract, bid: float, ask: float, t: datetime = T0) -> OptionQuote:
    return OptionQuote(contract, t, bid, ask, 10, 10, 100, 1000, 0.0, 0.2, 0.1, 0.0, 0.0, 0.0)


def snap(t: datetime, quotes: list[OptionQuote], **prices: float) -> MarketSnapshot:
    prices = prices or {"SPX": 5000.0}
    underlyings = {s: UnderlyingQuote(s, SecurityKind.INDEX, t, p, p, p) for s, p in prices.items()}
    return MarketSnapshot(t, underlyings, 20.0, {}, Chains({x.contract.symbol: x for x in quotes}))


# Credit iron condor 4850/4900/5100/5150: sell the 4900 put and 5100 call, buy the wings.
SP, LP, SC, LC = spxw(4900, P), spxw(4850, P), spxw(5100, C), spxw(5150, C)
CONDOR = (Leg(SP, -1), Leg(LP, 1), Leg(SC, -1), Leg(LC, 1))
CLOSE_CONDOR = tuple(Leg(leg.contract, -leg.ratio) for leg in CONDOR)


def condor_quotes(t: datetime, short_put_bid: float = 2.00) -> list[OptionQuote]:
    # natural = -short_put_bid + 1.00 - 1.80 + 0.80; with bid 2.00: -2.00 (a 2.00 credit)
    return [
        q(SP, short_put_bid, short_put_bid + 0.20, t),
        q(LP, 0.90, 1.00, t),
        q(SC, 1.80, 2.00, t),
        q(LC, 0.70, 0.80, t),
    ]


def broker(cash: float = 100_000.0) -> SimBroker:
    return SimBroker(cash, TastytradeFees(), SimMargin())


def net(fills) -> float:
    """Net price per unit of a FILLED event's legs (debit +, credit -)."""
    return sum(f.quantity * f.price for f in fills) / abs(fills[0].quantity)


# --- combo fill rule -----------------------------------------------------------------------------
def test_condor_waits_while_natural_is_worse_than_limit_then_fills_at_the_quotes():
    b = broker()
    b.process(snap(T0, condor_quotes(T0)))
    [ev] = b.submit(ComboOrder("ic|open|0", CONDOR, 2, -2.20, T0), T0)
    assert ev.status is OrderStatus.SUBMITTED
    # natural -2.00 (2.00 credit) is worse than the -2.20 asked: no fill, still working
    assert b.process(snap(T1, condor_quotes(T1))) == []
    assert b.open_order_tags() == ["ic|open|0"]
    # short put bid 2.25: natural = -2.25 + 1.00 - 1.80 + 0.80 = -2.25 <= -2.20 -> fills, and as in
    # LEAN every leg is booked at its own quote: net -2.25, better than the limit, never worse
    [filled] = b.process(snap(T2, condor_quotes(T2, short_put_bid=2.25)))
    assert filled.status is OrderStatus.FILLED and filled.time == T2
    assert b.open_order_tags() == []
    prices = {f.contract.symbol: f.price for f in filled.fills}
    assert prices == {SP.symbol: 2.25, LP.symbol: 1.00, SC.symbol: 1.80, LC.symbol: 0.80}
    assert [f.quantity for f in filled.fills] == [-2, 2, -2, 2]  # ratio x 2 units
    assert net(filled.fills) == pytest.approx(-2.25)


def test_limit_equal_to_natural_fills_every_leg_at_its_bid_or_ask():
    b = broker()
    b.submit(ComboOrder("ic|open|0", CONDOR, 1, -2.00, T0), T0)
    [filled] = b.process(snap(T0, condor_quotes(T0)))
    # natural = -2.00 == limit: short put at bid 2.00, long put at ask 1.00, short call 1.80, long call 0.80
    assert [f.price for f in filled.fills] == pytest.approx([2.00, 1.00, 1.80, 0.80])


def test_missing_quote_or_no_bid_on_a_sold_leg_means_no_fill_and_the_order_keeps_working():
    b = broker()
    b.submit(ComboOrder("ic|open|0", CONDOR, 1, -1.50, T0), T0)
    assert b.process(snap(T1, condor_quotes(T1)[:3])) == []  # long call unquoted
    no_bid = [q(SP, 0.0, 2.20, T1), *condor_quotes(T1)[1:]]
    # the put we sell fetches 0: natural = -0 + 1.00 - 1.80 + 0.80 = 0.00, short of the -1.50 credit
    assert b.process(snap(T1, no_bid)) == []
    assert b.open_order_tags() == ["ic|open|0"]
    [filled] = b.process(snap(T2, condor_quotes(T2)))
    assert filled.status is OrderStatus.FILLED


def test_closing_a_condor_whose_wings_have_no_bid_fills_with_the_wings_at_zero():
    b = broker()
    b.submit(ComboOrder("ic|open|0", CONDOR, 1, -2.00, T0), T0)
    b.process(snap(T0, condor_quotes(T0)))
    # near expiry: shorts still worth something, the long wings have no bid at all
    late = [q(SP, 0.30, 0.40, T1), q(LP, 0.0, 0.05, T1), q(SC, 0.20, 0.30, T1), q(LC, 0.0, 0.05, T1)]
    b.submit(ComboOrder("ic|close|0", CLOSE_CONDOR, 1, 0.70, T1), T1)
    # natural debit = 0.40 - 0 + 0.30 - 0 = 0.70 <= 0.70: fills, wings sold at 0 as LEAN would
    [closed] = b.process(snap(T1, late))
    assert closed.status is OrderStatus.FILLED
    assert net(closed.fills) == pytest.approx(0.70)
    assert b.holdings() == {}


# --- fees ----------------------------------------------------------------------------------------
def test_fee_model_matches_lean_tastytrade_cases():
    fees = TastytradeFees()
    assert fees.leg_fee(SP, 10, True, SecurityKind.INDEX_OPTION) == 10.0  # $1.00 x 10 to open
    assert fees.leg_fee(spy(480, P), 10, True, SecurityKind.EQUITY_OPTION) == 10.0  # no per-leg cap in LEAN
    assert fees.leg_fee(SP, 10, False, SecurityKind.INDEX_OPTION) == 0.0  # $0 to close
    assert fees.leg_fee(es(5000, P), 4, True, SecurityKind.FUTURE_OPTION) == 10.0  # $2.50 x 4
    assert fees.leg_fee(es(5000, P), 4, False, SecurityKind.FUTURE_OPTION) == 0.0
    assert fees.leg_fee(None, -10, False, SecurityKind.FUTURE) == 12.5  # $1.25 x 10, open or close
    assert fees.leg_fee(None, 100, True, SecurityKind.EQUITY) == 0.0


def test_condor_fees_and_cash_after_open_and_close():
    b = broker()
    b.submit(ComboOrder("ic|open|0", CONDOR, 2, -2.00, T0), T0)
    [opened] = b.process(snap(T0, condor_quotes(T0)))
    # open: 4 legs x 2 contracts x $1.00 = $8.00, $2.00 per leg
    assert [f.fee for f in opened.fills] == [2.0, 2.0, 2.0, 2.0]
    # cash: 100,000 + 2.00 credit x 100 x 2 - 8 fees = 100,392
    assert b.cash == pytest.approx(100_392.0)
    assert set(b.holdings()) == {SP.symbol, LP.symbol, SC.symbol, LC.symbol}
    assert b.holdings()[SP.symbol].quantity == -2 and b.holdings()[SP.symbol].average_price == 2.00
    closing = [q(SP, 0.40, 0.50, T1), q(LP, 0.10, 0.15, T1), q(SC, 0.45, 0.55, T1), q(LC, 0.05, 0.10, T1)]
    # closing natural = +0.50 - 0.10 + 0.55 - 0.05 = 0.90 debit; a 1.00 limit fills at the quotes: 0.90
    b.submit(ComboOrder("ic|close|0", CLOSE_CONDOR, 2, 1.00, T1), T1)
    [closed] = b.process(snap(T1, closing))
    assert [f.fee for f in closed.fills] == [0.0, 0.0, 0.0, 0.0]  # $0 to close
    assert net(closed.fills) == pytest.approx(0.90)
    # cash: 100,392 - 0.90 x 100 x 2 = 100,212; flat legs removed
    assert b.cash == pytest.approx(100_212.0)
    assert b.holdings() == {}


def test_futures_option_fee_on_a_fill():
    b = broker()
    put = es(4400, P)
    b.submit(ComboOrder("es|open|0", (Leg(put, -1),), 2, -5.00, T0), T0)
    [ev] = b.process(snap(T0, [q(put, 5.00, 5.50)], ESH26=5000.0))
    # sell 2 to open at $2.50 each = $5.00; cash 100,000 + 5.00 x 50 x 2 - 5 = 100,495
    assert ev.fills[0].fee == 5.0
    assert b.cash == pytest.approx(100_495.0)


# --- expiry settlement ---------------------------------------------------------------------------
def test_spxw_put_spread_cash_settles_in_the_money():
    b = broker()
    legs = (Leg(SP, -1), Leg(LP, 1))
    b.submit(ComboOrder("pcs|open|0", legs, 1, -1.00, T0), T0)
    # natural = -2.00 + 1.00 = -1.00: fills at the limit; cash 100,000 + 100 - 2 fees = 100,098
    b.process(snap(T0, condor_quotes(T0)[:2]))
    assert b.cash == pytest.approx(100_098.0)
    records = b.settle_expiries(EXP, snap(CLOSE, [], SPX=4880.0))
    by_symbol = {r.symbol: r for r in records}
    # SPX 4880: short 4900 put intrinsic 20 x 100 x -1 = -2,000; the 4850 put expires worthless
    assert by_symbol[SP.symbol].kind == "cash" and by_symbol[SP.symbol].cash_flow == pytest.approx(-2000.0)
    assert by_symbol[LP.symbol].kind == "expired" and by_symbol[LP.symbol].cash_flow == 0.0
    assert b.cash == pytest.approx(98_098.0)  # 100,098 - 2,000
    assert b.holdings() == {}


def test_spy_short_put_assigned_into_100_shares_per_contract_at_the_strike():
    b = broker()
    put = spy(480, P)
    b.submit(ComboOrder("spy|open|0", (Leg(put, -1),), 2, -2.00, T0), T0)
    b.process(snap(T0, [q(put, 2.00, 2.10)], SPY=500.0))
    # cash 100,000 + 2.00 x 100 x 2 - 2 fees = 100,398
    assert b.cash == pytest.approx(100_398.0)
    [rec] = b.settle_expiries(EXP, snap(CLOSE, [], SPY=470.0))
    # assigned: +2 x 100 = 200 shares at 480, paying 96,000 -> cash 4,398
    assert rec.kind == "assignment" and rec.holding_symbol == "SPY" and rec.holding_quantity == 200
    assert rec.cash_flow == pytest.approx(-96_000.0)
    assert b.cash == pytest.approx(4_398.0)
    shares = b.holdings()["SPY"]
    assert (shares.quantity, shares.average_price, shares.contract) == (200, 480.0, None)
    # NLV at 470: 4,398 + 200 x 470 = 98,398 (= 100,398 less the 10-point intrinsic on 200 shares)
    assert b.account(snap(CLOSE, [], SPY=470.0)).net_liquidation == pytest.approx(98_398.0)


def test_spy_otm_put_expires_worthless():
    b = broker()
    put = spy(480, P)
    b.submit(ComboOrder("spy|open|0", (Leg(put, -1),), 1, -2.00, T0), T0)
    b.process(snap(T0, [q(put, 2.00, 2.10)], SPY=500.0))
    [rec] = b.settle_expiries(EXP, snap(CLOSE, [], SPY=490.0))
    assert rec.kind == "expired" and b.holdings() == {}


def test_es_short_put_assigned_into_a_long_future_at_the_strike():
    b = broker()
    put = es(5000, P)
    b.submit(ComboOrder("es|open|0", (Leg(put, -1),), 1, -40.00, T0), T0)
    b.process(snap(T0, [q(put, 40.00, 41.00)], ESH26=5000.0))
    # cash 100,000 + 40 x 50 - 2.50 = 101,997.50
    assert b.cash == pytest.approx(101_997.5)
    [rec] = b.settle_expiries(EXP, snap(CLOSE, [], ESH26=4950.0))
    assert rec.kind == "assignment" and rec.holding_symbol == "ESH26" and rec.holding_quantity == 1
    assert rec.cash_flow == 0.0  # futures cash is variation margin: nothing moves at delivery
    fut = b.holdings()["ESH26"]
    assert (fut.quantity, fut.average_price, fut.contract) == (1, 5000.0, None)
    # NLV: 101,997.50 + (4950 - 5000) x 1 x 50 = 99,497.50
    assert b.account(snap(CLOSE, [], ESH26=4950.0)).net_liquidation == pytest.approx(99_497.5)


def test_book_realises_futures_pnl_into_cash_on_close():
    book = Book(0.0)
    book.trade("ESH26", SecurityKind.FUTURE, 50.0, 1, 5000.0)
    assert book.cash == 0.0  # no premium for futures
    # sell at 4960: (4960 - 5000) x 1 x 50 = -2,000 realised, less the $1.25 fee
    book.trade("ESH26", SecurityKind.FUTURE, 50.0, -1, 4960.0, fee=1.25)
    assert book.cash == pytest.approx(-2001.25)
    assert book.holdings() == {}


# --- margin --------------------------------------------------------------------------------------
def test_margin_iron_condor_is_the_widest_side():
    # both wings 50 wide: max(50, 50) x 100 x 2 condors = 10,000 (credit not subtracted)
    assert SimMargin().margin_required(CONDOR, 2, snap(T0, condor_quotes(T0))) == pytest.approx(10_000.0)


def test_margin_naked_spx_put():
    put = spxw(4800, P)
    # SPX 5000, mid 10: 15% x 5000 - 200 OTM + 10 = 560 vs 10% x 4800 + 10 = 490 -> 560 x 100
    m = SimMargin().margin_required((Leg(put, -1),), 1, snap(T0, [q(put, 9.90, 10.10)], SPX=5000.0))
    assert m == pytest.approx(56_000.0)


def test_margin_naked_spy_put_and_strangle():
    put, call = spy(480, P), spy(520, C)
    s = snap(T0, [q(put, 1.95, 2.05), q(call, 1.45, 1.55)], SPY=500.0)
    # put: 20% x 500 - 20 OTM + 2 = 82 vs 10% x 480 + 2 = 50 -> 82 x 100 = 8,200
    assert SimMargin().margin_required((Leg(put, -1),), 1, s) == pytest.approx(8_200.0)
    # call: 100 - 20 + 1.50 = 81.50 vs 10% x 500 + 1.50 = 51.50 -> 8,150; strangle = 8,200 + 1.50 x 100
    strangle = (Leg(put, -1), Leg(call, -1))
    assert SimMargin().margin_required(strangle, 1, s) == pytest.approx(8_350.0)


def test_margin_es_1_1_2_is_a_debit_spread_plus_two_naked_puts():
    lp, sp, naked = es(4800, P), es(4750, P), es(4400, P)
    s = snap(T0, [q(lp, 59.5, 60.5), q(sp, 44.5, 45.5), q(naked, 4.75, 5.25)], ESH26=5000.0)
    # spread 4800/4750: long nearer the money -> its debit (60 - 45) x 50 = 750
    # each naked 4400 put: scan 6% x 5000 = 300, OTM 600, max(300 - 600, 25% x 300 = 75) + 5 = 80 x 50 = 4,000
    # total = 750 + 2 x 4,000 = 8,750
    legs = (Leg(lp, 1), Leg(sp, -1), Leg(naked, -2))
    assert SimMargin().margin_required(legs, 1, s) == pytest.approx(8_750.0)


# --- order handling ------------------------------------------------------------------------------
def test_insufficient_buying_power_is_rejected_but_closing_is_not():
    b = broker(60_000.0)
    put, put2 = spxw(4800, P), spxw(4790, P)
    quotes = [q(put, 9.90, 10.10), q(put2, 8.90, 9.10)]
    b.process(snap(T0, quotes))
    # needs 56,000 (see the naked SPX put case); have 60,000 -> accepted, fills at 9.90
    b.submit(ComboOrder("n|open|0", (Leg(put, -1),), 1, -9.90, T0), T0)
    [filled] = b.process(snap(T0, quotes))
    assert filled.status is OrderStatus.FILLED
    # NLV = 60,000 + 990 - 1 fee - 10.00 mid x 100 = 59,989; BP used 56,000 -> have 3,989
    # 4790 put: 750 - 210 + 9 = 549 x 100 = 54,900 needed
    [rej] = b.submit(ComboOrder("n2|open|0", (Leg(put2, -1),), 1, -8.90, T0), T0)
    assert rej.status is OrderStatus.REJECTED
    assert rej.message == "insufficient buying power: need $54,900.00, have $3,989.00"
    [ok] = b.submit(ComboOrder("n|close|0", (Leg(put, 1),), 1, 10.10, T0), T0)
    assert ok.status is OrderStatus.SUBMITTED


def test_duplicate_tag_and_invalid_quantity_are_rejected():
    b = broker()
    order = ComboOrder("ic|open|0", CONDOR, 1, -2.00, T0)
    assert b.submit(order, T0)[0].status is OrderStatus.SUBMITTED
    [dup] = b.submit(order, T0)
    assert dup.status is OrderStatus.REJECTED and "duplicate tag" in dup.message
    [bad] = b.submit(ComboOrder("ic|open|1", CONDOR, 0, -2.00, T0), T0)
    assert bad.status is OrderStatus.REJECTED and "invalid quantity" in bad.message
    assert b.open_order_tags() == ["ic|open|0"]


def test_cancel_working_order_then_nothing_when_final():
    b = broker()
    b.submit(ComboOrder("ic|open|0", CONDOR, 1, -2.20, T0), T0)
    [ev] = b.cancel("ic|open|0", T1)
    assert ev.status is OrderStatus.CANCELLED and ev.time == T1
    assert b.open_order_tags() == []
    assert b.cancel("ic|open|0", T1) == []
    assert b.process(snap(T2, condor_quotes(T2, short_put_bid=3.00))) == []  # a cancelled order never fills


def test_account_marks_options_at_mid_and_reports_margin():
    b = broker()
    b.submit(ComboOrder("ic|open|0", CONDOR, 1, -2.00, T0), T0)
    s = snap(T0, condor_quotes(T0))
    b.process(s)
    acct = b.account(s)
    # cash 100,000 + 200 - 4 = 100,196; marks at mid: -2.10 + 0.95 - 1.90 + 0.75 = -2.30 x 100 = -230
    assert acct.cash == pytest.approx(100_196.0)
    assert acct.net_liquidation == pytest.approx(99_966.0)
    assert acct.buying_power_used == pytest.approx(5_000.0)  # one condor, 50 wide


def test_positions_follow_trades_removals_and_a_restore():
    book = Book(1_000.0)
    book.trade("SPY", SecurityKind.EQUITY, 1.0, 10, 50.0)
    s = snap(T0, [], SPY=60.0)
    assert [p.symbol for p in book.positions()] == ["SPY"]
    assert book.holdings_value(s) == pytest.approx(600.0)
    book.trade("IWM", SecurityKind.EQUITY, 1.0, 1, 20.0)
    assert [p.symbol for p in book.positions()] == ["IWM", "SPY"]  # sorted, after the new trade
    book.remove("SPY")
    assert [p.symbol for p in book.positions()] == ["IWM"]
    saved = broker()
    saved.book.trade("QQQ", SecurityKind.EQUITY, 1.0, 3, 40.0)
    restored = broker()
    assert restored.book.positions() == []  # asked before the restore swaps the positions in
    restored.restore(saved.state())
    assert [p.symbol for p in restored.book.positions()] == ["QQQ"]


def test_buying_power_follows_new_positions_within_one_snapshot():
    b = broker()
    s = snap(T0, condor_quotes(T0))
    assert b.account(s).buying_power_used == 0.0
    b.submit(ComboOrder("ic|open|0", CONDOR, 1, -2.00, T0), T0, s)
    b.process(s)  # fills against the same snapshot: the requirement must not be the cached 0
    assert b.account(s).buying_power_used == pytest.approx(5_000.0)


def test_account_at_one_step_follows_an_early_assignment_and_a_settlement():
    # The account is cached per step time and book version: both changes happen without a new step
    # and must show in the next valuation (a cache keyed on the time alone would repeat the first).
    from sim.broker.assignment import assign_early

    b = broker()
    put = spy(480, P)
    s = snap(CLOSE, [q(put, 2.00, 2.10, CLOSE)], SPY=470.0)
    b.submit(ComboOrder("spy|open|0", (Leg(put, -1),), 2, -2.00, CLOSE), CLOSE)
    b.process(s)
    assert b.account(s).holdings[put.symbol].quantity == -2  # cash 100,398; NLV 100,398 - 2 x 205
    assert assign_early(b, put.symbol, 1) == ("SPY", 100.0)  # 100 shares at 480: cash 52,398
    after = b.account(s)
    assert after.holdings[put.symbol].quantity == -1 and after.holdings["SPY"].quantity == 100
    # 52,398 + 100 x 470 - 1 x 2.05 x 100 = 99,193
    assert after.net_liquidation == pytest.approx(99_193.0)
    b.settle_expiries(EXP, s)  # the other put assigned at 480: 100 more shares, cash 4,398
    settled = b.account(s)
    assert put.symbol not in settled.holdings and settled.holdings["SPY"].quantity == 200
    assert (settled.cash, settled.net_liquidation) == (pytest.approx(4_398.0), pytest.approx(98_398.0))
