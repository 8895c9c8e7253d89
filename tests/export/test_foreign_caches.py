"""The conversion's caches of third-party spans decide by names only and stay bounded: a
plan (which names carry which field) made for one span never carries its values to the
next span of the same names, scope and span name; many distinct names cycle the caches."""

from __future__ import annotations

from typing import Any

from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan
from opentelemetry.sdk.trace import TracerProvider

from brokle_trace import capture
from brokle_trace._export import foreign_conventions, foreign_otlp
from brokle_trace._export.convert import Resource
from brokle_trace._export.foreign import attributes_of, foreign_record, to_span_data
from brokle_trace._model import SpanData

_SETTINGS = capture.CaptureSettings()
_TRACER = TracerProvider().get_tracer("openinference.instrumentation.openai", "1")


def _converted(attributes: dict[str, Any], name: str = "chat") -> SpanData:
    span = _TRACER.start_span(name, attributes=attributes)
    span.end()
    return to_span_data(foreign_record(span, attributes_of(span), None, {}), _SETTINGS, Resource())


def test_same_names_scope_and_span_name_different_values_each_decided_on_its_own() -> None:
    shapes = [
        ("LLM", "gpt-4o-mini", 10, 2, "hi"),
        ("TOOL", "gpt-4o", 7, 9, ""),  # "" is skipped: the next name is read
        ("RETRIEVER", "", 0, 1, "q"),
        ("LLM", "claude-3-5-haiku", 3, 4, "x"),
    ]
    for kind, model, prompt, completion, text in shapes * 2:  # second round: plans reused
        data = _converted(
            {
                "openinference.span.kind": kind,
                "llm.model_name": model,
                "gen_ai.request.model": model,
                "llm.token_count.prompt": prompt,
                "llm.token_count.completion": completion,
                "input.value": text,
                "gen_ai.input.messages": "fallback",
            }
        )
        assert data.type == {"LLM": "llm", "TOOL": "tool", "RETRIEVER": "retrieval"}[kind]
        assert data.input == (text or "fallback")
        assert data.attributes.get("gen_ai.response.model") == (model or None)
        if data.type == "llm":
            assert data.attributes["gen_ai.usage.input_tokens"] == prompt
            assert data.attributes["gen_ai.usage.output_tokens"] == completion
        else:
            assert "gen_ai.usage.input_tokens" not in data.attributes


def test_many_distinct_names_keep_the_caches_bounded() -> None:
    # 1 124 shapes of 8 names: both the plans (1 024) and the keys (8 192) cycle
    for i in range(foreign_conventions._PLANS_MAX + 100):
        attributes = {f"custom.{i}.{j}": f"v{i}.{j}" for j in range(8)}
        attributes["openinference.span.kind"] = "LLM" if i % 2 else "CHAIN"
        data = _converted(attributes, name=f"op {i}")
        assert data.type == ("llm" if i % 2 else "chain")
        decoded = PbSpan.FromString(foreign_otlp.foreign_span_bytes(data))
        got = {kv.key: kv.value.string_value for kv in decoded.attributes}
        assert got[f"custom.{i}.7"] == f"v{i}.7"  # a cached entry is never another span's
        assert len(foreign_conventions._plans) <= foreign_conventions._PLANS_MAX
        assert len(foreign_otlp._keys) <= foreign_otlp._CACHE_MAX
        assert all(len(t) <= foreign_otlp._CACHE_MAX for t in foreign_otlp._pairs.values())
