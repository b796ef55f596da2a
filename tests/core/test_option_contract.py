"""OptionContract keys every quote cache: its cached hash must behave as the generated one."""

from __future__ import annotations

import dataclasses
import os
import pickle
import subprocess
import sys
from datetime import date

import pytest

from core.types import Right
from testing.factories import spxw

_CHILD = (
    "import pickle, sys; from datetime import date; from core.types import Right;"
    "from testing.factories import spxw;"
    "c = pickle.loads(sys.stdin.buffer.read());"
    "print({spxw(4900, Right.PUT, date(2025, 3, 7)): 'found'}.get(c))"
)


def test_hash_is_the_hash_of_the_compared_fields_and_equal_contracts_hash_alike():
    c = spxw(4900, Right.PUT, date(2025, 3, 7))
    compared = tuple(getattr(c, f.name) for f in dataclasses.fields(c) if f.compare)
    assert hash(c) == hash(compared)
    assert hash(dataclasses.replace(c)) == hash(c) and hash(c) != hash(dataclasses.replace(c, strike=4905))


@pytest.mark.slow  # starts a Python child process (imports numpy/pandas anew)
def test_a_contract_pickled_into_another_process_still_finds_its_quotes():
    contract = spxw(4900, Right.PUT, date(2025, 3, 7))
    env = {**os.environ, "PYTHONHASHSEED": "12345"}  # string hashes differ from this process's
    out = subprocess.run(
        [sys.executable, "-c", _CHILD], input=pickle.dumps(contract), capture_output=True, check=True, env=env
    )
    assert out.stdout.decode().strip() == "found"
