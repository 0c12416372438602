"""Merge bases decoded in one pass with shared keys and values are exactly the bases decoded one by one."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.state.rows import compact_bases

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=6)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner,
                                                                                         max_size=3), max_leaves=6)
keys = st.sampled_from(["name|a+b", "email|email", "n|n", "__deleted__"]) | st.text(max_size=4)
bases = st.dictionaries(keys, values, max_size=5)


def _similar(pair: tuple[dict[str, Any], dict[str, Any]]) -> list[dict[str, Any]]:
    left, right = pair
    return [left, {**left, **right}]  # the right side mostly agrees with the left, like a synced pair


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(bases, bases).map(_similar), max_size=6), st.booleans())
def test_compact_bases_equal_one_by_one_decoding(pairs: list[list[dict[str, Any]]], as_text: bool) -> None:
    stored = [json.dumps(base) if as_text else json.loads(json.dumps(base)) for pair in pairs for base in pair]
    expected = [json.loads(json.dumps(base)) for pair in pairs for base in pair]
    decoded = compact_bases(stored)
    assert decoded == expected
    assert repr(decoded) == repr(expected)  # same types too (True is not 1, 1.0 is not 1): digests depend on it
