"""Compare the broker's own record (positions and balances from Tastytrade's API) with LEAN's.

LEAN's portfolio is what the algorithm believes; Tastytrade's API is what the account holds.
After a brokerage outage, a restart or an assignment they can differ, and acting on the wrong one
is how duplicate or naked positions happen.  ``fetch_account`` reads positions and balances
through the SDK's ``Account`` API; ``reconcile`` matches both sides on a normalised key (option
identity, future contract, share ticker), so LEAN's ``BRK.B`` meets Tastytrade's ``BRK/B`` and a
core futures option meets ``./ESU5 ESU5  250919P900``, and returns a typed report.  Any mismatch
is a critical alert and a fail-closed signal for the recovery rules; nothing here repairs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from brokers.futures_symbols import parse_future, parse_tastytrade_future_option
from brokers.occ import parse_occ
from brokers.symbols import lean_equity, option_id
from core.ports import Severity
from core.types import AccountState, Holding, SecurityKind


@dataclass(frozen=True, slots=True)
class BrokerPosition:
    symbol: str  # Tastytrade symbol
    instrument_type: str  # "Equity Option", "Future Option", "Future", "Equity", ...
    quantity: float  # signed: + long, - short


@dataclass(frozen=True, slots=True)
class BrokerAccount:
    account_number: str
    positions: tuple[BrokerPosition, ...]
    cash: float
    net_liquidation: float


class MismatchKind(StrEnum):
    MISSING = "missing"  # LEAN holds it, the broker does not
    UNKNOWN = "unknown"  # the broker holds it, LEAN does not know it
    QUANTITY = "quantity_differs"


@dataclass(frozen=True, slots=True)
class PositionMismatch:
    kind: MismatchKind
    key: str
    lean_quantity: float
    broker_quantity: float
    lean_symbol: str = ""
    broker_symbol: str = ""

    def describe(self) -> str:
        name = self.broker_symbol or self.lean_symbol or self.key
        return f"{self.kind.value}: {name.strip()} LEAN {self.lean_quantity:g} vs broker {self.broker_quantity:g}"


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    time: datetime
    mismatches: tuple[PositionMismatch, ...]
    cash_diff: float  # broker - LEAN
    nlv_diff: float
    cash_ok: bool
    nlv_ok: bool
    unparsed: tuple[str, ...] = field(default=())  # broker symbols we could not interpret

    @property
    def ok(self) -> bool:
        return self.positions_ok and self.cash_ok and self.nlv_ok

    @property
    def positions_ok(self) -> bool:
        """Positions agree (balances may still differ by fees or marks: a warning, not a halt)."""
        return not self.mismatches and not self.unparsed

    def summary(self) -> str:
        lines = [m.describe() for m in self.mismatches] + [
            f"unparsed broker symbol {s}" for s in self.unparsed
        ]
        return "; ".join(lines)

    def alerts(self) -> list[tuple[Severity, str, str]]:
        """(severity, title, message) for ``Platform.notify``; empty when everything matches."""
        out: list[tuple[Severity, str, str]] = []
        if not self.positions_ok:
            out.append((Severity.CRITICAL, "Broker positions differ from LEAN", self.summary()))
        if not self.cash_ok or not self.nlv_ok:
            msg = f"cash diff {self.cash_diff:+,.2f}, net liquidation diff {self.nlv_diff:+,.2f} (broker - LEAN)"
            out.append((Severity.WARNING, "Broker balances differ from LEAN", msg))
        return out


async def fetch_account(session: Any, account_number: str | None = None) -> BrokerAccount:
    """Positions and balances through the SDK (``Account.get``, ``get_positions``, ``get_balances``)."""
    from tastytrade import Account

    if account_number:
        account = await Account.get(session, account_number)
    else:
        accounts = await Account.get(session)
        if len(accounts) != 1:
            raise ValueError(f"{len(accounts)} open accounts: set TASTYTRADE_ACCOUNT_NUMBER")
        account = accounts[0]
    positions = await account.get_positions(session)
    balances = await account.get_balances(session)
    return BrokerAccount(
        account.account_number,
        tuple(
            BrokerPosition(
                p.symbol,
                str(p.instrument_type.value if hasattr(p.instrument_type, "value") else p.instrument_type),
                float(p.quantity) * (-1.0 if str(p.quantity_direction).lower() == "short" else 1.0),
            )
            for p in positions
            if float(p.quantity) != 0.0
        ),
        float(balances.cash_balance),
        float(balances.net_liquidating_value),
    )


def broker_key(pos: BrokerPosition, today: date) -> str:
    """Normalised key of a broker position (raises ``ValueError`` when it cannot be read)."""
    sym = pos.symbol.strip() if not pos.symbol.startswith("./") else pos.symbol
    if pos.instrument_type == "Future Option" or sym.startswith("./"):
        fop = parse_tastytrade_future_option(sym, today)
        return f"FOP:{fop.future.product}:{fop.expiry.isoformat()}:{fop.right.value}:{fop.strike:g}"
    if pos.instrument_type == "Future" or sym.startswith("/"):
        return f"FUT:{parse_future(sym, today).key}"
    if pos.instrument_type in ("Equity Option", "Index Option") or len(pos.symbol) >= 15:
        oid = parse_occ(pos.symbol)
        return f"OPT:{oid.root}:{oid.expiry.isoformat()}:{oid.right.value}:{oid.strike:g}"
    return f"EQ:{lean_equity(sym)}"


def lean_key(symbol: str, holding: Holding, today: date) -> str:
    c = holding.contract
    if c is not None and c.kind is SecurityKind.FUTURE_OPTION:
        return f"FOP:{c.root.upper()}:{c.expiry.isoformat()}:{c.right.value}:{c.strike:g}"
    if c is not None:
        oid = option_id(c)
        return f"OPT:{oid.root}:{oid.expiry.isoformat()}:{oid.right.value}:{oid.strike:g}"
    text = (holding.symbol or symbol).strip()
    try:
        return (
            f"FUT:{parse_future(text, today).key}"
            if text.startswith("/") or _looks_future(text)
            else f"EQ:{lean_equity(text)}"
        )
    except ValueError:
        return f"EQ:{lean_equity(text)}"


def _looks_future(text: str) -> bool:
    return len(text) >= 4 and text[-2:].isdigit() and text[-3] in "FGHJKMNQUVXZ" and text[:-3].isalnum()


def reconcile(
    broker: BrokerAccount,
    lean: AccountState,
    *,
    cash_tol: float = 1.0,
    nlv_abs_tol: float = 250.0,
    nlv_rel_tol: float = 0.005,
    qty_tol: float = 1e-9,
    ignore: Iterable[str] = (),
) -> ReconcileReport:
    """Match positions by key; balances within tolerance (NLV moves with marks between the two
    reads, cash should not).  ``ignore``: keys to leave out (e.g. a cash sweep fund)."""
    today = lean.time.date()
    skip = set(ignore)
    broker_qty: dict[str, float] = {}
    broker_sym: dict[str, str] = {}
    unparsed: list[str] = []
    for p in broker.positions:
        try:
            k = broker_key(p, today)
        except ValueError:
            unparsed.append(p.symbol)
            continue
        broker_qty[k] = broker_qty.get(k, 0.0) + p.quantity
        broker_sym[k] = p.symbol
    lean_qty: dict[str, float] = {}
    lean_sym: dict[str, str] = {}
    for sym, h in _holdings(lean.holdings):
        if h.quantity == 0:
            continue
        k = lean_key(sym, h, today)
        lean_qty[k] = lean_qty.get(k, 0.0) + h.quantity
        lean_sym[k] = sym
    mismatches = []
    for k in sorted((set(broker_qty) | set(lean_qty)) - skip):
        lq, bq = lean_qty.get(k, 0.0), broker_qty.get(k, 0.0)
        if abs(lq - bq) <= qty_tol:
            continue
        kind = MismatchKind.MISSING if bq == 0 else MismatchKind.UNKNOWN if lq == 0 else MismatchKind.QUANTITY
        mismatches.append(PositionMismatch(kind, k, lq, bq, lean_sym.get(k, ""), broker_sym.get(k, "")))
    cash_diff = broker.cash - lean.cash
    nlv_diff = broker.net_liquidation - lean.net_liquidation
    nlv_tol = max(nlv_abs_tol, nlv_rel_tol * abs(lean.net_liquidation))
    return ReconcileReport(
        lean.time,
        tuple(mismatches),
        cash_diff,
        nlv_diff,
        abs(cash_diff) <= cash_tol,
        abs(nlv_diff) <= nlv_tol,
        tuple(unparsed),
    )


def _holdings(holdings: Mapping[str, Holding]) -> Iterable[tuple[str, Holding]]:
    return holdings.items()
