"""The worker's fast path (short strings, flat dicts) gives exactly what the full walk gives."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from brokle_trace.capture import CaptureSettings
from brokle_trace.capture._fast import NOT_LEAF, clean_names, leaf, leaf_args
from brokle_trace.capture._fast import fast as _fast
from brokle_trace.capture._finalize import Walker, finalize_value
from brokle_trace.capture._truncate import fit_bytes
from tests.capture.strategies import TEXT, secrets, settings_kwargs
from tests.parity.fired import Fired, run

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


def test_fast_path_equals_the_walk() -> None:
    @settings(max_examples=300, deadline=None)
    @given(value=FLAT, kwargs=settings_kwargs())
    def prop(fired: Fired, value: Any, kwargs: dict[str, Any]) -> None:
        s = CaptureSettings(**kwargs)
        expected = _walk(value, s)
        # Twice: the first walk fills the key cache the fast path relies on.
        for _ in range(2):
            assert finalize_value(value, s, None, "input", "") == expected
        done, fast = _fast(value, s._compiled, s._compiled.limit)
        fired.example(done)
        if done:
            assert fast == expected

    run(prop, min_share=0.3)  # ~80 % take it


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


NAMES = st.lists(KEYS, max_size=5, unique=True).map(tuple)


def test_leaf_is_the_value_only_when_finalising_would_return_it() -> None:
    @settings(max_examples=300, deadline=None)
    @given(value=LEAVES, kwargs=settings_kwargs(), redact=st.booleans())
    def prop(fired: Fired, value: Any, kwargs: dict[str, Any], redact: bool) -> None:
        s = CaptureSettings(**kwargs, redact=redact)
        expected = finalize_value(value, s, None, "output", "")  # also fills the text cache
        got = leaf(value, s._compiled)
        fired.example(got is not NOT_LEAF)
        if got is not NOT_LEAF:
            assert got == expected and type(got) is type(expected)

    # 15-20 % of the drawn leaves pass through (numbers; texts seen clean and not cut).
    run(prop, min_share=0.05)


def test_leaf_args_equal_the_finalised_input_dict() -> None:
    @settings(max_examples=300, deadline=None)
    @given(data=st.data(), kwargs=settings_kwargs(), redact=st.booleans())
    def prop(fired: Fired, data: st.DataObject, kwargs: dict[str, Any], redact: bool) -> None:
        s = CaptureSettings(**kwargs, redact=redact)
        c = s._compiled
        names = data.draw(NAMES)
        args = tuple(data.draw(st.lists(LEAVES, min_size=len(names), max_size=len(names))))
        expected = finalize_value(dict(zip(names, args, strict=True)), s, None, "input", "")
        for arg in args:  # what the worker has seen before: the text cache
            finalize_value(arg, s, None, "input", "")
        if not clean_names(names, c):
            # Secret-named parameters (api_key, password, ...) always take the full path.
            assert any(n in ("api_key", "password", "Authorization") for n in names) or not redact
            fired.example(False)
            return
        got = leaf_args(names, args, c)
        fired.example(got is not NOT_LEAF)
        if got is not NOT_LEAF:
            assert got == expected

    run(prop, min_share=0.04)  # 13-30 %: secret-named parameters never take it


def test_leaf_shortcuts_are_taken_for_numbers_and_seen_clean_texts() -> None:
    s = CaptureSettings()
    c = s._compiled
    assert leaf(3, c) == 3 and leaf(None, c) is None and leaf(1.5, c) == 1.5
    assert leaf(1 << 70, c) is NOT_LEAF and leaf(float("nan"), c) is NOT_LEAF
    assert leaf("hello there", c) is NOT_LEAF  # never seen: the walk redacts it first
    finalize_value("hello there", s, None, "input", "")
    assert leaf("hello there", c) == "hello there"
    secret = "sk-" + "a1" * 20
    finalize_value(secret, s, None, "input", "")
    assert leaf(secret, c) is NOT_LEAF  # it had something redacted: never passed through
    assert clean_names(("text", "n"), c) and leaf_args(("text", "n"), ("hello there", 2), c) == {
        "text": "hello there",
        "n": 2,
    }
    assert not clean_names(("api_key",), c)
    assert not clean_names(("text",), CaptureSettings(redact=False)._compiled)
