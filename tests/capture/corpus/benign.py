"""Benign look-alikes: what LLM apps log every day that shares a secret's shape or name.

Each ``Benign`` is exported unchanged or it is a false positive. ``as_key`` items are dict
keys (and ``name=value`` assignments in text) whose value must stay visible; the others are
values, planted in text, JSON-in-strings, span names and as dict keys.
"""

from __future__ import annotations

import base64
import hashlib
import random
import string
import struct
import uuid
import zlib
from dataclasses import dataclass

__all__ = ["BENIGN", "Benign"]

_B62 = string.ascii_letters + string.digits


@dataclass(frozen=True)
class Benign:
    category: str
    text: str
    as_key: bool = False
    value: str = ""  # the value under an ``as_key`` key


def _rng(name: str) -> random.Random:
    return random.Random(f"benign/{name}")


def _ids() -> list[Benign]:
    """Provider object ids: the token shape, a known id prefix (OpenAI, Anthropic, Stripe)."""
    rng = _rng("ids")

    def r(alphabet: str, n: int) -> str:
        return "".join(rng.choice(alphabet) for _ in range(n))

    hexs = "0123456789abcdef"
    makers = [
        lambda: "chatcmpl-" + r(_B62, 29),
        lambda: "call_" + r(_B62, 24),
        lambda: "resp_" + r(hexs, 48),
        lambda: "run_" + r(_B62, 24),
        lambda: "thread_" + r(_B62, 24),
        lambda: "asst_" + r(_B62, 24),
        lambda: "file-" + r(_B62, 22),
        lambda: "batch_" + r(hexs, 32),
        lambda: "msg_" + r(_B62, 24),
        lambda: "msg_01" + r(_B62, 22),
        lambda: "toolu_01" + r(_B62, 22),
        lambda: "req_011C" + r(_B62, 20),
        lambda: "srvtoolu_01" + r(_B62, 22),
        lambda: "msgbatch_01" + r(_B62, 22),
        lambda: "cus_" + r(_B62, 14),
        lambda: "pi_3" + r(_B62, 23),
        lambda: "ch_3" + r(_B62, 23),
        lambda: "in_1" + r(_B62, 23),
        lambda: "sub_1" + r(_B62, 23),
        lambda: "price_1" + r(_B62, 23),
        lambda: "prod_" + r(_B62, 14),
        lambda: "evt_1" + r(_B62, 23),
        lambda: "cs_test_a1" + r(_B62, 56),
        lambda: "vs_" + r(_B62, 24),
        lambda: "ftjob-" + r(_B62, 24),
        lambda: "org-" + r(_B62, 24),
        lambda: "proj_" + r(_B62, 24),
        lambda: "step_" + r(_B62, 24),
        lambda: "fc_" + r(hexs, 48),
        lambda: "modr-" + r(_B62, 29),
    ]
    return [Benign("provider_id", make()) for make in makers for _ in range(3)]


def _digests() -> list[Benign]:
    rng = _rng("digests")
    out = [Benign("uuid", str(uuid.UUID(int=rng.getrandbits(128), version=4))) for _ in range(12)]
    out += [Benign("uuid", str(uuid.UUID(int=rng.getrandbits(128))).upper()) for _ in range(3)]
    out += [Benign("git_sha", hashlib.sha1(str(i).encode()).hexdigest()) for i in range(12)]
    out += [
        Benign("git_sha", hashlib.sha1(str(i).encode()).hexdigest()[:12]) for i in range(12, 16)
    ]
    out += [Benign("sha256", hashlib.sha256(str(i).encode()).hexdigest()) for i in range(8)]
    out += [
        Benign("sha256", "sha256:" + hashlib.sha256(b"layer%d" % i).hexdigest()) for i in range(3)
    ]
    out += [
        Benign("sha256", "sha384-" + base64.b64encode(hashlib.sha384(b"%d" % i).digest()).decode())
        for i in range(3)
    ]
    out += [Benign("sha256", "md5:" + hashlib.md5(b"%d" % i).hexdigest()) for i in range(2)]
    return out


def _png(width: int, height: int, seed: int) -> bytes:
    rng = random.Random(seed)
    raw = b"".join(
        b"\x00" + bytes(rng.randrange(256) for _ in range(width * 3)) for _ in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def _images() -> list[Benign]:
    out = []
    for i, (w, h) in enumerate([(4, 4), (8, 6), (16, 16), (24, 10), (12, 12), (30, 20)]):
        data = base64.b64encode(_png(w, h, i)).decode()
        out.append(Benign("base64_image", f"data:image/png;base64,{data}"))
    jpeg = base64.b64encode(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 2).decode()
    out.append(Benign("base64_image", f"data:image/jpeg;base64,{jpeg}"))
    out.append(Benign("base64_image", base64.b64encode(_png(10, 10, 99)).decode()))  # bare PNG
    return out


_WORDS = [
    # key names that count, time or mark tokens, and HF tokenizer settings
    ("max_tokens", "512"),
    ("max_completion_tokens", "1024"),
    ("max_new_tokens", "256"),
    ("token_count", "81"),
    ("input_tokens", "1200"),
    ("output_tokens", "64"),
    ("total_tokens", "1264"),
    ("prompt_tokens", "1200"),
    ("completion_tokens", "64"),
    ("cached_tokens", "1024"),
    ("reasoning_tokens", "320"),
    ("num_tokens", "9"),
    ("tokens_per_second", "48.2"),
    ("time_to_first_token", "0.41"),
    ("max_token", "77"),
    ("eos_token", "</s>"),
    ("bos_token", "<s>"),
    ("pad_token", "<pad>"),
    ("unk_token", "<unk>"),
    ("sep_token", "[SEP]"),
    ("cls_token", "[CLS]"),
    ("mask_token", "[MASK]"),
    ("add_bos_token", "true"),
    ("add_eos_token", "false"),
    ("eos_token_id", "2"),
    ("pad_token_id", "0"),
    ("session_id", "sess-2024-05-01-42"),
    ("author", "Jane Doe"),
    ("authors", "Doe, Roe"),
    ("cache_key", "user:42:profile"),
    ("sort_key", "created_at"),
    ("primary_key", "id"),
    ("partition_key", "tenant_7"),
    ("idempotency_key", "order-18234-retry-1"),
    ("keyboard", "us"),
    ("monkey", "banana"),
    ("turkey", "roasted"),
    ("bypass", "true"),
    ("compass", "north"),
    ("design", "minimal"),
    ("password_policy", "min 12 chars"),
    ("is_private", "true"),
    ("has_signature", "false"),
    ("tokenizer", "cl100k_base"),
    ("oauth_provider", "google"),
    ("secretary", "Ms. Moneypenny"),
    ("cookies_accepted_at", "2024-05-01"),
    ("PWD", "/srv/app"),
    ("OLDPWD", "/home/deploy"),
    ("HF_HOME", "/data/hf"),
]


def _keys() -> list[Benign]:
    return [Benign("hf_and_count_keys", k, as_key=True, value=v) for k, v in _WORDS]


_TEXTS = {
    "slug": [
        "sk-hynix-q3-2024-results",
        "sk-learn-is-a-python-library",
        "sk-telecom-annual-report-2023",
        "sk-innovation-battery-plant-2025",
        "pk-lf-dashboard-settings-v2",
        "tvly-search-results-v2",
        "ghp-pages-deploy-workflow",
        "xai-grok-release-notes-2024",
        "key-takeaways-from-the-q3-call",
        "secret-santa-2024-signup-form",
        "token-bucket-rate-limiter-v3",
        "pplx-style-answer-engine",
    ],
    "model_name": [
        "gpt-4o-2024-08-06",
        "gpt-4o-mini-2024-07-18",
        "o1-preview-2024-09-12",
        "claude-3-5-sonnet-20241022",
        "claude-sonnet-4-20250514",
        "claude-3-haiku-20240307",
        "meta-llama/Meta-Llama-3.1-8B-Instruct",
        "mistralai/Mixtral-8x7B-Instruct-v0.1",
        "text-embedding-3-large",
        "gemini-1.5-pro-002",
        "ft:gpt-4o-mini-2024-07-18:acme::9a8b7c6d",
        "Qwen/Qwen2.5-72B-Instruct",
        "deepseek-ai/DeepSeek-R1-Distill-Llama-70B",
        "sentence-transformers/all-MiniLM-L6-v2",
        "BAAI/bge-large-en-v1.5",
        "amazon.titan-embed-text-v2:0",
        "us.anthropic.claude-3-5-sonnet-20241022-v2:0",
        "accounts/fireworks/models/llama-v3p1-405b-instruct",
        "openrouter/auto",
        "mlx-community/Meta-Llama-3.1-8B-Instruct-4bit",
    ],
    "file_path": [
        "/srv/app/.venv/lib/python3.12/site-packages/openai/_base_client.py",
        "C:\\Users\\jane\\AppData\\Local\\Programs\\Python\\Python312\\Lib\\site-packages\\httpx"
        "\\_client.py",
        "./data/train-00000-of-00004.parquet",
        "~/.cache/huggingface/hub/models--meta-llama--Llama-3.1-8B/snapshots/main/config.json",
        "s3://acme-datasets/2024/05/01/events-part-0003.jsonl.gz",
        "gs://acme-ml-artifacts/checkpoints/run-42/step-001000/model.safetensors",
        "/tmp/pytest-of-root/pytest-3/test_export0/traces.jsonl",
        "src/brokle_trace/capture/_redact.py",
        "node_modules/@anthropic-ai/sdk/dist/index.js",
        "/var/lib/docker/overlay2/l/ABCDEFGHIJKLMNOPQRSTUVWXYZ/diff",
        "projects/acme-prod/locations/us-central1/endpoints/1234567890123456789",
        "arn:aws:iam::123456789012:role/service-role/lambda-execution-role",
        "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-sonnet-20240229-v1:0",
    ],
    "url": [
        "https://api.openai.com/v1/chat/completions",
        "http://localhost:5173/@vite/client",
        "http://localhost:3000/@fs/srv/app/src/main.ts",
        "https://medium.com/@janedoe/how-we-trace-llm-calls-1a2b3c4d5e6f",
        "git@github.com:acme/llm-app.git",
        "https://deploy@example.com/status",
        "https://example.com:8443/health",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        "https://docs.python.org/3/library/re.html#re.Pattern.search",
        "https://arxiv.org/abs/2305.10601",
        "https://huggingface.co/datasets/HuggingFaceFW/fineweb-edu",
        "https://github.com/acme/app/pull/1842/files#diff-1a2b3c4d5e6f7a8b9c0d",
        "https://console.cloud.google.com/logs/query;query=resource.type%3D%22cloud_run%22",
        "https://acme.atlassian.net/browse/ML-1234?focusedCommentId=56789",
        "https://app.example.com/oauth/callback?state=xyz123&error=access_denied",
        "https://example.com/search?q=how+to+rotate+api+keys&page=2",
    ],
    "prose": [
        "Bearer authentication sends a token in a header",
        "basic information about the account",
        "We use a bearer token scheme for the API",
        "Authorization is required for this endpoint",
        "the token count was lower than expected",
        "rotate the secret every ninety days",
        "the password field must not be empty",
        "our secretary keeps the keys to the office",
        "a cookie banner appears on first visit",
        "credentials are stored in the vault",
        "Private companies file fewer reports",
        "see the signature block at the end",
        "internationalization and localization support",
        "ChatCompletionMessageToolCallParam",
        "getUserAccountSettingsForTenantId",
        "AsyncAnthropicBedrockStreamingClient",
        "test_redaction_keeps_provider_ids_visible",
        "handleStreamingChatCompletionChunk2",
        "TRANSFORMERS_CACHE=/data/hf/transformers",
        "CUDA_VISIBLE_DEVICES=0,1",
        "PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True",
        "supercalifragilisticexpialidocious",
        "Pneumonoultramicroscopicsilicovolcanoconiosis",
    ],
    "identifier": [
        "2024-05-01T12:00:00.000Z",
        "1.4.2-rc.1+build.7",
        "2001:db8::8a2e:370:7334",
        "00:1A:2B:3C:4D:5E",
        "#1a2b3c",
        "+1-555-010-4477",
        "api-7d9f8c6b5-x2x9z",
        "ghcr.io/acme/api:sha-1a2b3c4",
        "python:3.12-slim-bookworm",
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "service.name=checkout",
        "v2.14.0-37-g1a2b3c4d",
        "release/2024.05.01-hotfix.2",
        "ISBN 978-3-16-148410-0",
        "en_US.UTF-8",
        "utf-8-sig",
        "application/vnd.openxmlformats-officedocument.wordprocessingml",
        "x-request-id: 9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a",
        "Content-Type: application/json",
        "User-Agent: OpenAI/Python 1.51.0",
        "x-ratelimit-remaining-tokens: 149984",
        "anthropic-version: 2023-06-01",
        "openai-processing-ms: 812",
    ],
}


def _texts() -> list[Benign]:
    return [Benign(cat, t) for cat, items in _TEXTS.items() for t in items]


BENIGN: tuple[Benign, ...] = tuple(_ids() + _digests() + _images() + _keys() + _texts())
