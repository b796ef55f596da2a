"""LT112 rules at their boundaries (STRATEGY_RULES.md §2)."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta

import pytest

from core.settings import Settings
from core.stress import Scenarios, positions_of, stress_loss
from core.types import GroupStatus, PositionGroup, Right
from strategies.lt112 import NAKED, SPREAD, Lt112
from testing.chains import bsm_chain, market
from testing.factories import FakeContext, WeekdayCalendar, account

S = Settings()
NO_STRESS_LIMIT = dataclasses.replace(S, risk_max_stress_nlv=10.0)  # to isolate the other caps
FIRST_WED = datetime(2025, 3, 5, 10, 0)
THIRD_WED = datetime(2025, 3, 19, 10, 0)


def chains(now: datetime, dtes=(120,), roots=("ES", "MES")):
    return [bsm_chain(r, now.date() + timedelta(days=d), now, 5800.0, step=5.0) for r in roots for d in dtes]


def propose(now=FIRST_WED, nlv=100_000.0, dtes=(120,), ctx=None, settings=S, chain_list=None):
    ctx = ctx or FakeContext(account(nlv, now=now))
    return Lt112(settings).propose(market(now, chain_list or chains(now, dtes)), ctx)


def test_first_wednesday_builds_one_1_1_2_unit_on_es_from_phase_2():
    (intent,) = propose()
    long, short, naked = intent.legs
    assert (long.ratio, short.ratio, naked.ratio) == (1, -1, -2)
    assert all(leg.contract.right is Right.PUT and leg.contract.root == "ES" for leg in intent.legs)
    assert long.contract.strike - short.contract.strike == 50
    assert naked.contract.strike < short.contract.strike
    assert abs(intent.notes["delta_0"]) == pytest.approx(0.25, abs=0.02)
    assert abs(intent.notes["delta_2"]) == pytest.approx(0.05, abs=0.01)
    assert intent.quantity == 1
    assert intent.parts == ((SPREAD, (0, 1)), (NAKED, (2,)))


class RootMargin(FakeContext):
    def __init__(self, *args, by_root, **kw) -> None:
        super().__init__(*args, **kw)
        self.by_root = by_root

    def margin_required(self, legs, quantity, snapshot) -> float:
        return self.by_root[legs[0].contract.root] * quantity


def test_es_when_one_unit_fits_else_mes_else_nothing_and_the_skip_names_the_cap():
    (intent,) = propose(nlv=40_000, settings=NO_STRESS_LIMIT)
    assert {leg.contract.root for leg in intent.legs} == {"ES"}, "phase 1 no longer trades SPX"
    assert propose(nlv=37_999, settings=NO_STRESS_LIMIT) == []

    def roots(by_root):
        ctx = RootMargin(account(40_000, now=FIRST_WED), by_root=by_root)
        intents = propose(ctx=ctx, settings=NO_STRESS_LIMIT)
        return [i.legs[0].contract.root for i in intents], ctx.skipped

    assert roots({"ES": 30_000.0, "MES": 3_000.0}) == (["MES"], [])
    (chosen, skipped) = roots({"ES": 30_000.0, "MES": 30_000.0})
    assert chosen == [] and [code for _, code, _ in skipped] == ["unit_too_large"]
    assert "buying power" in skipped[0][2]


def _unit_stress(root: str, now=FIRST_WED, legs=slice(None)) -> float:
    """The stress loss of one unit on ``root`` alone (or of some of its ``legs``), as the gate's
    rule (``core.stress``) sees it."""
    snap = market(now, chains(now))
    chain = next(c for c in chains(now) if c.root == root)
    picked, _ = Lt112(S).pick_legs(chain)
    assert picked is not None
    positions = positions_of([(picked[0][legs], 1)], snap.chains)
    return stress_loss(positions, now, Scenarios.from_settings(S)).loss


def test_unit_stress_is_the_naked_puts_offset_by_the_long_put():
    """One unit's worst case (-8% with vols x1.5) is the two naked puts' loss less the debit
    spread's gain; the spread alone loses at most what it cost (on the +6% rally)."""
    naked, spread, unit = (_unit_stress("ES", legs=part) for part in (slice(2, 3), slice(0, 2), slice(None)))
    (es,) = chains(FIRST_WED, roots=("ES",))
    picked, _ = Lt112(S).pick_legs(es)
    assert picked is not None
    long, short, _ = picked[1]
    assert 0 < spread <= (long.mid - short.mid) * 50
    assert 0 < unit < naked


@pytest.mark.parametrize(("room", "root"), [(+1.0, "ES"), (-1.0, "MES"), (None, None)])
def test_mes_when_one_es_unit_breaks_the_stress_limit_else_no_entry_naming_it(room, root):
    """The rulebook's "/MES when one /ES unit does not fit the phase's caps" holds for the portfolio
    stress limit too: a limit $1 above one /ES unit's stress takes /ES, $1 below it takes /MES (a
    tenth), and below one /MES unit's stress nothing, the skip naming the stress limit."""
    nlv = 100_000.0
    es, mes = _unit_stress("ES"), _unit_stress("MES")
    assert mes == pytest.approx(es / 10, rel=1e-9) and es > 0
    limit = es + room if room is not None else mes - 1.0
    ctx = FakeContext(account(nlv, now=FIRST_WED))
    intents = propose(ctx=ctx, settings=dataclasses.replace(S, risk_max_stress_nlv=limit / nlv))
    assert [i.legs[0].contract.root for i in intents] == ([root] if root else [])
    if root is None:
        ((_, code, message),) = ctx.skipped
        assert code == "unit_too_large" and message.count("stress limit") == 2, message


def _without(chain, keep):
    """The chain with only the put strikes ``keep`` says yes to."""
    quotes = tuple(q for q in chain.quotes if q.contract.right is Right.CALL or keep(q.contract.strike))
    return dataclasses.replace(chain, quotes=quotes)


@pytest.mark.parametrize("width", [50.0, 60.0, None])
def test_spread_width_50_or_the_nearest_strike_within_10_points_else_skip(width):
    """A chain listing the exact strike, only one 10 points off, or none within 10 points."""
    (es,) = chains(FIRST_WED, roots=("ES",))
    long = Lt112(S).pick_legs(es)[0][0][0].contract.strike
    target = long - 50.0
    keep = {
        50.0: lambda k: True,  # the exact strike is listed
        60.0: lambda k: abs(k - target) >= 10 and k != target + 10,  # only one 10 points away
        None: lambda k: abs(k - target) > 10,  # the nearest is 15 points away
    }[width]
    ctx = FakeContext(account(now=FIRST_WED))
    intents = propose(
        ctx=ctx, chain_list=[_without(es, keep)], settings=dataclasses.replace(S, lt112_micro_root="")
    )
    if width is None:
        assert intents == [] and ctx.skip_codes() == ["strikes"]
        assert "no strike within 10" in ctx.skipped[0][2]
    else:
        (intent,) = intents
        assert intent.legs[0].contract.strike - intent.legs[1].contract.strike == width


@pytest.mark.parametrize(("dte", "ok"), [(109, False), (110, True), (150, True), (151, False)])
def test_dte_window_edges_with_a_strict_window(dte, ok):
    strict = dataclasses.replace(S, expiry_tolerance_days=0)
    assert bool(propose(dtes=(dte,), settings=strict)) is ok


@pytest.mark.parametrize(
    ("dtes", "chosen"), [((72, 163), 163), ((100,), 100), ((197,), None), ((110, 163), 110)]
)
def test_quarterly_listings_take_the_nearest_expiry_within_the_tolerance(dtes, chosen):
    """ES options list quarterly in LEAN: nothing may be inside 110-150; the listed expiry nearest
    120 DTE within expiry_tolerance_days (46) outside the window is taken; inside always wins."""
    intents = propose(dtes=dtes)
    got = (intents[0].legs[0].contract.expiry - FIRST_WED.date()).days if intents else None
    assert got == chosen


def test_expiry_nearest_120_dte_is_chosen():
    (intent,) = propose(dtes=(112, 125, 148))
    assert intent.notes["dte"] == 125


def test_second_wednesday_never_third_only_from_phase_3():
    assert propose(datetime(2025, 3, 12, 10, 0)) == []
    assert propose(THIRD_WED, nlv=100_000)
    assert propose(THIRD_WED, nlv=60_000) == []  # phase 2


def test_entry_window_and_weekday():
    assert propose(FIRST_WED.replace(hour=9, minute=55)) == []
    assert propose(FIRST_WED + timedelta(minutes=S.entry_window_minutes))
    assert propose(FIRST_WED + timedelta(minutes=S.entry_window_minutes + 5)) == []
    assert propose(datetime(2025, 3, 4, 10, 0)) == []  # a Tuesday


def test_holiday_wednesday_does_not_trade():
    ctx = FakeContext(account(now=FIRST_WED), calendar=WeekdayCalendar(holidays=[FIRST_WED.date()]))
    assert propose(ctx=ctx) == []


@pytest.mark.parametrize(("nlv", "cap"), [(40_000, 1), (60_000, 2), (80_000, 3), (100_000, 4)])
def test_max_open_units_by_phase(nlv, cap):
    def unit(n):
        return _group(f"lt112-20250205-{n:03d}-naked", NAKED, campaign=f"lt112-20250205-{n:03d}")

    below = FakeContext(account(nlv, now=FIRST_WED), groups=[unit(i) for i in range(cap - 1)])
    assert propose(nlv=nlv, ctx=below, settings=NO_STRESS_LIMIT)
    full = FakeContext(account(nlv, now=FIRST_WED), groups=[unit(i) for i in range(cap)])
    assert propose(nlv=nlv, ctx=full, settings=NO_STRESS_LIMIT) == []


# --- management -----------------------------------------------------------------------------------
def _group(group_id, part, legs=None, entry=-10.0, campaign="lt112-20250305-001", now=FIRST_WED, dte=120):
    if legs is None:
        chain = chains(now, (dte,), ("ES",))[0]
        picked, _ = Lt112(S).pick_legs(chain)
        assert picked is not None
        all_legs, _ = picked
        legs = all_legs[:2] if part == SPREAD else all_legs[2:]
    return PositionGroup(group_id, "lt112", legs, 1, GroupStatus.OPEN, opened_at=now, entry_price=entry,
                         entry_fees=5.0, campaign=campaign, part=part)  # fmt: skip


def manage(group, now, spot=5800.0, others=(), closed=(), nlv=100_000.0):
    expiry = group.legs[0].contract.expiry
    snap = market(now, [bsm_chain("ES", expiry, now, spot, step=5.0)])
    ctx = FakeContext(account(nlv, now=now), groups=[group, *others], closed=list(closed))
    return Lt112(S).manage(snap, group, ctx)


def _priced(part, now=FIRST_WED, spot=5800.0):
    """A part whose entry price is its expected exit fill now (zero P&L before fees)."""
    g = _group("lt112-20250305-001-" + part, part, entry=0.0)
    snap = market(now, [bsm_chain("ES", g.legs[0].contract.expiry, now, spot, step=5.0)])
    from strategies.common import exit_mark

    return dataclasses.replace(g, entry_price=exit_mark(g, snap))


def test_naked_puts_close_at_90_percent_of_their_credit():
    naked = _priced(NAKED)
    later = FIRST_WED + timedelta(days=40)
    assert manage(naked, later, spot=5800.0) is None or manage(naked, later).reason != "profit_target"
    rallied = manage(naked, later, spot=7000.0)
    assert rallied is not None and rallied.reason == "profit_target"
    assert rallied.notes["profit"] >= 0.9 * naked.credit


def test_spread_closes_when_worth_150_percent_of_its_cost():
    spread = _priced(SPREAD)
    assert manage(spread, FIRST_WED + timedelta(days=10)) is None
    # triggered on the price selling it would get (its bid side), and never sold for less
    assert manage(spread, FIRST_WED + timedelta(days=10), spot=5550.0) is None, "worth 150% at mid only"
    dropped = manage(spread, FIRST_WED + timedelta(days=10), spot=5400.0)
    assert dropped is not None and dropped.reason == "profit_target"
    assert dropped.notes["worst_price"] == pytest.approx(-1.5 * spread.entry_price)


@pytest.mark.parametrize(("days", "closes"), [(98, False), (99, True)])  # 120 DTE at entry: 21 DTE on day 99
def test_everything_closes_at_21_dte(days, closes):
    naked = _priced(NAKED)
    intent = manage(naked, FIRST_WED + timedelta(days=days))
    assert (intent is not None and intent.reason == "dte_exit") is closes


def test_unit_stop_is_the_smaller_of_twice_the_credit_and_2_percent_of_nlv():
    naked, spread = _priced(NAKED), _priced(SPREAD)
    crash = FIRST_WED + timedelta(days=5)
    intent = manage(naked, crash, spot=5000.0, others=[spread])
    assert intent is not None and intent.reason == "stop_loss"
    credit = (naked.credit + spread.credit) * 50
    assert intent.notes["unit_stop"] == pytest.approx(min(2 * credit, 0.02 * 100_000) if credit > 0 else 2000)
    # The spread part sees the same unit loss and closes too.
    assert manage(spread, crash, spot=5000.0, others=[naked]).reason == "stop_loss"


def test_settings_change_the_structure():
    wide = dataclasses.replace(S, lt112_spread_width_es=100.0, lt112_long_delta=0.30)
    (intent,) = propose(settings=wide)
    assert intent.legs[0].contract.strike - intent.legs[1].contract.strike == 100
    assert abs(intent.notes["delta_0"]) == pytest.approx(0.30, abs=0.02)


def test_unit_needs_no_quote_gaps():
    naked = _priced(NAKED)
    ctx = FakeContext(account(now=FIRST_WED), groups=[naked])
    empty = market(FIRST_WED, [])
    assert Lt112(S).manage(empty, naked, ctx) is None
    assert date(2025, 3, 5).weekday() == S.lt112_weekday
