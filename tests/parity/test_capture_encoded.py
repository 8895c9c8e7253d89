"""Nested JSON-native values snapshotted as bytes (``_encoded``) export exactly what the
reference snapshot exports: same bytes, same markers, same redactions, same counts."""

from __future__ import annotations

import threading
import time
from typing import Any
from unittest import mock

import orjson
from hypothesis import example, given, settings
from hypothesis import strategies as st

from brokle_trace.capture import CaptureSettings, _encoded, _snapshot, finalize, snapshot
from brokle_trace.capture import _counters as counters
from brokle_trace.capture._encoded import Encoded
from brokle_trace.capture._snapshot import snapshot_inputs
from tests.capture.strategies import TEXT, secrets, settings_kwargs
from tests.parity.fired import Fired, run

_OPENAI = "sk-proj-" + "A1b2C3d4" * 5
_JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ."
    "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)


class Text(str):
    pass


class Items(list[Any]):
    pass


def _leaves() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),  # some past 64 bits: the reference renders them
        st.floats(allow_nan=True, allow_infinity=True),  # NaN/inf: never orjson's null
        TEXT,
        st.sampled_from(["user", "assistant", "text", "", "é" * 3]),
        secrets().map(lambda pair: f"my key is {pair[0]} ok"),
        st.sampled_from([_OPENAI, f"Bearer {_JWT}", "x" * 5000]),  # long: past the cut
        st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), max_size=2),
        st.builds(Text, st.text(max_size=5)),  # a str subclass: the reference's
        st.binary(max_size=8),
    )


_KEYS = st.one_of(
    st.sampled_from(["role", "content", "type", "text", "id", "score", "metadata"]),
    st.sampled_from(["api_key", "password", "token", "logprob", "Authorization"]),
    st.text(max_size=8),
)


def _children(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    odd_keys = st.one_of(st.integers(0, 3), st.none(), st.builds(Text, st.just("k")))
    return st.one_of(
        st.lists(inner, max_size=8),
        st.dictionaries(_KEYS, inner, max_size=6),
        st.lists(inner, max_size=3).map(tuple),  # not JSON-native: the reference
        st.lists(inner, max_size=3).map(Items),
        st.dictionaries(odd_keys, inner, max_size=2),
    )


#: Mostly JSON-native nested values (chat messages, schemas, documents), now and then not.
JSONISH = st.recursive(_leaves(), _children, max_leaves=30)
MESSAGES = st.lists(
    st.fixed_dictionaries(
        {
            "role": st.sampled_from(["system", "user", "assistant"]),
            "content": st.lists(
                st.fixed_dictionaries({"type": st.just("text"), "text": _leaves()}), max_size=3
            ),
        }
    ),
    max_size=6,
)


def _exported(snap: object, s: CaptureSettings) -> tuple[bytes, dict[str, int]]:
    counters.reset_counters()
    out = finalize(snap, s)
    return orjson.dumps(out), counters.counters()


def _reference(take: Any) -> Any:
    with mock.patch.object(_snapshot, "encode", lambda *args: None):
        return take()


def test_encoded_snapshots_export_what_the_reference_exports() -> None:
    @settings(max_examples=200, deadline=None)
    @given(
        value=st.one_of(JSONISH, MESSAGES, st.fixed_dictionaries({"messages": MESSAGES})),
        kwargs=st.one_of(st.just({}), settings_kwargs()),
        as_inputs=st.booleans(),
    )
    @example(value=[{"role": "user", "content": [{"type": "text", "text": f"use {_OPENAI}"}]}],
             kwargs={}, as_inputs=True)  # fmt: skip
    @example(value={"a": {"b": {"c": {"d": [1]}}}}, kwargs={"max_depth": 3}, as_inputs=False)
    @example(value={"n": [1.5, float("nan")]}, kwargs={}, as_inputs=False)
    @example(value={"big": [2**64, 1]}, kwargs={}, as_inputs=True)
    @example(value={"t": ["x" * 5000, "short"]}, kwargs={}, as_inputs=False)
    def prop(fired: Fired, value: Any, kwargs: dict[str, Any], as_inputs: bool) -> None:
        s = CaptureSettings(**kwargs)

        def take() -> Any:
            if as_inputs:
                return snapshot_inputs({"value": value, "k": 1}, s, None, None)
            return snapshot(value, s)

        expected = _exported(_reference(take), s)
        snap = take()
        got = _exported(snap, s)
        assert got == expected
        fired.example(type(snap) is Encoded)

    # About half the drawn values are JSON-native and within the drawn limits.
    run(prop, min_share=0.15)


def test_a_container_mutated_after_the_call_is_exported_as_it_was() -> None:
    s = CaptureSettings()
    messages = [{"role": "user", "content": [{"type": "text", "text": "hello"}]} for _ in range(20)]
    snap = snapshot_inputs({"messages": messages}, s, None, None)
    assert type(snap) is Encoded
    before = orjson.dumps({"messages": messages})
    messages.append({"role": "assistant", "content": "reply"})
    messages[0]["content"][0]["text"] = "changed"  # deep: the reference's budget misses it
    messages[5]["role"] = ["not", "a", "role"]
    assert orjson.dumps(finalize(snap, s)) == before


def test_secrets_in_content_parts_are_redacted() -> None:
    s = CaptureSettings()
    messages = [
        {"role": "user", "content": [{"type": "text", "text": f"my key {_OPENAI} and {_JWT}"}]},
        {"role": "user", "content": [{"type": "text", "text": "x"}], "api_key": "hunter2-abc"},
    ]
    snap = snapshot_inputs({"messages": messages}, s, None, None)
    assert type(snap) is Encoded
    counters.reset_counters()
    text = orjson.dumps(finalize(snap, s)).decode()
    assert _OPENAI not in text and "eyJhbGci" not in text and "hunter2" not in text
    assert "[REDACTED:openai_key]" in text and "[REDACTED:api_key]" in text
    assert counters.counters()["redactions"] >= 3
    assert "hunter2" not in repr(snap) and _OPENAI not in repr(snap)


def test_what_the_shortcut_refuses() -> None:
    c = CaptureSettings()._compiled

    def enc(value: Any) -> object:
        return _encoded.encode(value, c.limit, c.cut, c.max_items, c.max_depth)

    cyclic: list[Any] = [1]
    cyclic.append(cyclic)
    nested: Any = 1
    for _ in range(12):
        nested = [nested]
    for value in (
        cyclic,  # depth
        nested,
        {"n": float("nan")},
        {"n": float("inf")},
        [2**64],
        [-(2**63) - 1],
        {1: "a"},
        {Text("k"): "a"},
        [Text("a")],
        Items([1]),
        [(1, 2)],
        [b"bytes"],
        ["\ud800"],  # orjson refuses a lone surrogate
        list(range(101)),  # max_items
        [{"a": 1}] * 60 + [list(range(100))] * 20,  # entries
        {"doc": "x" * (_encoded.MAX_CHARS + 1)},  # characters
    ):
        assert enc(value) is None, value
    assert type(enc([2**64 - 1, -(2**63), 1.5, None, True, "é"])) is Encoded


def test_keys_are_checked_without_running_their_code() -> None:
    # Keys are left to orjson's strict mode and counted with str.__len__: an object key's
    # own __len__ (user code) must never run, and a long key still counts as characters.
    c = CaptureSettings()._compiled
    calls: list[str] = []

    class Key:
        def __len__(self) -> int:
            calls.append("len")
            return 1

        def __hash__(self) -> int:
            return 1

    class LongKey(str):
        def __len__(self) -> int:
            calls.append("len")
            return 1

    for value in ({"a": [{Key(): 1}]}, [{"ok": 1}, {LongKey("k"): 1}], {(1, 2): "tuple key"}):
        assert _encoded.encode(value, c.limit, c.cut, c.max_items, c.max_depth) is None
    assert calls == []
    long_key = {"k" * (_encoded.MAX_CHARS - 10): "x" * 20}  # the key's characters count
    assert _encoded.encode(long_key, c.limit, c.cut, c.max_items, c.max_depth) is None
    assert type(_encoded.encode({"k" * 100: "x"}, c.limit, c.cut, c.max_items, 10)) is Encoded


def test_huge_inputs_cost_what_the_limits_allow() -> None:
    c = CaptureSettings()._compiled
    huge = {"messages": [{"role": "user", "text": "x" * 1_000_000} for _ in range(10)]}
    wide = {"rows": [[[i] * 100 for i in range(100)] for _ in range(100)]}  # 1 M entries

    def cost(value: Any) -> float:
        t0 = time.perf_counter()
        for _ in range(20):
            assert _encoded.encode(value, c.limit, c.cut, c.max_items, c.max_depth) is None
        return (time.perf_counter() - t0) / 20

    # 10 MB of text and a million entries: refused after looking at a few hundred entries
    # (an O(input) check would take ~10 ms and ~100 ms here).
    assert cost(huge) < 1e-3
    assert cost(wide) < 2e-3


def test_a_dict_resized_by_another_thread_falls_back_never_fails() -> None:
    s = CaptureSettings()
    shared: dict[str, Any] = {f"k{i}": [i] for i in range(50)}
    stop = threading.Event()

    def mutate() -> None:
        n = 0
        while not stop.is_set():
            shared[f"n{n % 20}"] = [n]
            shared.pop(f"n{(n + 10) % 20}", None)
            n += 1

    thread = threading.Thread(target=mutate)
    thread.start()
    counters.reset_counters()
    try:
        for _ in range(300):
            out = finalize(snapshot({"shared": shared}, s), s)
            assert isinstance(out, dict) and isinstance(out["shared"], dict)
    finally:
        stop.set()
        thread.join()
    assert counters.counters()["capture_errors"] == 0
