"""An expiry's pricing inputs as a tuple (``pricing.group_values``) sit in ``GROUP_FIELDS`` order."""

from __future__ import annotations

import pytest

from sim.markets.synthetic import SyntheticConfig
from sim.markets.synthetic.pricing import GROUP_FIELDS, group_values, named, stress
from sim.markets.synthetic.roots import ROOTS
from sim.markets.synthetic.surface import atm_vol_at, shape_of


@pytest.mark.parametrize("root", ["SPXW", "ES", "CL", "GC", "SPY"])
def test_each_value_is_the_field_its_position_names(root: str):
    spec, cfg = ROOTS[root], SyntheticConfig()
    args = (spec, 5000.0, 22.0, 0.05, 0.04, 0.3, 0.013, cfg)
    values = group_values(*args)
    by_name = named(values)
    assert tuple(by_name) == GROUP_FIELDS and tuple(by_name.values()) == values
    slope, width, smile, smile_width = shape_of(spec.family)
    assert by_name == {
        "spot": 5000.0, "t_cal": 0.05, "tau_var": 0.04, "atm": atm_vol_at(spec.family, 22.0, 0.05, cfg),
        "rate": cfg.rate, "div": 0.013, "black": 1.0 if spec.on_future else 0.0, "slope": slope,
        "width": width, "smile": smile, "smile_width": smile_width, "tick_small": spec.tick_small,
        "tick_large": spec.tick_large, "tick_switch": spec.tick_switch, "spread_ticks": spec.spread_ticks,
        "spread_pct": spec.spread_pct, "stress": stress(spec.family, 22.0, cfg), "fine_step": spec.fine_step,
        "base_oi": spec.base_oi, "base_volume": spec.base_volume, "elapsed": 0.3,
    }  # fmt: skip
