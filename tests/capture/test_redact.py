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
from brokle_trace.capture._rules import (
    BUILTIN_KEY_RULES,
    BUILTIN_SHAPE_RULES,
    BUILTIN_TOKEN_RULES,
    BUILTIN_VALUE_RULES,
    ID_PREFIXES,
)
from brokle_trace.capture._scan import MIN_RUN, TOKEN_CHARS

S = CaptureSettings(strict=True)
TOKEN_EXAMPLES = {r.name: r.example for r in BUILTIN_TOKEN_RULES}


def capture(value: Any, s: CaptureSettings = S, **kw: Any) -> Any:
    return finalize(snapshot(value, s), s, **kw)


def markers(rule: Any) -> set[str]:
    return {f"[REDACTED:{n}]" for n in (rule.name, *getattr(rule, "families", ()))}


# -- key rules ------------------------------------------------------------------------------
@pytest.mark.parametrize("rule", BUILTIN_KEY_RULES, ids=lambda r: r.name)
def test_each_key_rule_replaces_the_whole_value(rule: Any) -> None:
    for key in rule.examples:
        out = capture({key: {"nested": "anything", "n": 1}, "keep": "visible"})
        assert out == {key: f"[REDACTED:{rule.name}]", "keep": "visible"}


@pytest.mark.parametrize(
    "key",
    [
        "session_id",
        "max_tokens",
        "input_tokens",
        "output_tokens",
        "token_count",
        "total_tokens",
        "author",
        "authors",
        "tokens",
        "tokenizer",
        "keys",
        "key",
        "passage",
        "secretary",
        "prompt_tokens",
        "completion_tokens",
        "oauth_provider",
        "cookies_accepted_at",
        "gen_ai.response.time_to_first_token",
        "max_token",
        "llm.token_count.total",
        # Hugging Face tokenizer settings: special tokens, not credentials
        "eos_token",
        "bos_token",
        "pad_token",
        "unk_token",
        "sep_token",
        "cls_token",
        "mask_token",
        "add_bos_token",
        "add_eos_token",
        "eos_token_id",
        "pad_token_id",
        "special_tokens_map",
        "cache_key",
        "sort_key",
        "primary_key",
        "idempotency_key",
        "bypass",
        "compass",
        "design",
        "is_private",
        "password_policy",
        "keyboard",
    ],
)
def test_everyday_llm_keys_are_not_redacted(key: str) -> None:
    assert capture({key: 42}) == {key: 42}
    assert capture({key: "</s>"}) == {key: "</s>"}
    assert redact_text(f"{key}=42", S) == f"{key}=42"
    assert redact_text(json.dumps({key: "<pad>"}), S) == json.dumps({key: "<pad>"})


def test_the_token_of_a_logprobs_entry_is_shown() -> None:
    entry = {
        "token": "Hello",
        "logprob": -0.31,
        "bytes": [72, 101],
        "top_logprobs": [{"token": "Hi", "logprob": -1.2}],
    }
    assert capture({"content": [entry]}) == {"content": [entry]}
    assert capture({"token": "t", "logprobs": None}) == {
        "token": "[REDACTED:token]",
        "logprobs": None,
    }


def test_a_flag_under_a_secret_key_is_shown() -> None:
    value = {"private": True, "api_key": None, "password": False, "token": "t"}
    assert capture(value) == {
        "private": True,
        "api_key": None,
        "password": False,
        "token": "[REDACTED:token]",
    }
    assert (
        redact_text('{"api_key": null, "private": true}', S) == '{"api_key": null, "private": true}'
    )


# -- value rules (regexes over text) -----------------------------------------------------------
@pytest.mark.parametrize("rule", BUILTIN_VALUE_RULES, ids=lambda r: r.name)
def test_each_value_rule_redacts_its_example_anywhere(rule: Any) -> None:
    out = capture({"note": f"see {rule.example} here"})["note"]
    assert any(m in out for m in markers(rule)), out
    assert out.startswith("see ") and out.endswith(" here")
    # inside JSON inside a string, and as a key
    nested = json.dumps({"payload": [rule.example]})
    assert any(m in capture([nested])[0] for m in markers(rule))
    assert all(any(m in k for m in markers(rule)) for k in capture({rule.example: 1}))


@pytest.mark.parametrize("rule", BUILTIN_TOKEN_RULES, ids=lambda r: r.name)
def test_each_token_family_redacts_its_example_in_every_text_form(rule: Any) -> None:
    example = rule.example
    # Telegram's bot id before the ':' is public; the secret is what follows.
    mark = example[: example.rfind(":") + 1] + f"[REDACTED:{rule.name}]"
    assert redact_text(example, S) == mark
    for form in (
        "key {} here",
        "'{}'",
        '{{"k": "{}"}}',
        "https://x.io/v1/{}?y=1",
        "a/{}.z",
        "x-{}",
        "Error: {}!",
        "`{}`",
    ):
        text = form.format(example)
        assert redact_text(text, S) == form.format(mark), text
    assert capture({example: 1}) == {mark: 1}
    assert capture(ValueError(f"bad {example}")) == {"type": "ValueError", "message": f"bad {mark}"}


@pytest.mark.parametrize("rule", BUILTIN_TOKEN_RULES, ids=lambda r: r.name)
def test_token_family_patterns_start_with_a_prefix_and_16_token_characters(rule: Any) -> None:
    # The scanner only looks up a family where its prefix begins a 16+ character run.
    assert any(rule.example.split(":")[-1].startswith(p) for p in rule.prefixes)
    start = rule.example.rfind(":") + 1
    assert all(c in TOKEN_CHARS for c in rule.example[start : start + MIN_RUN])


@pytest.mark.parametrize("rule", BUILTIN_SHAPE_RULES, ids=lambda r: r.name)
def test_each_shape_rule_redacts_its_example(rule: Any) -> None:
    assert redact_text(f"key {rule.example} here", S) == f"key [REDACTED:{rule.name}] here"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("key sk-proj-Ab3dEf5gHi7jKl9mNo1pQr", "key [REDACTED:openai_key]"),
        ("sk-learn-is-a-python-library", "sk-learn-is-a-python-library"),  # no digit
        ("sk-hynix-q3-2024-results", "sk-hynix-q3-2024-results"),  # a slug: no 16-char run
        ("task-0123456789abcdefghijklmn", "task-0123456789abcdefghijklmn"),  # not a word start
        ("Authorization: Bearer abc.def-ghi_jkl012345", "Authorization: [REDACTED:secret_param]"),
        (
            "curl -H 'Authorization: Basic dXNlcjpwYXNz' x",
            "curl -H 'Authorization: [REDACTED:secret_param]' x",
        ),
        ("Cookie: session=abc; csrftoken=def", "Cookie: [REDACTED:secret_param]"),
        ("redis://:s3cret@cache:6379/0", "redis://[REDACTED:url_credentials]@cache:6379/0"),
        ("postgres://app:p@ss/w0rd@db:5432/x", "postgres://[REDACTED:url_credentials]@db:5432/x"),
        ("mysql://root:a/b@c@db/x", "mysql://[REDACTED:url_credentials]@db/x"),
        ("https://jane@corp.example:pw9@host/x", "https://[REDACTED:url_credentials]@host/x"),
        ("http://localhost:5173/@vite/client", "http://localhost:5173/@vite/client"),
        ("git@github.com:acme/app.git", "git@github.com:acme/app.git"),
        (
            "https://0123456789abcdef0123456789abcdef@o1.ingest.sentry.io/42",
            "https://[REDACTED:sentry_dsn]@o1.ingest.sentry.io/42",
        ),
        ("https://x.io/a?token=abc&page=2", "https://x.io/a?token=[REDACTED:secret_param]&page=2"),
        ("https://x.io/a?accessToken=abc", "https://x.io/a?accessToken=[REDACTED:secret_param]"),
        (
            '{"password": "hunter 2", "user": "bob"}',
            '{"password": "[REDACTED:secret_param]", "user": "bob"}',
        ),
        ("{'api_key': 'abc'}", "{'api_key': '[REDACTED:secret_param]'}"),
        (
            '"{\\"client_secret\\": \\"abc\\"}"',
            '"{\\"client_secret\\": \\"[REDACTED:secret_param]\\"}"',
        ),
        ("the next token: it", "the next token: [REDACTED:secret_param]"),  # conservative
        ("max_tokens=100 temperature=0.2", "max_tokens=100 temperature=0.2"),
        (
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n-----END OPENSSH PRIVATE KEY-----\nok",
            "[REDACTED:pem_private_key]\nok",
        ),
        ("x -----BEGIN PRIVATE KEY-----\nMIIEvQ... (cut, no END)", "x [REDACTED:pem_private_key]"),
        # every text form of an assignment
        ("DB_PASSWORD=hunter2", "DB_PASSWORD=[REDACTED:secret_param]"),
        ("userPassword: hunter2", "userPassword: [REDACTED:secret_param]"),
        (
            "spring.datasource.password=hunter2",
            "spring.datasource.password=[REDACTED:secret_param]",
        ),
        (
            "Ocp-Apim-Subscription-Key: 0123abcd",
            "Ocp-Apim-Subscription-Key: [REDACTED:secret_param]",
        ),
        ("x-functions-key: abc==", "x-functions-key: [REDACTED:secret_param]"),
        ("--password hunter2 --verbose", "--password [REDACTED:cli_credentials] --verbose"),
        ("tool --api-key abc123", "tool --api-key [REDACTED:cli_credentials]"),
        ("curl -u admin:hunter2 https://x", "curl -u [REDACTED:cli_credentials] https://x"),
        ("secret => 'abc'", "secret => '[REDACTED:secret_param]'"),
        (
            "Server=db;Uid=app;Pwd=hunter2;Encrypt=yes",
            "Server=db;Uid=app;Pwd=[REDACTED:secret_param];Encrypt=yes",
        ),
        ("Pwd={a;b}", "Pwd=[REDACTED:secret_param]"),
        ("PWD=/srv/app OLDPWD=/home/x", "PWD=/srv/app OLDPWD=/home/x"),
        (
            "AccountName=acme;AccountKey=abc+/==;Suffix=x",
            "AccountName=acme;AccountKey=[REDACTED:azure_storage_key];Suffix=x",
        ),
        (
            "SharedAccessKeyName=Root;SharedAccessKey=abc=",
            "SharedAccessKeyName=Root;SharedAccessKey=[REDACTED:azure_service_bus_key]",
        ),
        (
            "https://a.blob.core.windows.net/c?sv=1&sig=ab%2Bc",
            "https://a.blob.core.windows.net/c?sv=1&sig=[REDACTED:azure_sas_token]",
        ),
        (
            "https://b.s3.amazonaws.com/k?X-Amz-Signature=0a1b",
            "https://b.s3.amazonaws.com/k?X-Amz-Signature=[REDACTED:aws_presigned_url]",
        ),
        (
            "https://a.io/cb?state=1&code=4/0AbC",
            "https://a.io/cb?state=1&code=[REDACTED:oauth_code]",
        ),
        (
            "https://cdn.io/v.mp4?signature=abc",
            "https://cdn.io/v.mp4?signature=[REDACTED:url_signature]",
        ),
        ("source code=1", "source code=1"),  # ``code`` only as a URL query parameter
        ("Basic dXNlcjpodW50ZXIy", "Basic [REDACTED:basic_auth]"),
        ("basic information", "basic information"),
        ("Bearer authentication sends a token", "Bearer authentication sends a token"),
        ("bot 123456789:AA" + "b" * 33, "bot 123456789:[REDACTED:telegram_bot_token]"),
        ("abc8Q~" + "x" * 34, "[REDACTED:azure_ad_client_secret]"),
        (
            "https://discord.com/api/webhooks/123/abcdefghijk",
            "https://discord.com/api/webhooks/[REDACTED:discord_webhook]",
        ),
        (
            "PuTTY-User-Key-File-3: ssh-rsa\nPrivate-MAC: 0a1b\nok",
            "[REDACTED:putty_private_key]\nok",
        ),
    ],
)
def test_value_rule_examples(text: str, expected: str) -> None:
    assert redact_text(text, S) == expected


def test_provider_ids_and_data_look_alikes_pass_unchanged() -> None:
    look_alikes = [
        "chatcmpl-9pQx2Lk7RtYzWvB3nM5cD8eF1gH4j",
        "call_Qm3cR8xZk2VbN7pLw9sT1yHd",
        "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b",
        "run_abc123DEF456ghi789JKL012",
        "thread_abc123DEF456ghi789JKL012",
        "asst_abc123DEF456ghi789JKL012",
        "file-XyZ12345AbCdEfGh678901",
        "batch_67890abcdef1234567890abcdef12",
        "msg_01XFDUDYJgAACzvnptvVoYEL",
        "toolu_01A09q90qw90lq917835lq9",
        "req_011CSHoEeqs5C35K2UUqR7Fy",
        "cus_NffrFeUfNV2Hib",
        "pi_3MtwBwLkdIwHu7ix28a3tqPa",
        "ch_3MmlLrLkdIwHu7ix0snN0B15",
        "550e8400-e29b-41d4-a716-446655440000",
        "da39a3ee5e6b4b0d3255bfef95601890afd80709",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
        "+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
        "sk-hynix-q3-2024-results",
        "max_tokens",
        "token_count",
        "input_tokens",
        "session_id",
        "secretary",
        "claude-3-5-sonnet-20241022",
        "mistralai/Mixtral-8x7B-Instruct-v0.1",
        "/srv/app/.venv/lib/python3.12/site-packages/openai/_base_client.py",
        "getUserAccountSettingsForTenantId",
    ]
    for text in look_alikes:
        for form in ("{}", "id={} ok", '{{"id": "{}"}}'):
            assert redact_text(form.format(text), S) == form.format(text)
        assert capture({text: text}) == {text: text}


def test_id_prefixes_do_not_shield_named_families() -> None:
    # "cus_" is a Stripe customer, "sk_live_" a Stripe key: the family wins over the shape.
    assert (
        redact_text("cus_NffrFeUfNV2Hib sk_live_4eC39HqLyjWDarjtT1zdp7dc", S)
        == "cus_NffrFeUfNV2Hib [REDACTED:stripe_key]"
    )
    assert all(p.islower() or not p.isalpha() for p in ID_PREFIXES)


def test_shape_rules_catch_unknown_vendors_but_not_words() -> None:
    assert redact_text("zk_9fQ2mXa7vB1nR8tL3wC6yHp0", S) == "[REDACTED:prefixed_token]"
    assert redact_text("use 9fQ2mXa7vB1nR8tL3wC6yHp0kZ4sD5eG", S) == "use [REDACTED:high_entropy]"
    for text in (
        "model_gpt4turbo20240409preview",
        "internationalizationandlocalization",
        "handleStreamingChatCompletionChunk2",
        "ChatCompletionMessageToolCallParam",
        "accounts/fireworks/models/llama-v3p1-405b-instruct",
    ):
        assert redact_text(text, S) == text


def test_marker_names_the_rule_never_the_match() -> None:
    for rule in BUILTIN_VALUE_RULES:
        out = redact_text(rule.example, S)
        start = out.find("[REDACTED:")
        assert any(out[start:].startswith(m) for m in markers(rule))
    names = {r.name for r in BUILTIN_VALUE_RULES} | {
        f for r in BUILTIN_VALUE_RULES for f in r.families
    }
    names |= {r.name for r in BUILTIN_TOKEN_RULES} | {r.name for r in BUILTIN_SHAPE_RULES}
    assert set(BUILTIN_RULE_NAMES) >= names


def test_exception_messages_and_stack_traces_go_through_redact_text() -> None:
    trace = (
        'Traceback (most recent call last):\n  File "app.py", line 3\n'
        "openai.AuthenticationError: Incorrect API key provided: sk-proj-Ab3dEf5gHi7jKl9mN"
    )
    out = redact_text(trace, S)
    assert "Ab3dEf5gHi7jKl9mN" not in out and "[REDACTED:openai_key]" in out
    assert capture(ValueError("bad key sk-proj-Ab3dEf5gHi7jKl9mNo1p")) == {
        "type": "ValueError",
        "message": "bad key [REDACTED:openai_key]",
    }


@pytest.mark.parametrize("offset", range(0, 120, 7))
def test_a_tail_kept_text_is_redacted_whole_before_the_cut(offset: int) -> None:
    secret = "hf_" + "Zq9xW" * 8
    text = "frame\n" * 50 + "x" * offset + " " + secret + "\n" + "y" * (200 - offset)
    out = redact_text(text, S, max_length=240, keep="tail")
    assert len(out) <= 240 and out.endswith("y" * (200 - offset))
    assert not any(secret[i : i + 6] in out for i in range(len(secret) - 5))
    assert out.startswith(f"[TRUNCATED: {len(text)} chars]...\n")


def test_redact_value_covers_metadata_tags_and_ids() -> None:
    tags = ["prod", "sk-ant-api03-AAAAAAAAAAAAAAAAAAAAAAAAAAAA"]
    assert redact_value(tags, S, field="tags") == ["prod", "[REDACTED:anthropic_key]"]
    meta = {"gen_ai.usage.input_tokens": 5, "http.request.header.authorization": "Bearer x"}
    assert redact_value(meta, S, field="attributes") == {
        "gen_ai.usage.input_tokens": 5,
        "http.request.header.authorization": "[REDACTED:authorization]",
    }
    assert redact_value("user-42", S, field="user_id") == "user-42"


def test_redaction_happens_before_truncation() -> None:
    s = CaptureSettings(max_string_length=100, strict=True)
    for offset in range(50, 110):
        text = "a" * offset + " sk-proj-" + "Zq9" * 30 + " tail" + "b" * 10_000
        out = capture({"t": text}, s)["t"]
        assert "Zq9" not in out and len(out) <= 100


def test_extra_key_and_value_rules() -> None:
    s = CaptureSettings(
        redact_keys=("ssn", "X-Internal"),
        strict=True,
        redact_patterns=(("order_ref", r"ORD-[0-9]{6}"), r"INT-\d+"),
    )
    out = capture({"user_ssn": "123", "x_internal": "y", "note": "ORD-123456 INT-9"}, s)
    assert out == {
        "user_ssn": "[REDACTED:ssn]",
        "x_internal": "[REDACTED:x_internal]",
        "note": "[REDACTED:order_ref] [REDACTED:custom]",
    }


def test_allow_list_keeps_a_key_but_still_scans_its_value() -> None:
    s = CaptureSettings(allow_keys=("next_token",), strict=True)
    assert capture({"next_token": "cursor-1"}, s) == {"next_token": "cursor-1"}
    assert capture({"next_token": "AKIAIOSFODNN7EXAMPLE"}, s) == {
        "next_token": "[REDACTED:aws_access_key_id]"
    }
    assert capture({"next_token": "c"}) == {"next_token": "[REDACTED:token]"}


def test_disabling_rules_families_and_redaction() -> None:
    jwt = TOKEN_EXAMPLES["jwt"]
    s = CaptureSettings(disabled_rules=("cookie", "jwt", "high_entropy"), strict=True)
    assert capture({"cookie": "a=1", "t": jwt}, s) == {"cookie": "a=1", "t": jwt}
    # without its family, a JWT's random signature is still caught by its shape
    s = CaptureSettings(disabled_rules=("jwt",), strict=True)
    header, payload, _ = jwt.split(".")
    assert redact_text(jwt, s) == f"{header}.{payload}.[REDACTED:high_entropy]"
    # one family of a rule: the rest of the rule still runs
    s = CaptureSettings(disabled_rules=("azure_sas_token", "slack_webhook"), strict=True)
    assert redact_text("?sig=abc&password=x", s) == "?sig=abc&password=[REDACTED:secret_param]"
    hook = "https://hooks.slack.com/services/T0/B0/XXXXXXXXXXXXXXXX"
    assert redact_text(hook, s) == hook
    # the shape detectors
    s = CaptureSettings(disabled_rules=("high_entropy", "prefixed_token"), strict=True)
    for rule in BUILTIN_SHAPE_RULES:
        assert redact_text(rule.example, s) == rule.example
    off = CaptureSettings(redact=False, strict=True)
    assert capture({"password": "x", "k": "sk-proj-Ab3dEf5gHi7jKl9mNo1pQr"}, off) == {
        "password": "x",
        "k": "sk-proj-Ab3dEf5gHi7jKl9mNo1pQr",
    }


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
