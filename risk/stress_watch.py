"""The portfolio stress limit watched while positions are open (STRATEGY_RULES.md, "portfolio
stress loss"): the gate blocks entries that would take the worst case past ``risk_max_stress_nlv``
of NLV, but the market can take the open portfolio there on its own; then the monitors alert
(``RiskMonitors``, once a day) so a human can reduce what loses most."""

from __future__ import annotations

from core.settings import Settings
from core.stress import Scenarios, StressUnknown
from risk.events import Action, RiskEvent
from risk.portfolio import PortfolioView


def stress_breach(view: PortfolioView, nlv: float, s: Settings) -> RiskEvent | None:
    """A ``stress_limit`` alert event when the open portfolio's stress loss exceeds its limit, else
    None (also when it cannot be computed: the gate blocks entries then, and a missing quote is not
    a breach)."""
    if not nlv > 0:
        return None
    try:
        stress = view.stress(Scenarios.from_settings(s))
    except StressUnknown:
        return None
    limit = s.risk_max_stress_nlv * nlv
    if stress.loss <= limit:
        return None
    message = (
        f"portfolio stress loss ${stress.loss:,.0f} ({stress.describe()}) exceeds "
        f"{s.risk_max_stress_nlv:.0%} of NLV (${limit:,.0f}): reduce the positions that lose most"
    )
    values = {"stress_loss": stress.loss, "limit": limit, "nlv": nlv, **stress.by_class}
    return RiskEvent(view.snapshot.time, "stress_limit", Action.ALERT, message, values)
