"""The offline engine's broker simulator (fees, margin, book, fills, settlement)."""

from sim.broker.broker import SimBroker
from sim.broker.fees import TastytradeFees
from sim.broker.margin import SimMargin
from sim.broker.settlement import SettlementRecord

__all__ = ["SettlementRecord", "SimBroker", "SimMargin", "TastytradeFees"]
