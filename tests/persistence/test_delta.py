"""Journal deltas rebuild exactly the state they were taken from."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from persistence.delta import apply, diff

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=False) | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(json_values, json_values)
def test_apply_of_diff_gives_the_new_state(old, new):
    assert apply(old, diff(old, new)) == new


def test_append_to_a_list_is_one_small_operation():
    old = {"groups": [{"id": i} for i in range(500)]}
    new = {"groups": [*old["groups"], {"id": 500}]}
    assert diff(old, new) == [["set", ["groups", 500], {"id": 500}]]


def test_a_delta_that_does_not_fit_is_an_error_not_a_crash():
    with pytest.raises(ValueError):
        apply({}, [["set", ["missing", "key"], 1]])
    with pytest.raises(ValueError):
        apply({"a": 1}, [["explode", ["a"]]])
