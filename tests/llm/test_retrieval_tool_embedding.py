"""Retrieval document shapes, tool spans and embedding spans."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from openai.types import CreateEmbeddingResponse

from brokle_trace import observe, observe_retrieval
from brokle_trace.llm._retrieval import MAX_CONTENT_CHARS, MAX_DOCUMENTS
from brokle_trace.testing import capture_spans


@dataclass
class LangChainDoc:
    page_content: str
    metadata: dict[str, Any] = field(default_factory=dict)
    id: str | None = None


@dataclass
class TextNode:
    text: str
    id_: str


@dataclass
class NodeWithScore:
    node: TextNode
    score: float


class ContentObject:
    def __init__(self, content: str) -> None:
        self.content = content


def _retrieve(result: Any) -> Any:
    @observe_retrieval(name="search", index_name="company_docs", top_k=5)
    def search(query: str) -> Any:
        return result

    with capture_spans() as spans:
        search("refund policy")
    (span,) = spans
    return span


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (["a", "b"], [{"content": "a"}, {"content": "b"}]),
        (
            [{"id": "d1", "text": "x", "score": 0.9, "metadata": {"src": "wiki"}}],
            [{"id": "d1", "score": 0.9, "content": "x", "metadata": {"src": "wiki"}}],
        ),
        (
            [LangChainDoc("lc", {"page": 3}, "doc-7")],
            [{"id": "doc-7", "content": "lc", "metadata": {"page": 3}}],
        ),
        ([ContentObject("c")], [{"content": "c"}]),
        ([(LangChainDoc("scored"), 0.42)], [{"score": 0.42, "content": "scored"}]),
        ([("plain", 0.5)], [{"score": 0.5, "content": "plain"}]),
        (
            [NodeWithScore(TextNode("node text", "n1"), 0.8)],
            [{"id": "n1", "score": 0.8, "content": "node text"}],
        ),
        (
            {"matches": [{"id": "p1", "score": 0.7, "metadata": {"text": "pine"}}]},
            [{"id": "p1", "score": 0.7, "metadata": {"text": "pine"}}],
        ),
        (
            {"ids": [["c1"]], "documents": [["chroma"]], "distances": [[0.1]], "metadatas": [[{}]]},
            [{"id": "c1", "score": 0.1, "content": "chroma"}],
        ),
    ],
    ids=[
        "strings",
        "dicts",
        "langchain",
        "content-attr",
        "doc-score-tuple",
        "str-score-tuple",
        "llamaindex",
        "pinecone-matches",
        "chroma",
    ],
)
def test_document_shapes(result: Any, expected: list[dict[str, Any]]) -> None:
    span = _retrieve(result)
    assert span.output == expected
    assert span.attributes["brokle.retrieval.document_count"] == len(expected)
    assert span.attributes["gen_ai.data_source.id"] == "company_docs"
    assert span.attributes["gen_ai.request.top_k"] == 5
    assert span.attributes["gen_ai.retrieval.query.text"] == "refund policy"


def test_documents_are_bounded() -> None:
    span = _retrieve([f"doc {i}" for i in range(MAX_DOCUMENTS + 10)])
    assert len(span.output) == MAX_DOCUMENTS
    assert span.attributes["brokle.retrieval.document_count"] == MAX_DOCUMENTS + 10
    span = _retrieve(["x" * (MAX_CONTENT_CHARS + 500)])
    assert span.output[0]["content"].startswith("x" * MAX_CONTENT_CHARS)
    assert span.output[0]["content"].endswith("[500 more chars]")


def test_unrecognised_results_keep_the_default_capture() -> None:
    span = _retrieve({"answer": 42})
    assert span.output == {"answer": 42}
    assert "brokle.retrieval.document_count" not in span.attributes


def test_tool_span_records_name_arguments_and_result() -> None:
    @observe(name="get_weather", type="tool")
    def get_weather(city: str, tool_call_id: str = "") -> dict[str, Any]:
        return {"city": city, "temp_c": 21}

    with capture_spans() as spans:
        get_weather("Lisbon", tool_call_id="call_1")
    (span,) = spans
    assert span.type == "tool"
    assert span.attributes["gen_ai.tool.name"] == "get_weather"
    assert span.attributes["gen_ai.tool.call.id"] == "call_1"
    assert span.input == {"city": "Lisbon", "tool_call_id": "call_1"}
    assert span.output == {"city": "Lisbon", "temp_c": 21}


def test_embedding_span_with_an_openai_response() -> None:
    response = CreateEmbeddingResponse.model_validate(
        {
            "object": "list",
            "model": "text-embedding-3-small",
            "data": [
                {"object": "embedding", "index": i, "embedding": [0.0] * 16} for i in range(3)
            ],
            "usage": {"prompt_tokens": 1_000_000, "total_tokens": 1_000_000},
        }
    )

    @observe(name="embed", type="embedding")
    def embed(input: list[str], model: str) -> CreateEmbeddingResponse:
        return response

    with capture_spans() as spans:
        embed(["a", "b", "c"], model="text-embedding-3-small")
    attrs = spans[0].attributes
    assert attrs["brokle.embedding.input_count"] == 3
    assert attrs["gen_ai.embeddings.dimension.count"] == 16
    assert attrs["gen_ai.request.model"] == "text-embedding-3-small"
    assert attrs["gen_ai.usage.input_tokens"] == 1_000_000
    assert attrs["brokle.cost.total_usd"] == pytest.approx(0.02)
    assert spans[0].output == {"embeddings": 3, "dimensions": 16}  # no vectors in the trace


def test_embedding_span_with_plain_vectors() -> None:
    @observe(name="local-embed", type="embedding")
    def local_embed(texts: list[str]) -> list[list[float]]:
        return [[0.5] * 4 for _ in texts]

    with capture_spans() as spans:
        local_embed(["x", "y"])
    assert spans[0].attributes["brokle.embedding.input_count"] == 2
    assert spans[0].attributes["gen_ai.embeddings.dimension.count"] == 4
    assert spans[0].output == {"embeddings": 2, "dimensions": 4}


def test_plain_spans_get_no_hooks() -> None:
    from brokle_trace.llm import hooks_for

    assert hooks_for("span", None) == {}
    assert hooks_for("agent", None) == {}
