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
from brokle_trace.capture._rules import BUILTIN_KEY_RULES, BUILTIN_VALUE_RULES, ValueRule

from .strategies import NO7, PLANTED, VALUES, secrets, settings_kwargs

FAST = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _capture(value: Any, s: CaptureSettings, field: str = "input") -> Any:
    return finalize(snapshot(value, s), s, field=field)


@FAST
@given(data=st.data(), kwargs=settings_kwargs())
def test_capture_is_total_json_and_within_max_bytes(data: st.DataObject,
                                                    kwargs: dict[str, Any]) -> None:
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
def test_planted_secrets_never_reach_the_output(data: st.DataObject,
                                                kwargs: dict[str, Any]) -> None:
    PLANTED.clear()
    s = CaptureSettings(strict=True, **kwargs)
    value = data.draw(VALUES)
    exported = orjson.dumps(_capture(value, s)) + orjson.dumps(redact_value(value, s))
    for needle in PLANTED:
        assert needle.encode() not in exported


@FAST
@given(secret=secrets(), before=st.text(st.characters(blacklist_characters="7"), max_size=50),
       after=st.text(NO7 + " ", max_size=50), limit=st.integers(64, 2000))
def test_secrets_in_free_text_are_redacted_whole(secret: tuple[str, str], before: str,
                                                 after: str, limit: int) -> None:
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
def test_a_secret_straddling_the_cut_is_never_partly_shown(secret: tuple[str, str], pad: int,
                                                           limit: int) -> None:
    # The secret starts anywhere around the limit, in a string far longer than the limit.
    s = CaptureSettings(max_string_length=limit, strict=True)
    value = {"text": "a " * (pad // 2) + secret[0] + " " + "z" * 200_000}
    out = _capture(value, s)["text"]
    body = secret[1]
    assert not any(body[i:i + 8] in out for i in range(len(body) - 7))
    assert len(out) <= limit


# -- differential: the optimised redactor against a naive one ------------------------------
def _naive_spans(text: str, rules: tuple[ValueRule, ...]) -> list[tuple[int, int, int]]:
    """Every pattern on the whole text, no gates, no lower-casing, no cache."""
    found = []
    for index, rule in enumerate(rules):
        flags = re.IGNORECASE | re.ASCII if rule.lower else 0
        target, offset = (" " + text, 1) if rule.lower else (text, 0)
        for source in rule.patterns:
            rx = re.compile(source, flags)
            for m in rx.finditer(target):
                span = m.span()
                for name in sorted(n for n in rx.groupindex if n.startswith("s")):
                    if m.start(name) != -1:
                        span = m.span(name)
                        break
                if span[1] > span[0]:
                    found.append((span[0] - offset, span[1] - offset, index))
    # union of overlapping spans, the leftmost (then first rule) names the run
    found.sort()
    runs: list[list[int]] = []
    for start, end, index in found:
        if runs and start < runs[-1][1]:
            runs[-1][1] = max(runs[-1][1], end)
        else:
            runs.append([start, end, index])
    return [(a, b, c) for a, b, c in runs]


def _naive_redact(text: str, rules: tuple[ValueRule, ...]) -> str:
    """One pass after another until nothing changes (at most 4, like the real one)."""
    for _ in range(4):
        spans = _naive_spans(text, rules)
        if not spans:
            break
        out, pos = [], 0
        for start, end, index in spans:
            out += [text[pos:start], f"[REDACTED:{rules[index].name}]"]
            pos = end
        text = "".join(out) + text[pos:]
    return text


_FRAGMENTS = st.one_of(
    secrets().map(lambda s: s[0]),
    st.sampled_from(["Bearer ", "BEARER ", "bearer", "password", "Password=", "api_key: ",
                     "apiKey=", "accessToken=", '"secret": "', "'token': '", "Cookie: a=1; b=2",
                     "Authorization: Basic dXNlcjpwYXNz", "://", "@", "sk-", "AKIA", "eyJ", ".",
                     "-----BEGIN EC PRIVATE KEY-----", "\n", "İ", "K", " ", "=", ":", "\\\"",
                     "max_tokens=5", "session_id=abc", "[REDACTED:x]", "...[TRUNCATED: 9 chars]"]),
    st.text(max_size=12),
    st.text(string.ascii_letters + string.digits + "_-.:=/@", max_size=30),
)


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(_FRAGMENTS, max_size=12))
@example(parts=["Password=", "\x1f"])  # a control character is not a value's end
def test_optimised_redactor_matches_naive_reference(parts: list[str]) -> None:
    text = "".join(parts)
    fast = Redactor(BUILTIN_KEY_RULES, BUILTIN_VALUE_RULES, ())
    assert fast.redact(text)[0] == _naive_redact(text, BUILTIN_VALUE_RULES)
    # twice: the second answer may come from the short-string cache
    assert fast.redact(text)[0] == _naive_redact(text, BUILTIN_VALUE_RULES)


@settings(max_examples=200, deadline=None)
@given(parts=st.lists(_FRAGMENTS, max_size=12))
def test_redaction_is_idempotent(parts: list[str]) -> None:
    r = Redactor(BUILTIN_KEY_RULES, BUILTIN_VALUE_RULES, ())
    once = r.redact("".join(parts))[0]
    assert r.redact(once)[0] == once
