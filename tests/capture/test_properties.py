"""Property tests: capture is total, bounded, idempotent, and never leaks a planted secret."""

from __future__ import annotations

import re
import string
from typing import Any

import orjson
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from brokle_trace.capture import CaptureSettings, finalize, redact_text, redact_value, snapshot
from brokle_trace.capture._redact import Redactor
from brokle_trace.capture._rules import (
    BUILTIN_KEY_RULES,
    BUILTIN_SHAPE_RULES,
    BUILTIN_TOKEN_RULES,
    BUILTIN_VALUE_RULES,
    ID_PREFIXES,
)
from tests.parity.fired import Fired, run

from . import reference
from .corpus.benign import BENIGN
from .strategies import NO7, PLANTED, VALUES, secrets, settings_kwargs

FAST = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _capture(value: Any, s: CaptureSettings, field: str = "input") -> Any:
    return finalize(snapshot(value, s), s, field=field)


@FAST
@given(data=st.data(), kwargs=settings_kwargs())
def test_capture_is_total_json_and_within_max_bytes(
    data: st.DataObject, kwargs: dict[str, Any]
) -> None:
    s = CaptureSettings(strict=True, **kwargs)  # strict: an internal error fails the test
    value = data.draw(VALUES)
    out = _capture(value, s)
    encoded = orjson.dumps(out)  # raises if not JSON-safe
    assert len(encoded) <= s.max_bytes


@FAST
@given(data=st.data(), kwargs=settings_kwargs())
def test_capture_is_idempotent(data: st.DataObject, kwargs: dict[str, Any]) -> None:
    s = CaptureSettings(strict=True, **kwargs)
    once = _capture(data.draw(VALUES), s)
    assert _capture(once, s) == once
    assert redact_value(once, s) == once


@FAST
@given(data=st.data(), kwargs=settings_kwargs())
def test_planted_secrets_never_reach_the_output(
    data: st.DataObject, kwargs: dict[str, Any]
) -> None:
    PLANTED.clear()
    s = CaptureSettings(strict=True, **kwargs)
    value = data.draw(VALUES)
    exported = orjson.dumps(_capture(value, s)) + orjson.dumps(redact_value(value, s))
    for needle in PLANTED:
        assert needle.encode() not in exported


@FAST
@given(
    secret=secrets(),
    before=st.text(st.characters(blacklist_characters="7"), max_size=50),
    after=st.text(NO7 + " ", max_size=50),
    limit=st.integers(64, 2000),
)
def test_secrets_in_free_text_are_redacted_whole(
    secret: tuple[str, str], before: str, after: str, limit: int
) -> None:
    s = CaptureSettings(strict=True)
    text = f"{before} {secret[0]} {after}" * 3
    out = redact_text(text, s, max_length=limit)
    assert secret[1] not in out
    assert len(out) <= limit
    # the marker names a rule and nothing else
    for name in re.findall(r"\[REDACTED:([^\]]*)\]", out):
        assert re.fullmatch(r"[a-z0-9_]+", name)


@FAST
@given(secret=secrets(), pad=st.integers(0, 400), limit=st.integers(64, 300))
def test_a_secret_straddling_the_cut_is_never_partly_shown(
    secret: tuple[str, str], pad: int, limit: int
) -> None:
    # The secret starts anywhere around the limit, in a string far longer than the limit.
    s = CaptureSettings(max_string_length=limit, strict=True)
    value = {"text": "a " * (pad // 2) + secret[0] + " " + "z" * 200_000}
    out = _capture(value, s)["text"]
    body = secret[1]
    assert not any(body[i : i + 8] in out for i in range(len(body) - 7))
    assert len(out) <= limit


# -- differential: the optimised redactor against a naive one ------------------------------
_ALL = (BUILTIN_VALUE_RULES, BUILTIN_TOKEN_RULES, BUILTIN_SHAPE_RULES, ID_PREFIXES)


def _fast() -> Redactor:
    return Redactor(
        BUILTIN_KEY_RULES,
        BUILTIN_VALUE_RULES,
        (),
        token_rules=BUILTIN_TOKEN_RULES,
        shape_rules=BUILTIN_SHAPE_RULES,
        id_prefixes=ID_PREFIXES,
    )


_EXAMPLES = (
    [r.example for r in BUILTIN_TOKEN_RULES]
    + [r.example for r in BUILTIN_VALUE_RULES]
    + [r.example for r in BUILTIN_SHAPE_RULES]
)
_LOOKALIKES = [b.text for b in BENIGN if len(b.text) < 120][::3]
_FRAGMENTS = st.one_of(
    secrets().map(lambda s: s[0]),
    st.sampled_from(_EXAMPLES),
    st.sampled_from(_LOOKALIKES),
    st.sampled_from(
        [
            "Bearer ",
            "BEARER ",
            "bearer",
            "Basic ",
            "basic",
            "password",
            "Password=",
            "api_key: ",
            "apiKey=",
            "accessToken=",
            '"secret": "',
            "'token': '",
            "Cookie: a=1; b=2",
            "Authorization: Basic dXNlcjpwYXNz",
            "://",
            "@",
            "sk-",
            "AKIA",
            "eyJ",
            ".",
            "/",
            "+",
            "_",
            "-",
            "~",
            "Q~",
            "base64,",
            "data:",
            "-----BEGIN EC PRIVATE KEY-----",
            "\n",
            "İ",
            "K",
            " ",
            "=",
            ":",
            '\\"',
            "max_tokens=5",
            "session_id=abc",
            "eos_token=",
            "[REDACTED:x]",
            "-u ",
            "--password ",
            "?code=",
            "&sig=",
            "AccountKey=",
            "Pwd=",
            "{",
            "}",
            ";",
            "...[TRUNCATED: 9 chars]",
            "0123456789abcdef",
            "fc-",
            "hvs.",
            "SG.",
            "chatcmpl-",
            "call_",
            "msg_01",
            "12345678:AA",
            "MTIz",
            "ghp_",
            "hf_",
        ]
    ),
    st.text(max_size=12),
    st.text(string.ascii_letters + string.digits + "_-.:=/@+~", min_size=10, max_size=60),
)


def test_optimised_redactor_matches_naive_reference() -> None:
    def prop(fired: Fired) -> None:
        @settings(max_examples=400, deadline=None)
        @given(parts=st.lists(_FRAGMENTS, max_size=12))
        @example(parts=["Password=", "\x1f"])  # a control character is not a value's end
        @example(parts=["x-", "SG.", "A" * 22, ".", "b" * 43])  # a family after a separator
        @example(parts=["base64,", "Zq8xK2vNp7LwR4mT9bY3cH6jD1fG5sA0eQ+/"])
        # Runs past the run cache's bound: one without separators (no boundary or body
        # regex), one whose only separators come late, before a family and a shape.
        @example(parts=["x" * 5000])
        @example(parts=["q" * 600, "_", "hf_", "Ab1" * 12, "/", "sk-", "A1b2C3d4" * 6])
        @example(parts=["0f" * 12, "Zq8xK2vNp7LwR4mT9bY3cH6jD1fG5sA0eQ", " ", "0f" * 20])
        def check(parts: list[str]) -> None:
            text = "".join(parts)
            fast = _fast()
            expected = reference.redact(text, *_ALL)
            assert fast.redact(text)[0] == expected
            # twice: the second answer may come from the text cache and the run cache
            assert fast.redact(text)[0] == expected
            assert fast.redact(text, len(text))[0] == expected
            assert fast.scanner is not None
            fired.example(bool(fast.scanner.spans(text)))  # the token scan found something

        check()

    run(prop, min_share=0.2)


# Found by this property: a key pasted right after a fixed-length one ("AKIA...sk-...")
# starts where no separator is, and the first pass missed it.
@example(
    parts=[
        "AIza00000700000000000000000000000000000",
        "AKIA0000070000000000",
        "sk-000007000000000000000000000000000",
    ]
)
@settings(max_examples=200, deadline=None)
@given(parts=st.lists(_FRAGMENTS, max_size=12))
def test_redaction_is_idempotent(parts: list[str]) -> None:
    r = _fast()
    once = r.redact("".join(parts))[0]
    assert r.redact(once)[0] == once
