"""Our own LLM and retrieval spans, rendered the way OpenInference backends (Phoenix) read them."""

from __future__ import annotations

from typing import Any

from brokle_trace import observe_llm, observe_retrieval
from brokle_trace.exporters._openinference import MAX_DOCUMENTS, MAX_MESSAGES
from brokle_trace.semconv import to_otel_attributes
from brokle_trace.testing import capture_spans

KEY = "sk-proj-Zq3vT8mN1pLx7Rk2Wc9Yb4Hd6Fs0Ga5Je"


@observe_llm(model="gpt-4o-mini", provider="openai")
def chat(messages: list[dict[str, Any]], model: str = "gpt-4o-mini") -> dict[str, Any]:
    return {
        "choices": [{"message": {"role": "assistant", "content": f"use key {KEY}"}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 4},
    }


@observe_llm(model="claude-3-5-haiku-20241022", provider="anthropic")
def claude(messages: list[dict[str, Any]]) -> dict[str, Any]:
    return {"role": "assistant", "content": [{"type": "text", "text": "Hi!"}]}


@observe_retrieval(index_name="docs", top_k=40)
def search(query: str) -> list[dict[str, Any]]:
    return [
        {"id": f"d{i}", "score": 1 - i / 100, "content": f"doc {i}", "metadata": {"src": "kb"}}
        for i in range(40)
    ]


def _otlp(fn: Any, *args: Any) -> dict[str, Any]:
    with capture_spans() as spans:
        fn(*args)
    attrs, _ = to_otel_attributes(spans[0])
    return attrs


def test_chat_messages_in_and_out() -> None:
    attrs = _otlp(
        chat,
        [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": [{"type": "text", "text": f"my key is {KEY}"}]},
        ],
    )
    assert attrs["llm.input_messages.0.message.role"] == "system"
    assert attrs["llm.input_messages.0.message.content"] == "be brief"
    assert attrs["llm.input_messages.1.message.contents.0.message_content.type"] == "text"
    user_text = attrs["llm.input_messages.1.message.content"]
    assert user_text.startswith("my key is [REDACTED")  # rendered from the redacted input
    assert attrs["llm.output_messages.0.message.role"] == "assistant"
    assert "[REDACTED" in attrs["llm.output_messages.0.message.content"]
    assert KEY not in str(attrs)
    assert attrs["gen_ai.request.model"] == "gpt-4o-mini"  # next to the GenAI names


def test_anthropic_shaped_output() -> None:
    attrs = _otlp(claude, [{"role": "user", "content": "hello"}])
    assert attrs["llm.output_messages.0.message.content"] == "Hi!"


def test_messages_are_bounded() -> None:
    many = [{"role": "user", "content": f"m{i}"} for i in range(MAX_MESSAGES + 10)]
    attrs = _otlp(chat, many)
    roles = [k for k in attrs if k.startswith("llm.input_messages.") and k.endswith(".role")]
    assert len(roles) == MAX_MESSAGES


def test_retrieval_documents_bounded() -> None:
    attrs = _otlp(search, "refunds")
    docs = [k for k in attrs if k.startswith("retrieval.documents.") and k.endswith(".content")]
    assert len(docs) == MAX_DOCUMENTS
    assert attrs["retrieval.documents.0.document.id"] == "d0"
    assert attrs["retrieval.documents.0.document.score"] == 1.0
    assert attrs["retrieval.documents.0.document.metadata"] == '{"src":"kb"}'
    assert attrs["openinference.span.kind"] == "RETRIEVER"
