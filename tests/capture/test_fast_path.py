"""The worker's fast path (short strings, flat dicts) gives exactly what the full walk gives."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from brokle_trace.capture import CaptureSettings
from brokle_trace.capture._fast import fast as _fast
from brokle_trace.capture._finalize import Walker, finalize_value
from brokle_trace.capture._truncate import fit_bytes

from .strategies import TEXT, secrets, settings_kwargs

KEYS = st.sampled_from(
    ["text", "prompt", "api_key", "password", "session_id", "max_tokens", "Authorization", "q"]
)
LEAVES = st.one_of(
    TEXT,
    secrets().map(lambda pair: pair[0]),
    st.integers(-(1 << 70), 1 << 70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
)
FLAT = st.one_of(
    LEAVES,
    st.dictionaries(KEYS, LEAVES, max_size=6),
    st.lists(st.one_of(st.integers(-(1 << 70), 1 << 70), st.booleans(), st.none()), max_size=40),
)


def _walk(value: Any, s: CaptureSettings) -> Any:
    c = s._compiled
    walker = Walker(c.worker_ctx, {}, c.limit)
    out, _ = fit_bytes(walker.walk(value, 0), c.max_bytes)
    return out


@settings(max_examples=300, deadline=None)
@given(value=FLAT, kwargs=settings_kwargs())
def test_fast_path_equals_the_walk(value: Any, kwargs: dict[str, Any]) -> None:
    s = CaptureSettings(**kwargs)
    expected = _walk(value, s)
    # Twice: the first walk fills the key cache the fast path relies on.
    for _ in range(2):
        assert finalize_value(value, s, None, "input", "") == expected
    done, fast = _fast(value, s._compiled, s._compiled.limit)
    if done:
        assert fast == expected


def test_fast_path_is_taken_for_the_common_shapes() -> None:
    s = CaptureSettings()
    finalize_value({"text": "hello", "n": 3}, s, None, "input", "")  # caches the keys
    assert _fast({"text": "hello", "n": 3}, s._compiled, s._compiled.limit) == (
        True,
        {"text": "hello", "n": 3},
    )
    assert _fast("sk-" + "a1" * 20, s._compiled, s._compiled.limit) == (
        True,
        "[REDACTED:openai_key]",
    )
