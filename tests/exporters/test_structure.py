"""OTLP's dropped counts read from the attributes the worker wrote (``exporters/_structure``)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from brokle_trace.capture._truncate import DICT_MARKER_KEY, dict_marker
from brokle_trace.exporters import _structure


@given(st.integers(1, 10**12), st.integers(0, 10**12))
def test_the_cut_count_is_read_from_captures_own_marker(omitted: int, kept: int) -> None:
    # The key and the text are capture's; exporters spell them (they never import capture).
    assert _structure.DICT_MARKER_KEY == DICT_MARKER_KEY
    marker = dict_marker(omitted, omitted + kept)
    assert _structure.cut_attributes({"a": 1, DICT_MARKER_KEY: marker}) == omitted
    assert _structure.dropped_counts({DICT_MARKER_KEY: marker}) == (omitted, 0, 0)


def test_anything_else_under_the_key_counts_nothing() -> None:
    for value in ("[TRUNCATED: x more of 3 keys]", "[TRUNCATED: 3 more of 9 items]", 5, None):
        assert _structure.cut_attributes({DICT_MARKER_KEY: value}) == 0
    assert _structure.cut_attributes({}) == 0
