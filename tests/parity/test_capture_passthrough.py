"""An encoded snapshot exported as it is (``capture/_passthrough.py``) gives exactly the bytes
of the reference walk, in the JSONL line and in the OTLP span, with the same counters; and
the shortcut really fires, on generated values and on the S6/S7 benchmark payloads."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from brokle_trace import observe
from brokle_trace._export.convert import Resource
from brokle_trace._export.lines import to_line
from brokle_trace._export.otlp_spans import encode_record
from brokle_trace._export.record import seal
from brokle_trace._runtime import lifecycle as _lifecycle
from brokle_trace._runtime import state as _state
from brokle_trace.capture import CaptureSettings, finalize
from brokle_trace.capture import _counters as counters
from brokle_trace.capture import _passthrough as passthrough_module
from brokle_trace.capture._encoded import Encoded, encode
from brokle_trace.capture._passthrough import TALLY, passthrough
from brokle_trace.exporters._frame import EncodedSpans
from tests.capture.corpus.secrets import FAMILIES, SECRETS
from tests.capture.strategies import secrets
from tests.parity.fired import Fired, run

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from payloads import S6_MESSAGES, S6_RESPONSE, S6_TOOLS, S7_DOCS

_PROSE = st.text(
    st.characters(codec="utf-8", blacklist_categories=("Cs",)), max_size=40
) | st.sampled_from(
    [
        "Can you summarise the attached feedback, please?",
        'line one\nline "two"\t\\ back\\slash \u00e9\u4e2d\U0001f642 \x00\x1f',
        "additionalProperties",
        "handbook/section-2.md",
        "https://example.com/docs?page=2",
        "the api key is in the vault",
        "password reset: see the docs",
        "Bearer authentication is described below",
    ]
)
_SECRET_TEXTS = st.sampled_from([s.text for s in SECRETS]) | secrets().map(lambda p: p[0])
_BENIGN = st.one_of(_PROSE, st.sampled_from(["user", "assistant", "text", "string", ""]))
_TEXTS = st.one_of(
    *[_BENIGN] * 6,
    _SECRET_TEXTS.flatmap(lambda s: st.builds(lambda a, b: f"{a} {s} {b}", _PROSE, _PROSE)),
    st.integers(40, 140).map(lambda n: ("word " * 40)[:n]),  # around small string limits
    st.integers(40, 140).map(lambda n: "\u00e9" * n),  # more bytes than characters
    st.integers(40, 140).map(lambda n: "\n" * n),  # escapes: two bytes each
)
_SECRET_KEYS = st.sampled_from(
    ["api_key", "PASSWORD", "X-Api-Key", "accessToken", "Cookie", "authorization", "secretKey"]
) | st.sampled_from(["client_secret", "private", "sig", "Set-Cookie", "creds", "TOKEN"])
_KEYS = st.one_of(
    *[st.sampled_from(["role", "content", "type", "text", "id", "prompt_tokens", "enum"])] * 4,
    _SECRET_KEYS,
    _PROSE.filter(lambda k: len(k) < 20),
)
_LEAVES = st.one_of(
    *[_TEXTS] * 3,
    st.integers(-(2**63), 2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
)
JSON = st.recursive(
    _LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=6),
        st.dictionaries(_KEYS, inner, max_size=5),
    ),
    max_leaves=25,
)
_DEFAULT = CaptureSettings()
_SETTINGS = st.fixed_dictionaries(
    {
        "max_string_length": st.sampled_from([64, 100, *[_DEFAULT.max_string_length] * 3]),
        "max_items": st.sampled_from([3, 6, *[_DEFAULT.max_items] * 3]),
        "max_depth": st.sampled_from([2, 4, *[_DEFAULT.max_depth] * 3]),
        "max_bytes": st.sampled_from([300, 2000, *[_DEFAULT.max_bytes] * 3]),
    }
)


@contextmanager
def _reference() -> Iterator[None]:
    """The reference walk alone: the shortcut refuses everything."""
    with mock.patch.object(passthrough_module, "_decide", lambda *a: False):
        yield


def _counts(fn: Callable[[], Any]) -> tuple[Any, dict[str, int]]:
    counters.reset_counters()
    out = fn()
    return out, counters.counters()


def _records(call: Callable[[], Any]) -> list[Any]:
    records: list[Any] = []
    _lifecycle.current_pipeline()
    enqueue = _state.enqueue
    _state.enqueue = lambda span: records.append(seal(span))
    try:
        call()
    finally:
        _state.enqueue = enqueue
    return records


def _otlp(record: Any, s: CaptureSettings, resource: Resource) -> bytes:
    into = EncodedSpans()
    assert encode_record(record, s, resource, into)
    return b"".join(bytes(buf) for buf, _ in into.groups.values())


def _both(record: Any, s: CaptureSettings, resource: Resource) -> tuple[Any, Any]:
    return to_line(record, s, resource), _otlp(record, s, resource)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=JSON, kwargs=_SETTINGS)
@example(value={"messages": S6_MESSAGES, "tools": S6_TOOLS}, kwargs={})
@example(value=[{"token": "Hello", "logprob": -0.1}], kwargs={})
def _finalize_parity(fired: Fired, value: Any, kwargs: dict[str, Any]) -> None:
    s = CaptureSettings(**kwargs)
    c = s._compiled
    snap = encode(value, c.limit, c.cut, c.max_items, c.max_depth) if value else None
    if type(snap) is not Encoded:
        return
    fast, fast_counts = _counts(lambda: passthrough(snap, c, None))
    with _reference():
        reference, ref_counts = _counts(lambda: finalize(snap, s))
    fired.example(fast is not None)
    if fast is not None:
        assert fast == orjson.dumps(reference)
        assert fast_counts == ref_counts  # nothing redacted or cut on either way
        # The same bytes again (another object): the remembered verdict, the same bytes.
        twin = Encoded(bytes(snap.data), snap.limit)
        with mock.patch.object(passthrough_module, "_judged_clean", side_effect=AssertionError):
            assert passthrough(twin, c, None) == fast
    again, again_counts = _counts(lambda: finalize(snap, s))
    assert (again, again_counts) == (reference, ref_counts)


def test_the_shortcut_gives_the_reference_walks_bytes_and_counts() -> None:
    run(_finalize_parity, min_share=0.15)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages=JSON, result=JSON)
def _line_parity(fired: Fired, messages: Any, result: Any) -> None:
    @observe(name="chat")
    def chat(messages: Any, tools: Any) -> Any:
        return result

    records = _records(lambda: chat(messages, S6_TOOLS))
    s, resource = _state.capture_settings, Resource(service="api")
    for record in records:
        hits = TALLY.hit
        fast = _both(record, s, resource)
        fired.example(TALLY.hit > hits)
        with _reference():
            assert fast == _both(record, s, resource)


def test_jsonl_lines_and_otlp_spans_equal_the_reference_ones() -> None:
    run(_line_parity, min_share=0.3)


def test_header_pairs_take_the_walk_which_redacts_them_by_name() -> None:
    s = CaptureSettings()
    c = s._compiled
    snap = encode({"headers": [["x-api-key", "abc"], ["accept", "*/*"]]}, 4000, 5024, 100, 10)
    assert type(snap) is Encoded
    assert passthrough(snap, c, None) is None
    assert finalize(snap, s) == {
        "headers": [["x-api-key", "[REDACTED:api_key]"], ["accept", "*/*"]]
    }


@pytest.mark.parametrize(
    "value",
    [{"messages": S6_MESSAGES, "tools": S6_TOOLS}, S6_RESPONSE, {"query": "q", "k": 10}, S7_DOCS],
    ids=["S6 input", "S6 output", "S7 input", "S7 output"],
)
def test_the_benchmark_payloads_take_the_shortcut(value: Any) -> None:
    c = CaptureSettings()._compiled
    snap = encode(value, c.limit, c.cut, c.max_items, c.max_depth)
    assert type(snap) is Encoded
    assert passthrough(snap, c, None) == orjson.dumps(value)


#: Families with a rule of their own (the others are found by shape and only reported).
_NAMED = {f.name for f in FAMILIES if f.named}


def _plant(where: str, secret: str) -> tuple[Any, Any]:
    messages = json.loads(json.dumps(S6_MESSAGES))
    tools = json.loads(json.dumps(S6_TOOLS))
    response = json.loads(json.dumps(S6_RESPONSE))
    if where == "message":
        messages[3]["content"][0]["text"] += f" my key is {secret} thanks"
    elif where == "description":
        tools[0]["function"]["description"] = f"Weather (auth {secret})"
    elif where == "enum":
        tools[1]["function"]["parameters"]["properties"]["preferences"]["items"]["enum"][1] = secret
    elif where == "key":
        tools[0]["function"]["parameters"]["properties"][secret] = {"type": "string"}
    elif where == "response":
        response["choices"][0]["message"]["content"] = f"Use {secret} for the call."
    elif where == "secret key name":
        messages[1]["content"][0]["api_key"] = "hunter2-not-a-token"
        return (messages, tools), response
    return (messages, tools), response


@pytest.mark.parametrize(
    "where", ["message", "description", "enum", "key", "response", "secret key name"]
)
@pytest.mark.parametrize("secret", [s for s in SECRETS if s.family in _NAMED][::5])
def test_a_secret_planted_anywhere_in_s6_is_never_exported(where: str, secret: Any) -> None:
    (messages, tools), response = _plant(where, secret.text)

    @observe(name="chat")
    def chat(messages: Any, tools: Any) -> Any:
        return response

    records = _records(lambda: chat(messages, tools))
    s, resource = _state.capture_settings, Resource()
    needles = (
        (*secret.needles, "hunter2-not-a-token") if where == "secret key name" else secret.needles
    )
    for record in records:
        line, span = _both(record, s, resource)
        for needle in needles:
            assert needle.encode() not in line
            assert needle.encode() not in span


def test_a_text_judged_clean_as_a_value_is_judged_again_as_a_key() -> None:
    # The judged-parts cache keeps keys apart from values: "api_key" seen as a value first
    # must not let {"api_key": ...} through unredacted later.
    s = CaptureSettings()
    c = s._compiled
    as_value = encode({"note": "api_key", "field": "X-Api-Key"}, c.limit, c.cut, 100, 10)
    as_key = encode({"api_key": "hunter2-not-a-token"}, c.limit, c.cut, 100, 10)
    header = encode({"X-Api-Key": "hunter2-not-a-token"}, c.limit, c.cut, 100, 10)
    assert as_value is not None and as_key is not None and header is not None
    assert passthrough(as_value, c, None) == as_value.data  # a secret key NAME as text: clean
    assert passthrough(as_key, c, None) is None
    assert passthrough(header, c, None) is None
    for snap in (as_key, header):
        assert b"hunter2" not in orjson.dumps(finalize(snap, s))


def test_key_rules_are_asked_about_keys_only() -> None:
    # Asking them about every new string (prompts, documents) cost ~60 us a string and
    # filled their cache with user text: a fresh 10-message chat took 0.9 ms, not 0.2.
    s = CaptureSettings()
    c = s._compiled
    asked: list[str] = []
    real = c.redactor.key_rule

    def spy(key: str) -> str | None:
        asked.append(key)
        return real(key)

    value = [{"role": "user", "content": [{"type": "text", "text": "what is new? " * 30}]}]
    snap = encode({"messages": value}, c.limit, c.cut, 100, 10)
    assert snap is not None
    with mock.patch.object(c.redactor, "key_rule", spy):
        assert passthrough(snap, c, None) == snap.data
    assert set(asked) <= {"messages", "role", "content", "type", "text"}


def test_the_judged_parts_cache_is_bounded_in_bytes() -> None:
    s = CaptureSettings()
    c = s._compiled
    for i in range(400):  # 400 documents of ~3.9 KB of new text each: ~1.5 MB judged
        text = (f"document {i} says nothing secret at all. " * 100)[:3900]
        snap = encode([{"id": i, "text": text}], c.limit, c.cut, 100, 10)
        assert snap is not None and passthrough(snap, c, None) == snap.data
    gate = passthrough_module._gate(c)
    assert gate.known_bytes <= passthrough_module.KNOWN_BYTES_MAX
    assert sum(map(len, gate.known)) == gate.known_bytes
