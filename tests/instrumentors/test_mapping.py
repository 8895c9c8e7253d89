"""The conventions table on the attributes instrumentors really write, and redaction of every
text a third-party span carries (Hypothesis)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Link, Status, StatusCode

import brokle_trace
from brokle_trace._export import foreign, foreign_conventions
from brokle_trace.exporters._encode import encode_request
from brokle_trace.exporters._readable import ResourceCache
from brokle_trace.testing import InMemoryExporter
from tests.capture.strategies import NO7, secrets


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ({"openinference.span.kind": "LLM", "gen_ai.operation.name": "embeddings"}, "llm"),
        ({"openinference.span.kind": "RERANKER"}, "reranker"),
        ({"openinference.span.kind": "GUARDRAIL"}, "guardrail"),
        ({"openinference.span.kind": "EVALUATOR"}, "evaluator"),
        ({"openinference.span.kind": "UNKNOWN", "gen_ai.operation.name": "chat"}, "llm"),
        ({"gen_ai.operation.name": "generate_content"}, "llm"),
        ({"gen_ai.operation.name": "execute_tool"}, "tool"),
        ({"gen_ai.operation.name": "invoke_agent"}, "agent"),
        ({"traceloop.span.kind": "workflow"}, "chain"),
        ({"traceloop.span.kind": "tool"}, "tool"),
        ({"http.request.method": "POST"}, "span"),
    ],
)
def test_span_type(attributes: dict[str, Any], expected: str) -> None:
    assert foreign_conventions.foreign_type(attributes) == expected


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        # OpenInference (OpenAI): prompt counts cached tokens, as GenAI's input does.
        (
            {
                "llm.token_count.prompt": 120,
                "llm.token_count.completion": 8,
                "llm.token_count.total": 128,
                "llm.token_count.prompt_details.cache_read": 100,
                "llm.model_name": "gpt-4o-mini-2024-07-18",
            },
            ((120, 8, 128, 100, None, None), "gpt-4o-mini-2024-07-18"),
        ),
        # GenAI (current names, OpenLLMetry 0.62)
        (
            {
                "gen_ai.usage.input_tokens": 6,
                "gen_ai.usage.output_tokens": 3,
                "gen_ai.usage.cache_creation.input_tokens": 2,
                "gen_ai.usage.reasoning_tokens": 1,
                "gen_ai.request.model": "gpt-4o",
                "gen_ai.response.model": "gpt-4o-2024-08-06",
            },
            ((6, 3, None, None, 2, 1), "gpt-4o-2024-08-06"),
        ),
        # GenAI before the rename (OpenLLMetry < 0.40: prompt/completion tokens)
        (
            {
                "gen_ai.usage.prompt_tokens": 10,
                "gen_ai.usage.completion_tokens": 4,
                "gen_ai.usage.cache_read_input_tokens": 5,
                "gen_ai.request.model": "claude-3-5-sonnet-20241022",
            },
            ((10, 4, None, 5, None, None), "claude-3-5-sonnet-20241022"),
        ),
        (
            {"llm.usage.prompt_tokens": 3, "llm.usage.completion_tokens": "2"},
            ((3, 2) + (None,) * 4, None),
        ),
        ({"gen_ai.request.model": "gpt-4o"}, (None, "gpt-4o")),
    ],
)
def test_usage_and_model(attributes: dict[str, Any], expected: Any) -> None:
    usage, model = foreign_conventions.llm_facts(attributes)
    counts = None
    if usage is not None:
        counts = (
            usage.input_tokens,
            usage.output_tokens,
            usage.total_tokens,
            usage.cache_read_tokens,
            usage.cache_creation_tokens,
            usage.reasoning_tokens,
        )
    assert (counts, model) == expected


def test_flattened_messages_become_the_input() -> None:
    attrs = {
        "llm.input_messages.0.message.role": "system",
        "llm.input_messages.0.message.content": "be brief",
        "llm.input_messages.1.message.role": "user",
        "llm.input_messages.1.message.contents.0.message_content.text": "hi",
        "gen_ai.prompt.0.role": "ignored: OpenInference's come first",
    }
    assert foreign_conventions._io(attrs, "input") == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "contents": {"0": {"message_content": {"text": "hi"}}}},
    ]
    old = {"gen_ai.completion.0.role": "assistant", "gen_ai.completion.0.content": "4"}
    assert foreign_conventions._io(old, "output") == [{"role": "assistant", "content": "4"}]


# -- every text of a third-party span is redacted ------------------------------------------

_TEXT = st.text(NO7 + " .,:", max_size=20)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    where=st.sampled_from(
        ["name", "attribute", "nested", "event", "link", "exception", "status", "io"]
    ),
    secret=secrets(),
    before=_TEXT,
    after=_TEXT,
)
def test_planted_secret_never_exported(
    memory: InMemoryExporter, where: str, secret: tuple[str, str], before: str, after: str
) -> None:
    text = f"{before} {secret[0]} {after}"
    provider = TracerProvider()
    provider.add_span_processor(brokle_trace.span_processor())
    tracer = provider.get_tracer("prop")
    with tracer.start_as_current_span("warm") as warm:
        pass
    attributes: dict[str, Any] = {"openinference.span.kind": "LLM"}
    if where == "attribute":
        attributes["llm.input_messages.0.message.content"] = text
    elif where == "nested":
        attributes["tags"] = ("a", text)
    elif where == "io":
        attributes["input.value"] = json.dumps({"messages": [{"role": "user", "content": text}]})
    links = [Link(warm.get_span_context(), {"note": text})] if where == "link" else []
    span = tracer.start_span(
        text if where == "name" else "call", attributes=attributes, links=links
    )
    if where == "event":
        span.add_event("chunk", {"delta": text})
    if where == "exception":
        span.record_exception(ValueError(text))
        span.set_status(Status(StatusCode.ERROR))
    if where == "status":
        span.set_status(Status(StatusCode.ERROR, text))
    span.end()
    memory.clear()
    assert brokle_trace.flush(5)
    spans = [s for s in memory.spans if s.name != "warm"]
    assert len(spans) == 1
    exported = spans[0].model_dump_json()
    otlp = encode_request(spans, ResourceCache({})).SerializeToString()
    assert secret[1] not in exported, (where, exported)
    assert secret[1].encode() not in otlp


def test_long_attribute_values_are_cut_with_our_marker(memory: InMemoryExporter) -> None:
    brokle_trace.configure(exporter="none", exporters=[memory], strict=True, max_string_length=100)
    provider = TracerProvider()
    provider.add_span_processor(brokle_trace.span_processor())
    with provider.get_tracer("t").start_as_current_span("big", attributes={"doc": "x" * 5000}):
        pass
    assert brokle_trace.flush(5)
    (span,) = memory.spans
    assert span.attributes["doc"].endswith("...[TRUNCATED: 5000 chars]")
    assert len(span.attributes["doc"]) <= 100


def test_events_past_the_limit_are_counted(memory: InMemoryExporter) -> None:
    provider = TracerProvider()
    provider.add_span_processor(brokle_trace.span_processor())
    with provider.get_tracer("t").start_as_current_span("stream") as span:
        for i in range(foreign.MAX_EVENTS + 8):
            span.add_event("chunk", {"i": i})
    assert brokle_trace.flush(5)
    (out,) = memory.spans
    assert len(out.attributes["brokle.otel.events"]) == foreign.MAX_EVENTS
    assert out.attributes["brokle.otel.events_dropped"] == 8


@pytest.mark.parametrize(
    ("input_", "own", "expected"),
    [
        ('{"messages": []}', "application/json", "application/json"),  # theirs kept
        ("plain words", None, "text/plain"),  # none said: ours
        (None, "application/json", None),  # no value (not captured): no mime either
    ],
)
def test_third_party_mime_type_is_its_own(input_: Any, own: Any, expected: Any) -> None:
    from brokle_trace import SpanData, semconv

    attributes: dict[str, Any] = {"otel.scope.name": "openinference.instrumentation.openai"}
    if own is not None:
        attributes["input.mime_type"] = own
    span = SpanData(
        name="ChatCompletion",
        trace_id="1" * 32,
        span_id="2" * 16,
        start_time_ns=1,
        end_time_ns=2,
        type="llm",
        input=input_,
        attributes=attributes,
    )
    out, _ = semconv.to_otel_attributes(span)
    assert out.get("input.mime_type") == expected
