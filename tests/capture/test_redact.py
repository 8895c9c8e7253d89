"""Every built-in rule, the false positives that must stay visible, and the extension points."""

from __future__ import annotations

import json
from typing import Any

import pytest

from brokle_trace.capture import (
    BUILTIN_RULE_NAMES,
    CaptureSettings,
    counters,
    finalize,
    redact_text,
    redact_value,
    reset_counters,
    snapshot,
)
from brokle_trace.capture._rules import BUILTIN_KEY_RULES, BUILTIN_VALUE_RULES

S = CaptureSettings(strict=True)


def capture(value: Any, s: CaptureSettings = S, **kw: Any) -> Any:
    return finalize(snapshot(value, s), s, **kw)


@pytest.mark.parametrize("rule", BUILTIN_KEY_RULES, ids=lambda r: r.name)
def test_each_key_rule_replaces_the_whole_value(rule: Any) -> None:
    for key in rule.examples:
        out = capture({key: {"nested": "anything", "n": 1}, "keep": "visible"})
        assert out == {key: f"[REDACTED:{rule.name}]", "keep": "visible"}


@pytest.mark.parametrize(
    "key",
    ["session_id", "max_tokens", "input_tokens", "output_tokens", "token_count",
     "total_tokens", "author", "authors", "tokens", "tokenizer", "keys", "key", "passage",
     "secretary", "prompt_tokens", "completion_tokens", "oauth_provider", "cookies_accepted_at",
     "gen_ai.response.time_to_first_token", "max_token", "llm.token_count.total"],
)
def test_everyday_llm_keys_are_not_redacted(key: str) -> None:
    assert capture({key: 42}) == {key: 42}
    assert redact_text(f"{key}=42", S) == f"{key}=42"


@pytest.mark.parametrize("rule", BUILTIN_VALUE_RULES, ids=lambda r: r.name)
def test_each_value_rule_redacts_its_example_anywhere(rule: Any) -> None:
    secret_part = rule.example
    out = capture({"note": f"see {rule.example} here"})["note"]
    assert f"[REDACTED:{rule.name}]" in out
    assert out.startswith("see ") and out.endswith(" here")
    # inside JSON inside a string, and as a key
    nested = json.dumps({"payload": [rule.example]})
    assert f"[REDACTED:{rule.name}]" in capture([nested])[0]
    assert all(f"[REDACTED:{rule.name}]" in k for k in capture({rule.example: 1}))
    assert secret_part not in json.dumps(capture({"a": rule.example}))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("key sk-proj-Ab3dEf5gHi7jKl9mNo1pQr", "key [REDACTED:openai_key]"),
        ("sk-learn-is-a-python-library", "sk-learn-is-a-python-library"),  # no digit
        ("task-0123456789abcdefghijklmn", "task-0123456789abcdefghijklmn"),  # not a word start
        ("Authorization: Bearer abc.def-ghi_jkl012345", "Authorization: [REDACTED:secret_param]"),
        ("curl -H 'Authorization: Basic dXNlcjpwYXNz' x", "curl -H 'Authorization: "
         "[REDACTED:secret_param]' x"),
        ("Cookie: session=abc; csrftoken=def", "Cookie: [REDACTED:secret_param]"),
        ("redis://:s3cret@cache:6379/0", "redis://[REDACTED:url_credentials]@cache:6379/0"),
        ("https://x.io/a?token=abc&page=2", "https://x.io/a?token=[REDACTED:secret_param]&page=2"),
        ("https://x.io/a?accessToken=abc", "https://x.io/a?accessToken=[REDACTED:secret_param]"),
        ('{"password": "hunter 2", "user": "bob"}',
         '{"password": "[REDACTED:secret_param]", "user": "bob"}'),
        ("{'api_key': 'abc'}", "{'api_key': '[REDACTED:secret_param]'}"),
        ('"{\\"client_secret\\": \\"abc\\"}"',
         '"{\\"client_secret\\": \\"[REDACTED:secret_param]\\"}"'),
        ("the next token: it", "the next token: [REDACTED:secret_param]"),  # conservative
        ("max_tokens=100 temperature=0.2", "max_tokens=100 temperature=0.2"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n-----END OPENSSH PRIVATE KEY-----\nok",
         "[REDACTED:pem_private_key]\nok"),
        ("x -----BEGIN PRIVATE KEY-----\nMIIEvQ... (cut, no END)", "x [REDACTED:pem_private_key]"),
    ],
)
def test_value_rule_examples(text: str, expected: str) -> None:
    assert redact_text(text, S) == expected


def test_marker_names_the_rule_never_the_match() -> None:
    for rule in BUILTIN_VALUE_RULES:
        out = redact_text(rule.example, S)
        start = out.find("[REDACTED:")
        assert out[start:].startswith(f"[REDACTED:{rule.name}]")
    assert set(BUILTIN_RULE_NAMES) >= {r.name for r in BUILTIN_VALUE_RULES}


def test_exception_messages_and_stack_traces_go_through_redact_text() -> None:
    trace = ('Traceback (most recent call last):\n  File "app.py", line 3\n'
             "openai.AuthenticationError: Incorrect API key provided: sk-proj-Ab3dEf5gHi7jKl9mN")
    out = redact_text(trace, S)
    assert "Ab3dEf5gHi7jKl9mN" not in out and "[REDACTED:openai_key]" in out
    assert capture(ValueError("bad key sk-proj-Ab3dEf5gHi7jKl9mNo1p")) == {
        "type": "ValueError", "message": "bad key [REDACTED:openai_key]"}


def test_redact_value_covers_metadata_tags_and_ids() -> None:
    tags = ["prod", "sk-ant-api03-AAAAAAAAAAAAAAAAAAAAAAAAAAAA"]
    assert redact_value(tags, S, field="tags") == ["prod", "[REDACTED:anthropic_key]"]
    meta = {"gen_ai.usage.input_tokens": 5, "http.request.header.authorization": "Bearer x"}
    assert redact_value(meta, S, field="attributes") == {
        "gen_ai.usage.input_tokens": 5, "http.request.header.authorization":
        "[REDACTED:authorization]"}
    assert redact_value("user-42", S, field="user_id") == "user-42"


def test_redaction_happens_before_truncation() -> None:
    s = CaptureSettings(max_string_length=100, strict=True)
    for offset in range(50, 110):
        text = "a" * offset + " sk-proj-" + "Zq9" * 30 + " tail" + "b" * 10_000
        out = capture({"t": text}, s)["t"]
        assert "Zq9" not in out and len(out) <= 100


def test_extra_key_and_value_rules() -> None:
    s = CaptureSettings(redact_keys=("ssn", "X-Internal"), strict=True,
                        redact_patterns=(("order_ref", r"ORD-[0-9]{6}"), r"INT-\d+"))
    out = capture({"user_ssn": "123", "x_internal": "y", "note": "ORD-123456 INT-9"}, s)
    assert out == {"user_ssn": "[REDACTED:ssn]", "x_internal": "[REDACTED:x_internal]",
                   "note": "[REDACTED:order_ref] [REDACTED:custom]"}


def test_allow_list_keeps_a_key_but_still_scans_its_value() -> None:
    s = CaptureSettings(allow_keys=("next_token",), strict=True)
    assert capture({"next_token": "cursor-1"}, s) == {"next_token": "cursor-1"}
    assert capture({"next_token": "AKIAIOSFODNN7EXAMPLE"}, s) == {
        "next_token": "[REDACTED:aws_access_key_id]"}
    assert capture({"next_token": "c"}) == {"next_token": "[REDACTED:token]"}


def test_disabling_rules_and_redaction() -> None:
    s = CaptureSettings(disabled_rules=("cookie", "jwt"), strict=True)
    jwt = BUILTIN_VALUE_RULES[[r.name for r in BUILTIN_VALUE_RULES].index("jwt")].example
    assert capture({"cookie": "a=1", "t": jwt}, s) == {"cookie": "a=1", "t": jwt}
    off = CaptureSettings(redact=False, strict=True)
    assert capture({"password": "x", "k": "sk-proj-Ab3dEf5gHi7jKl9mNo1pQr"}, off) == {
        "password": "x", "k": "sk-proj-Ab3dEf5gHi7jKl9mNo1pQr"}


def test_mask_sees_redacted_values_and_its_result_is_bounded_and_redacted() -> None:
    seen: list[Any] = []

    def mask(value: Any, context: Any) -> Any:
        seen.append((value, dict(context)))
        return {"masked": value, "leak": "sk-proj-Ab3dEf5gHi7jKl9mNo1pQr", "big": "x" * 10_000}

    s = CaptureSettings(mask=mask, max_string_length=100, strict=True)
    out = finalize(snapshot({"password": "p"}, s), s, field="output", span_name="step")
    assert seen == [({"password": "[REDACTED:password]"}, {"field": "output", "span": "step"})]
    assert out["leak"] == "[REDACTED:openai_key]" and len(out["big"]) == 100


def test_a_raising_mask_fails_closed_and_is_counted() -> None:
    def mask(value: Any, context: Any) -> Any:
        raise RuntimeError(f"boom {value}")

    reset_counters()
    s = CaptureSettings(mask=mask)
    assert capture({"a": "visible?"}, s) == "[REDACTED:mask_error]"
    assert redact_text("text", s) == "[REDACTED:mask_error]"
    assert redact_value({"a": 1}, s) == "[REDACTED:mask_error]"
    assert counters()["mask_errors"] == 3


def test_redactions_are_counted() -> None:
    reset_counters()
    capture({"password": "x", "t": "AKIAIOSFODNN7EXAMPLE and ghp_" + "a1" * 18})
    assert counters()["redactions"] == 3
