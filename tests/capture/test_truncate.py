"""The exact byte budget."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brokle_trace.capture._truncate import fit_bytes

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=200),
    lambda inner: (
        st.lists(inner, max_size=8) | st.dictionaries(st.text(max_size=10), inner, max_size=8)
    ),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(value=JSON, budget=st.integers(256, 3000))
def test_fit_bytes_is_exact_and_idempotent(value: Any, budget: int) -> None:
    out, _ = fit_bytes(value, budget)
    assert len(orjson.dumps(out)) <= budget
    assert fit_bytes(out, budget) == (out, False)


def test_markers_keep_original_counts_through_a_second_cut() -> None:
    value = ["a" * 100] * 50
    out, cut = fit_bytes(value, 1000)
    assert cut and out[-1].endswith("of 50 items]")
    smaller, _ = fit_bytes(out, 500)
    assert smaller[-1].endswith("of 50 items]")
    s, _ = fit_bytes("b" * 5000 + "...[TRUNCATED: 90000 chars]", 300)
    assert s.endswith("...[TRUNCATED: 90000 chars]") and len(orjson.dumps(s)) <= 300


@pytest.mark.parametrize("value", [{"k": "v" * 10_000}, ["x" * 10_000], "é" * 10_000])
def test_oversized_values_are_cut_not_dropped(value: Any) -> None:
    out, cut = fit_bytes(value, 256)
    assert cut and len(orjson.dumps(out)) <= 256 and "TRUNCATED" in orjson.dumps(out).decode()


def test_a_cut_never_leaves_half_a_redaction_marker() -> None:
    from brokle_trace.capture._truncate import clean_cut

    text = "abc [REDACTED:openai_key] tail"
    for keep in range(len(text) + 1):
        head = clean_cut(text, keep)
        assert text.startswith(head) and len(head) <= keep
        assert head.endswith("]") or "[" not in head[head.rfind(" ") :]
