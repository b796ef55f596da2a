"""Journal deltas rebuild exactly the state they were taken from."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from persistence.codec import dumps
from persistence.delta import apply, diff

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=False) | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(json_values, json_values)
@pytest.mark.slow  # hypothesis: hundreds of generated states
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


def test_a_flat_list_mostly_rewritten_is_set_whole_in_one_operation():
    old = {"seen": {"SPY P485": [8.05, 8.14, "2025-01-07T13:15:00", 578.77]}}
    new = {"seen": {"SPY P485": [8.03, 8.12, "2025-01-07T13:20:00", 579.07]}}
    assert diff(old, new) == [["set", ["seen", "SPY P485"], new["seen"]["SPY P485"]]]
    assert apply(old, diff(old, new)) == new


def test_a_single_change_in_a_flat_list_stays_one_small_operation():
    old = {"digests": [f"d{i}" for i in range(50)], "quote": [1.0, 2.0, 3.0]}
    appended = {"digests": [*old["digests"], "d50"], "quote": old["quote"]}
    assert diff(old, appended) == [["set", ["digests", 50], "d50"]]
    moved = {"digests": old["digests"], "quote": [1.5, 2.0, 3.0]}
    assert diff(old, moved) == [["set", ["quote", 0], 1.5]]


def test_key_order_of_a_dict_survives_the_journal_text():
    """Group notes gain their exit keys at the end; a restart must iterate them in the same order
    (the trade record is written from the dict), though the journal's JSON sorts keys."""
    old = {"notes": {"b": 1.0, "c": 2.0}}
    new = {"notes": {"b": 1.0, "c": 2.0, "z": 3.0, "a": 4.0, "m": 5.0}}
    replayed = apply(old, json.loads(dumps(diff(old, new))))
    assert list(replayed["notes"]) == ["b", "c", "z", "a", "m"]


def test_a_typed_mapping_decodes_in_the_order_a_snapshot_gives_replayed_or_not():
    """A snapshot's JSON sorts keys, a journal delta adds keys in write order: decoding sorts, so a
    group rebuilt either way writes its trade record's notes in one order (``make chaos`` differed
    at record 148 when a life restarted from the journal rather than a snapshot)."""
    from persistence.typed import from_plain

    old, new = {"n": {"b": 1.0, "c": 2.0}}, {"n": {"b": 1.0, "c": 2.0, "z": 3.0, "a": 4.0}}
    replayed = apply(old, json.loads(dumps(diff(old, new))))["n"]
    from_snapshot = json.loads(dumps(new))["n"]
    assert list(replayed) != list(from_snapshot), "the premise: the two plain forms differ in order"
    decoded = [list(from_plain(dict[str, float], d)) for d in (replayed, from_snapshot)]
    assert decoded == [["a", "b", "c", "z"]] * 2
