"""Spans recorded from real instrumentors the suite does not install, replayed through the
pipeline: each fixture's attributes are copied from the instrumentor's own output (the
package and version that produced it are named above each). The replay goes through a real
SDK ``TracerProvider`` with our ``span_processor()``, under an ``@observe`` span, so these
check our reading of what those instrumentors write, not the instrumentors themselves (the
live tests next to this file run the ones that install cheaply).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider

import brokle_trace
from brokle_trace import SpanData, observe, trace_context
from brokle_trace.testing import InMemoryExporter

PASSWORD = "hunter2-Tr0ub4dor"

# openinference-instrumentation-llama-index 4.6.1, llama-index-core 0.14.25,
# llama-index-embeddings-openai against the fake server: the query embedding of a
# VectorStoreIndex query (no token counts: LlamaIndex's embedding events carry none).
LLAMA_INDEX_EMBEDDING = {
    "embedding.model_name": "text-embedding-3-small",
    "input.mime_type": "application/json",
    "input.value": '{"query": "what colour is the sky?"}',
    "embedding.embeddings.0.embedding.text": "what colour is the sky?",
    "embedding.embeddings.0.embedding.vector": (0.1, 0.1, 0.1, 0.1),
    "openinference.span.kind": "EMBEDDING",
}
# openinference-instrumentation-openai 0.1.66, client.embeddings.create against the fake
# server (the live version is tests/instrumentors/test_openai.py's embedding test).
OPENAI_EMBEDDING = {
    "llm.system": "openai",
    "input.value": '{"input": ["hello world"], "model": "text-embedding-3-small"}',
    "input.mime_type": "application/json",
    "embedding.invocation_parameters": '{"model": "text-embedding-3-small"}',
    "embedding.embeddings.0.embedding.text": "hello world",
    "llm.token_count.total": 2,
    "llm.token_count.prompt": 2,
    "embedding.model_name": "text-embedding-3-small",
    "openinference.span.kind": "EMBEDDING",
}
# openinference-instrumentation-llama-index 4.6.1: VectorIndexRetriever.retrieve.
LLAMA_INDEX_RETRIEVER = {
    "input.value": "what colour is the sky?",
    "retrieval.documents.0.document.id": "245b3cb7-949c-4337-9ad3-001b5d5519ae",
    "retrieval.documents.0.document.content": f"The sky is blue. password={PASSWORD}",
    "retrieval.documents.0.document.score": 0.87,
    "retrieval.documents.1.document.id": "9552808d-50ce-41dc-ac03-6dae9be05d86",
    "retrieval.documents.1.document.content": "Grass is green.",
    "retrieval.documents.1.document.score": 0.52,
    "output.value": '["<NodeWithScore(node=TextNode(id_=245b3cb7), score=0.87)>"]',
    "output.mime_type": "application/json",
    "openinference.span.kind": "RETRIEVER",
}
# openinference-instrumentation-llama-index 4.6.1 with llama-index-llms-openai: OpenAI.chat.
LLAMA_INDEX_LLM = {
    "llm.model_name": "gpt-4o-mini",
    "llm.provider": "openai",
    "llm.system": "openai",
    "llm.input_messages.0.message.role": "user",
    "llm.input_messages.0.message.content": f"what colour is the sky? password={PASSWORD}",
    "llm.output_messages.0.message.role": "assistant",
    "llm.output_messages.0.message.content": "Blue.",
    "llm.token_count.prompt": 92,
    "llm.token_count.prompt_details.cache_read": 0,
    "llm.token_count.completion": 33,
    "llm.token_count.total": 125,
    "openinference.span.kind": "LLM",
}
# opentelemetry-instrumentation-langchain 0.62.4 (OpenLLMetry), langchain-core 1.8.3: a
# @tool called directly, and the workflow span of a prompt | model chain.
OPENLLMETRY_TOOL = {
    "gen_ai.provider.name": "langchain",
    "traceloop.workflow.name": "",
    "traceloop.entity.path": "",
    "traceloop.span.kind": "tool",
    "traceloop.entity.name": "lookup",
    "gen_ai.operation.name": "execute_tool",
    "gen_ai.tool.name": "lookup",
    "gen_ai.tool.type": "function",
    "gen_ai.tool.description": "Weather for a city.",
    "traceloop.entity.input": json.dumps(
        {
            "input_str": "{'city': 'Paris'}",
            "tags": [],
            "metadata": {},
            "inputs": {"city": "Paris"},
            "kwargs": {"color": "green", "name": None, "tool_call_id": None},
        }
    ),
    "gen_ai.tool.call.arguments": json.dumps(
        {
            "input_str": "{'city': 'Paris'}",
            "tags": [],
            "metadata": {},
            "inputs": {"city": "Paris"},
            "kwargs": {"color": "green", "name": None, "tool_call_id": None},
        }
    ),
    "gen_ai.task.status": "success",
    "traceloop.entity.output": json.dumps(
        {"output": f"sunny, password={PASSWORD}", "kwargs": {"tags": [], "name": "lookup"}}
    ),
    "gen_ai.tool.call.result": json.dumps(
        {"output": f"sunny, password={PASSWORD}", "kwargs": {"tags": [], "name": "lookup"}}
    ),
}
OPENLLMETRY_TASK = {
    "gen_ai.provider.name": "langchain",
    "traceloop.workflow.name": "RunnableSequence",
    "traceloop.entity.path": "",
    "traceloop.entity.name": "ChatPromptTemplate",
    "gen_ai.operation.name": "execute_task",
    "gen_ai.task.name": "ChatPromptTemplate",
    "traceloop.entity.input": '{"inputs": {"question": "2+2?"}, "tags": ["seq:step:1"]}',
    "gen_ai.task.input": '{"inputs": {"question": "2+2?"}, "tags": ["seq:step:1"]}',
    "gen_ai.task.status": "success",
    "traceloop.entity.output": '{"outputs": {"messages": ["answer briefly", "2+2?"]}}',
}


@pytest.fixture
def provider() -> Iterator[TracerProvider]:
    theirs = TracerProvider()
    theirs.add_span_processor(brokle_trace.span_processor())
    yield theirs
    theirs.shutdown()


def replay(
    provider: TracerProvider,
    memory: InMemoryExporter,
    scope: tuple[str, str],
    name: str,
    attributes: dict[str, Any],
) -> tuple[SpanData, SpanData]:
    """``attributes`` as one span of the instrumentor ``scope`` under an ``@observe`` span,
    in a trace with a user; returns (their span, ours) as exported."""
    tracer = provider.get_tracer(*scope)

    @observe
    def app() -> None:
        tracer.start_span(name, attributes=attributes).end()

    with trace_context(user_id="user-7", session_id="sess-42"):
        app()
    assert brokle_trace.flush(5)
    spans = {s.name: s for s in memory.spans}
    theirs, ours = spans[name], spans["app"]
    assert theirs.parent_span_id == ours.span_id
    assert (theirs.user_id, theirs.session_id) == ("user-7", "sess-42")
    assert PASSWORD not in memory.spans[0].model_dump_json() + theirs.model_dump_json()
    return theirs, ours


LLAMA = ("openinference.instrumentation.llama_index", "4.6.1")


def test_openinference_embedding_model_is_read_and_priced(
    provider: TracerProvider, memory: InMemoryExporter
) -> None:
    span, ours = replay(
        provider,
        memory,
        ("openinference.instrumentation.openai", "0.1.66"),
        "CreateEmbeddings",
        OPENAI_EMBEDDING,
    )
    assert span.type == "embedding"
    # OpenInference names an embedding's model ``embedding.model_name``, not ``llm.model_name``.
    assert span.attributes["gen_ai.response.model"] == "text-embedding-3-small"
    assert "brokle.cost.unpriced" not in span.attributes
    assert span.attributes["brokle.cost.total_usd"] > 0
    assert ours.attributes["brokle.rollup.cost_usd"] == span.attributes["brokle.cost.total_usd"]


def test_llama_index_embedding_names_its_model(
    provider: TracerProvider, memory: InMemoryExporter
) -> None:
    span, _ = replay(
        provider, memory, LLAMA, "OpenAIEmbedding.get_query_embedding", LLAMA_INDEX_EMBEDDING
    )
    assert span.type == "embedding"
    assert span.attributes["gen_ai.response.model"] == "text-embedding-3-small"
    assert span.input == '{"query": "what colour is the sky?"}'


def test_llama_index_retriever_and_llm(provider: TracerProvider, memory: InMemoryExporter) -> None:
    retriever, _ = replay(
        provider, memory, LLAMA, "VectorIndexRetriever.retrieve", LLAMA_INDEX_RETRIEVER
    )
    assert retriever.type == "retrieval"
    assert retriever.input == "what colour is the sky?"
    content = retriever.attributes["retrieval.documents.0.document.content"]
    assert content == "The sky is blue. password=[REDACTED:secret_param]"
    memory.clear()
    llm, ours = replay(provider, memory, LLAMA, "OpenAI.chat", LLAMA_INDEX_LLM)
    assert (llm.type, llm.attributes["gen_ai.provider.name"]) == ("llm", "openai")
    assert llm.attributes["gen_ai.usage.input_tokens"] == 92
    assert llm.attributes["brokle.cost.total_usd"] > 0
    assert llm.input == [
        {"role": "user", "content": "what colour is the sky? password=[REDACTED:secret_param]"}
    ]
    assert ours.attributes["brokle.rollup.llm_calls"] == 1


OPENLLMETRY_LC = ("opentelemetry.instrumentation.langchain", "0.62.4")


def test_openllmetry_tool_span_has_its_input_and_output(
    provider: TracerProvider, memory: InMemoryExporter
) -> None:
    span, _ = replay(provider, memory, OPENLLMETRY_LC, "execute_tool lookup", OPENLLMETRY_TOOL)
    assert span.type == "tool"
    # GenAI's tool-call names (OpenLLMetry's traceloop.entity.* carry the same text).
    assert json.loads(str(span.input))["inputs"] == {"city": "Paris"}
    assert json.loads(str(span.output))["output"] == "sunny, password=[REDACTED:secret_param]"


def test_openllmetry_task_span_is_a_chain_with_its_input_and_output(
    provider: TracerProvider, memory: InMemoryExporter
) -> None:
    # Without ``traceloop.span.kind`` (OpenLLMetry's other task spans, newer versions):
    # ``gen_ai.operation.name = execute_task`` alone makes it a chain.
    span, _ = replay(
        provider, memory, OPENLLMETRY_LC, "execute_task ChatPromptTemplate", OPENLLMETRY_TASK
    )
    assert span.type == "chain"
    assert json.loads(str(span.input))["inputs"] == {"question": "2+2?"}
    assert json.loads(str(span.output))["outputs"]["messages"] == ["answer briefly", "2+2?"]
