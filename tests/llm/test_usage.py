"""Usage extraction from real SDK response objects (built with the SDKs' own types) and dicts."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import anthropic.types as at
import pytest
from openai.types import Completion, CompletionUsage, CreateEmbeddingResponse
from openai.types.chat import ChatCompletion
from openai.types.responses import Response

from brokle_trace import observe_llm, update_current_llm, update_current_span
from brokle_trace.llm import Usage, extract_usage, find_usage
from brokle_trace.testing import capture_spans

CHAT = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1,
    "model": "gpt-4o-2024-08-06",
    "choices": [
        {
            "index": 0,
            "finish_reason": "stop",
            "message": {"role": "assistant", "content": "hi"},
        }
    ],
    "usage": {
        "prompt_tokens": 100,
        "completion_tokens": 20,
        "total_tokens": 120,
        "prompt_tokens_details": {"cached_tokens": 40},
        "completion_tokens_details": {"reasoning_tokens": 5},
    },
}
RESPONSE = {
    "id": "resp_1",
    "object": "response",
    "created_at": 1,
    "model": "o4-mini-2025-04-16",
    "output": [],
    "parallel_tool_calls": True,
    "tool_choice": "auto",
    "tools": [],
    "usage": {
        "input_tokens": 50,
        "input_tokens_details": {"cached_tokens": 10, "cache_write_tokens": 0},
        "output_tokens": 30,
        "output_tokens_details": {"reasoning_tokens": 12},
        "total_tokens": 80,
    },
}
MESSAGE = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-3-5-sonnet-20241022",
    "content": [{"type": "text", "text": "hello"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {
        "input_tokens": 10,
        "output_tokens": 7,
        "cache_read_input_tokens": 200,
        "cache_creation_input_tokens": 30,
    },
}
EMBEDDING = {
    "object": "list",
    "model": "text-embedding-3-small",
    "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2, 0.3]}],
    "usage": {"prompt_tokens": 4, "total_tokens": 4},
}
COMPLETION = {
    "id": "cmpl-1",
    "object": "text_completion",
    "created": 1,
    "model": "gpt-3.5-turbo-instruct",
    "choices": [{"index": 0, "text": "ok", "finish_reason": "stop", "logprobs": None}],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
}

EXPECTED = {
    "chat": Usage(100, 20, 120, 40, None, 5),
    "responses": Usage(50, 30, 80, 10, None, 12),
    # Anthropic's input_tokens exclude the cache; GenAI input_tokens include it.
    "anthropic": Usage(240, 7, None, 200, 30, None),
    "embedding": Usage(4, None, 4, None, None, None),
    "completion": Usage(3, 1, 4, None, None, None),
}


def sdk_objects() -> dict[str, Any]:
    return {
        "chat": ChatCompletion.model_validate(CHAT),
        "responses": Response.model_validate(RESPONSE),
        "anthropic": at.Message.model_validate(MESSAGE),
        "embedding": CreateEmbeddingResponse.model_validate(EMBEDDING),
        "completion": Completion.model_validate(COMPLETION),
    }


DICTS = {
    "chat": CHAT,
    "responses": RESPONSE,
    "anthropic": MESSAGE,
    "embedding": EMBEDDING,
    "completion": COMPLETION,
}


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_sdk_objects_and_their_dicts(kind: str) -> None:
    obj = sdk_objects()[kind]
    assert find_usage(obj) == EXPECTED[kind]
    assert find_usage(DICTS[kind]) == EXPECTED[kind]
    assert find_usage(obj.model_dump()) == EXPECTED[kind]


def test_usage_objects_alone() -> None:
    usage = CompletionUsage(prompt_tokens=3, completion_tokens=4, total_tokens=7)
    assert extract_usage(usage) == Usage(3, 4, 7)
    assert extract_usage(at.Usage(input_tokens=5, output_tokens=6)) == Usage(5, 6)


def test_generic_shapes() -> None:
    assert extract_usage({"input_tokens": 1, "output_tokens": 2}) == Usage(1, 2)
    gemini = {"prompt_token_count": 9, "candidates_token_count": 3, "total_token_count": 12}
    assert find_usage({"usage_metadata": gemini}) == Usage(9, 3, 12)
    obj = SimpleNamespace(usage=SimpleNamespace(input_tokens=4, output_tokens=1))
    assert find_usage(obj) == Usage(4, 1)


@pytest.mark.parametrize("value", [None, "text", 3, [1, 2], {"answer": 1}, object()])
def test_unrecognised_values_have_no_usage(value: Any) -> None:
    assert find_usage(value) is None


def test_bool_is_not_a_token_count() -> None:
    assert extract_usage({"input_tokens": True, "output_tokens": 2}) == Usage(None, 2)


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_observe_llm_reads_usage_from_the_result(kind: str) -> None:
    obj = sdk_objects()[kind]

    @observe_llm(name="call", provider="test")
    def call(prompt: str, temperature: float = 0.3, max_tokens: int = 64) -> Any:
        return obj

    with capture_spans() as spans:
        call("hi", temperature=0.3, max_tokens=64)
    (span,) = spans
    attrs = span.attributes
    want = EXPECTED[kind]
    assert attrs["gen_ai.usage.input_tokens"] == want.input_tokens
    if want.output_tokens is not None:
        assert attrs["gen_ai.usage.output_tokens"] == want.output_tokens
    assert attrs["gen_ai.response.model"] == obj.model
    assert attrs["gen_ai.request.temperature"] == 0.3
    assert attrs["gen_ai.request.max_tokens"] == 64
    assert "brokle.cost.total_usd" in attrs
    assert "gen_ai.usage.prompt_tokens" not in attrs and "gen_ai.system" not in attrs


def test_update_current_span_sets_llm_fields_by_hand() -> None:
    @observe_llm(name="manual", provider="acme")
    def manual() -> str:
        update_current_span(
            model="gpt-4o-mini",
            usage={"prompt_tokens": 1_000_000, "completion_tokens": 0},
            completion_start_time=0,
        )
        return "done"

    with capture_spans() as spans:
        manual()
    attrs = spans[0].attributes
    assert attrs["gen_ai.response.model"] == "gpt-4o-mini"
    assert attrs["gen_ai.usage.input_tokens"] == 1_000_000
    assert attrs["brokle.cost.total_usd"] == pytest.approx(0.15)
    assert attrs["gen_ai.response.time_to_first_chunk"] == 0  # clamped: never negative


def test_update_current_llm_with_cost_and_params() -> None:
    @observe_llm(name="priced")
    def priced() -> None:
        update_current_llm(
            model="in-house-7b",
            usage=Usage(input_tokens=10, output_tokens=5),
            cost_usd={"input": 0.001, "output": 0.002},
            temperature=0.0,
            stop=["END"],
        )

    with capture_spans() as spans:
        priced()
    attrs = spans[0].attributes
    assert attrs["brokle.cost.total_usd"] == pytest.approx(0.003)
    assert attrs["gen_ai.request.temperature"] == 0.0
    assert attrs["gen_ai.request.stop_sequences"] == ["END"]
    assert "brokle.cost.unpriced" not in attrs
